"""Every documented ``Raises`` of qlearn_sense.hyptest: invalid inputs raise ValueError
naming the argument, the offending value and what is accepted."""

import numpy as np
import pytest

from qlearn_sense import hyptest as ht

R0 = np.diag([0.7, 0.3])
R1 = np.eye(2) / 2
NON_HERMITIAN = np.array([[0.5, 0.3], [0.0, 0.5]])
TRACE_TWO = np.eye(2)
NOT_PSD = np.diag([1.5, -0.5])
NOT_SQUARE = np.ones((2, 3)) / 4
R3 = np.eye(3) / 3
P0, P1 = [0.5, 0.5], [0.4, 0.6]
NEG = [1.2, -0.2]
SUM_WRONG = [0.5, 0.6]

DENSITY_FUNCS = {
    "helstrom_error": ht.helstrom_error,
    "chernoff_exponent": ht.chernoff_exponent,
    "chernoff_bound_error": lambda a, b: ht.chernoff_bound_error(a, b, 2),
    "relative_entropy": ht.relative_entropy,
    "stein_exponent": ht.stein_exponent,
    "quantum_shots_to_decide": lambda a, b: ht.quantum_shots_to_decide(a, b, 0.01, 0.01),
    "min_error_discrimination": lambda a, b: ht.min_error_discrimination([a, b]),
    "pretty_good_measurement": lambda a, b: ht.pretty_good_measurement([a, b]),
}


@pytest.mark.parametrize("func", DENSITY_FUNCS.values(), ids=DENSITY_FUNCS.keys())
@pytest.mark.parametrize("bad,match", [
    (NON_HERMITIAN, r"not Hermitian.*accepted"),
    (TRACE_TWO, r"trace 2.*accepted: trace 1"),
    (NOT_PSD, r"not positive semidefinite.*-0.5.*accepted"),
    (NOT_SQUARE, r"shape \(2, 3\).*accepted"),
    (np.array([[np.nan, 0], [0, 1]]), r"non-finite"),
])
def test_invalid_density_matrix(func, bad, match):
    with pytest.raises(ValueError, match=match):
        func(bad, R1)
    with pytest.raises(ValueError, match=match):
        func(R0, bad)


@pytest.mark.parametrize("func", DENSITY_FUNCS.values(), ids=DENSITY_FUNCS.keys())
def test_mismatched_density_shapes(func):
    with pytest.raises(ValueError, match=r"shape \(2, 2\).*shape \(3, 3\).*accepted"):
        func(R0, R3)


def test_argument_names_in_messages():
    with pytest.raises(ValueError, match="rho1"):
        ht.helstrom_error(R0, NOT_PSD)
    with pytest.raises(ValueError, match=r"states\[1\]"):
        ht.pretty_good_measurement([R0, NOT_PSD])
    with pytest.raises(ValueError, match="p1=.*sums to 1.1"):
        ht.neyman_pearson_test(P0, SUM_WRONG, 0.05, 10)


def test_quantum_specific_raises():
    with pytest.raises(ValueError, match="p0=1.5"):
        ht.helstrom_error(R0, R1, p0=1.5)
    with pytest.raises(ValueError, match="p0=-0.1"):
        ht.chernoff_bound_error(R0, R1, 3, p0=-0.1)
    for func in (lambda m: ht.helstrom_error(R0, R1, copies=m),
                 lambda m: ht.chernoff_bound_error(R0, R1, m)):
        for m in (0, 2.5, True, "3"):
            with pytest.raises(ValueError, match="copies=.*integer >= 1"):
                func(m)
    with pytest.raises(ValueError, match="identical"):
        ht.quantum_shots_to_decide(R0, R0, 0.01, 0.01)
    with pytest.raises(ValueError, match="alpha=0"):
        ht.quantum_shots_to_decide(R0, R1, 0, 0.01)
    with pytest.raises(ValueError, match="beta=1"):
        ht.quantum_shots_to_decide(R0, R1, 0.01, 1)
    for func in (ht.min_error_discrimination, ht.pretty_good_measurement):
        with pytest.raises(ValueError, match="k >= 2"):
            func([R0])
        with pytest.raises(ValueError, match=r"priors has shape \(3,\).*accepted: shape \(2,\)"):
            func([R0, R1], priors=[0.2, 0.3, 0.5])
        with pytest.raises(ValueError, match="priors=.*negative"):
            func([R0, R1], priors=[1.5, -0.5])


PROB_FUNCS = {
    "classical_chernoff_information": ht.classical_chernoff_information,
    "neyman_pearson_test": lambda a, b: ht.neyman_pearson_test(a, b, 0.05, 10),
    "roc_curve": lambda a, b: ht.roc_curve(a, b, 10),
    "min_error_fixed_shots": lambda a, b: ht.min_error_fixed_shots(a, b, 10),
    "shots_to_decide": lambda a, b: ht.shots_to_decide(a, b, 0.05, 0.05),
    "sprt_expected_shots": lambda a, b: ht.sprt_expected_shots(a, b, 0.05, 0.05),
    "sprt_on_outcomes": lambda a, b: ht.sprt_on_outcomes([0, 1], a, b, 0.05, 0.05),
    "sprt_simulate": lambda a, b: ht.sprt_simulate(a, b, 0.05, 0.05, true_hypothesis=0, seed=0),
}


@pytest.mark.parametrize("func", PROB_FUNCS.values(), ids=PROB_FUNCS.keys())
@pytest.mark.parametrize("bad,match", [
    (NEG, r"negative entry -0.2.*accepted: entries >= 0"),
    (SUM_WRONG, r"sums to 1.1.*accepted: sum 1"),
    ([[0.5, 0.5]], r"shape \(1, 2\).*accepted"),
    ([0.5, np.nan], r"non-finite"),
    (["a", "b"], r"dtype.*accepted"),
])
def test_invalid_probability_vector(func, bad, match):
    with pytest.raises(ValueError, match="p0" + ".*" + match):
        func(bad, P1)
    with pytest.raises(ValueError, match="p1" + ".*" + match):
        func(P0, bad)


@pytest.mark.parametrize("func", PROB_FUNCS.values(), ids=PROB_FUNCS.keys())
def test_mismatched_probability_shapes(func):
    with pytest.raises(ValueError, match=r"p0 has shape \(2,\) but p1 has shape \(3,\)"):
        func(P0, [0.2, 0.3, 0.5])


ALPHA_FUNCS = {
    "neyman_pearson_test": lambda a, b: ht.neyman_pearson_test(P0, P1, a, 10),
    "shots_to_decide": lambda a, b: ht.shots_to_decide(P0, P1, a, b),
    "quantum_shots_to_decide": lambda a, b: ht.quantum_shots_to_decide(R0, R1, a, b),
    "sprt_thresholds": ht.sprt_thresholds,
    "sprt_expected_shots": lambda a, b: ht.sprt_expected_shots(P0, P1, a, b),
    "sprt_on_outcomes": lambda a, b: ht.sprt_on_outcomes([0], P0, P1, a, b),
    "sprt_simulate": lambda a, b: ht.sprt_simulate(P0, P1, a, b, true_hypothesis=0, seed=0),
}


@pytest.mark.parametrize("func", ALPHA_FUNCS.values(), ids=ALPHA_FUNCS.keys())
@pytest.mark.parametrize("bad", [0, 1, 1.5, -0.1, "x", None])
def test_invalid_error_rates(func, bad):
    with pytest.raises(ValueError, match=r"alpha=.*open interval \(0, 1\)"):
        func(bad, 0.05)
    if func is not ALPHA_FUNCS["neyman_pearson_test"]:
        with pytest.raises(ValueError, match=r"beta=.*open interval \(0, 1\)"):
            func(0.05, bad)


def test_sprt_alpha_plus_beta():
    for func in (ht.sprt_thresholds, ALPHA_FUNCS["sprt_simulate"], ALPHA_FUNCS["sprt_on_outcomes"],
                 ALPHA_FUNCS["sprt_expected_shots"]):
        with pytest.raises(ValueError, match="alpha \\+ beta = 1.*accepted: alpha \\+ beta < 1"):
            func(0.6, 0.4)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "ten", np.inf])
def test_invalid_shots(bad):
    calls = {
        "shots": [lambda m: ht.neyman_pearson_test(P0, P1, 0.05, m),
                  lambda m: ht.roc_curve(P0, P1, m),
                  lambda m: ht.min_error_fixed_shots(P0, P1, m),
                  lambda m: ht.shots_to_seconds(m, 1e3)],
        "max_shots": [lambda m: ht.shots_to_decide(P0, P1, 0.05, 0.05, max_shots=m),
                      lambda m: ht.sprt_simulate(P0, P1, 0.05, 0.05, true_hypothesis=0, seed=0,
                                                 max_shots=m)],
        "n_runs": [lambda m: ht.sprt_simulate(P0, P1, 0.05, 0.05, true_hypothesis=0, seed=0,
                                              n_runs=m)],
        "dof": [lambda m: ht.glrt_composite([3, 4], lambda t: [0.5, 0.5], [0.0], 0.0, dof=m)],
    }
    for name, funcs in calls.items():
        for func in funcs:
            with pytest.raises(ValueError, match=f"{name}=.*accepted: an integer >= 1"):
                func(bad)


def test_classical_specific_raises():
    with pytest.raises(ValueError, match="p0_prior=1.2.*accepted"):
        ht.min_error_fixed_shots(P0, P1, 5, p0_prior=1.2)
    for func in (lambda m: ht.neyman_pearson_test(P0, P1, 0.05, 5, method=m),
                 lambda m: ht.roc_curve(P0, P1, 5, method=m),
                 lambda m: ht.min_error_fixed_shots(P0, P1, 5, method=m),
                 lambda m: ht.shots_to_decide(P0, P1, 0.05, 0.05, method=m)):
        with pytest.raises(ValueError, match="method='fast'.*accepted"):
            func("fast")
    q0, q1 = [0.4, 0.3, 0.2, 0.1], [0.3, 0.3, 0.22, 0.18]
    for func in (lambda: ht.neyman_pearson_test(q0, q1, 0.05, 1000, method="exact"),
                 lambda: ht.roc_curve(q0, q1, 1000, method="exact"),
                 lambda: ht.min_error_fixed_shots(q0, q1, 1000, method="exact")):
        with pytest.raises(ValueError, match="method='exact' is infeasible"):
            func()
    with pytest.raises(ValueError, match="identical"):
        ht.shots_to_decide(P0, P0, 0.05, 0.05)
    with pytest.raises(ValueError, match="not reached within max_shots=100"):
        ht.shots_to_decide(P0, P1, 0.01, 0.01, max_shots=100)
    with pytest.raises(ValueError, match="shot_rate_hz=0.*> 0"):
        ht.shots_to_seconds(10, 0.0)
    with pytest.raises(ValueError, match="shot_rate_hz=nan"):
        ht.shots_to_seconds(10, float("nan"))


def test_auc_raises():
    with pytest.raises(ValueError, match=r"false_alarm has shape \(1,\)"):
        ht.auc([0.0], [0.0])
    with pytest.raises(ValueError, match="false_alarm has shape .* but detection"):
        ht.auc([0.0, 1.0], [0.0, 0.5, 1.0])
    with pytest.raises(ValueError, match=r"detection has values outside \[0, 1\]"):
        ht.auc([0.0, 1.0], [0.0, 1.5])
    with pytest.raises(ValueError, match="not non-decreasing"):
        ht.auc([0.0, 0.6, 0.4, 1.0], [0.0, 0.5, 0.7, 1.0])


def test_sequential_specific_raises():
    with pytest.raises(ValueError, match="identical"):
        ht.sprt_expected_shots(P0, P0, 0.05, 0.05)
    with pytest.raises(ValueError, match="different supports"):
        ht.sprt_expected_shots([0.5, 0.5, 0.0], [0.2, 0.4, 0.4], 0.05, 0.05)
    for bad in ([0, 2], [0.0, 1.0], [[0, 1]], [-1]):
        with pytest.raises(ValueError,
                           match=r"outcomes has .*accepted: 1-d integer indices in \[0, 2\)"):
            ht.sprt_on_outcomes(bad, P0, P1, 0.05, 0.05)
    with pytest.raises(ValueError, match=r"outcomes\[1\] = 2 has zero probability under both"):
        ht.sprt_on_outcomes([0, 2], [0.5, 0.5, 0.0], [0.4, 0.6, 0.0], 0.05, 0.05)
    for bad in (2, -1, True, 0.5):
        with pytest.raises(ValueError, match="true_hypothesis=.*accepted: 0 or 1"):
            ht.sprt_simulate(P0, P1, 0.05, 0.05, true_hypothesis=bad, seed=0)
    for bad in (None, -1, 1.5, True, "0"):
        with pytest.raises(ValueError, match="seed=.*accepted: an integer >= 0 or a numpy"):
            ht.sprt_simulate(P0, P1, 0.05, 0.05, true_hypothesis=0, seed=bad)


def test_glrt_raises():
    model = lambda t: np.array([1 - t, t])  # noqa: E731
    for bad in ([3, -1], [2.5, 1], [0, 0], [[1, 2]], [1, np.nan]):
        with pytest.raises(ValueError, match="counts=.*accepted: 1-d non-negative integer"):
            ht.glrt_composite(bad, model, [0.5], 0.4)
    with pytest.raises(ValueError, match="theta_grid is empty"):
        ht.glrt_composite([3, 4], model, [], 0.4)
    with pytest.raises(ValueError, match=r"model_fn\(0.5\)=.*sums to 0.9"):
        ht.glrt_composite([3, 4], lambda t: np.array([0.4, t]), [0.5], 0.6)
    with pytest.raises(ValueError, match=r"model_fn\(0.5\) has shape \(3,\); accepted: \(2,\)"):
        ht.glrt_composite([3, 4], lambda t: np.array([0.2, 0.3, t]), [0.5], 0.5)
    with pytest.raises(ValueError, match="dof=2 with boundary=True; accepted: dof = 1"):
        ht.glrt_composite([3, 4], model, [0.5], 0.4, dof=2, boundary=True)
