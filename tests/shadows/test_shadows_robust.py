"""Noise-robust shadows under symmetric readout bit flips."""

import numpy as np
import pytest
from shadows_sampling import expval, sample_local_pauli

from qlearn_sense.shadows import (
    PauliObservables,
    calibrate_robust,
    estimate_paulis,
    estimate_paulis_robust,
    random_pauli_recipes,
)

P_FLIP = 0.1


def _noisy_bits(state, recipes, rng, p=P_FLIP):
    bits = sample_local_pauli(state, recipes, rng)
    return bits ^ (rng.random(bits.shape) < p).astype(np.uint8)


def _product_state():
    """|0> (x) |+> (x) |+i>: <Z0> = <X1> = <Y2> = 1 and all their products."""
    zero = np.array([1, 0], complex)
    plus = np.array([1, 1], complex) / np.sqrt(2)
    plus_i = np.array([1, 1j], complex) / np.sqrt(2)
    return np.kron(np.kron(zero, plus), plus_i)


@pytest.fixture(scope="module")
def calibration():
    rng = np.random.default_rng(2024)
    rec = random_pauli_recipes(3, 40000, rng)
    zero = np.zeros(8, complex)
    zero[0] = 1
    return calibrate_robust(rec, _noisy_bits(zero, rec, rng), max_weight=2)


def test_calibration_factors_match_bit_flip_model(calibration):
    k = calibration.subsets.sum(1)
    ideal = ((1 - 2 * P_FLIP) / 3.0) ** k
    assert np.all(np.abs(calibration.factors - ideal) <= 4 * calibration.standard_errors + 1e-12)
    assert calibration.factors[0] == 1.0 and calibration.subsets.shape == (7, 3)
    np.testing.assert_allclose(calibration.weight_factors, ((1 - 2 * P_FLIP) / 3.0) ** np.arange(3), rtol=0.05)


def test_noise_free_calibration_is_ideal():
    rng = np.random.default_rng(9)
    rec = random_pauli_recipes(2, 20000, rng)
    bits = np.zeros_like(rec, dtype=np.uint8)  # |00>, noiseless: bits are 0 on Z, random otherwise
    bits[rec != 2] = rng.integers(0, 2, np.count_nonzero(rec != 2))
    cal = calibrate_robust(rec, bits)
    assert cal.max_weight == 2
    k = cal.subsets.sum(1)
    assert np.all(np.abs(cal.factors - 3.0**-k) <= 4 * cal.standard_errors + 1e-12)


def test_robust_recovers_ideal_where_plain_is_biased(calibration):
    rng = np.random.default_rng(77)
    psi = _product_state()
    labels = ["ZII", "IXI", "IIY", "ZXI", "IXY"]
    obs = PauliObservables.from_strings(labels)
    exact = np.array([expval(psi, lab) for lab in labels])  # all 1
    rec = random_pauli_recipes(3, 40000, rng)
    bits = _noisy_bits(psi, rec, rng)
    k = obs.weights
    plain = estimate_paulis(rec, bits, obs)
    biased = (1 - 2 * P_FLIP) ** k * exact
    assert np.all(np.abs(plain.estimates - biased) <= 4 * plain.standard_errors)
    assert np.all(np.abs(plain.estimates - exact) > 6 * plain.standard_errors)  # bias is visible
    for mode in ("subset", "weight"):
        robust = estimate_paulis_robust(rec, bits, obs, calibration, mode=mode, groups=4)
        assert np.all(np.abs(robust.estimates - exact) <= 4 * robust.standard_errors)
        assert robust.estimator == "robust" and robust.median_of_means.shape == (5,)


def test_refuses_heavy_observables(calibration):
    rec = random_pauli_recipes(3, 100, 0)
    bits = np.zeros((100, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="weight <= 2"):
        estimate_paulis_robust(rec, bits, ["XYZ"], calibration)
    with pytest.raises(ValueError, match="weight <= 2"):
        calibration.lookup(np.array([[1, 1, 1]]))


def test_refuses_factor_indistinguishable_from_zero():
    rng = np.random.default_rng(5)
    rec = random_pauli_recipes(2, 5000, rng)
    zero = np.array([1, 0, 0, 0], complex)
    cal = calibrate_robust(rec, _noisy_bits(zero, rec, rng, p=0.5))  # readout fully randomized
    with pytest.raises(ValueError, match="not significantly positive"):
        estimate_paulis_robust(rec, np.zeros((5000, 2), np.uint8), ["ZZ"], cal)


def test_robust_input_errors(calibration):
    rec = random_pauli_recipes(3, 50, 1)
    bits = np.zeros((50, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="max_weight"):
        calibrate_robust(rec, bits, max_weight=4)
    with pytest.raises(ValueError, match="mode"):
        estimate_paulis_robust(rec, bits, ["ZII"], calibration, mode="global")
    rec4 = random_pauli_recipes(4, 50, 1)
    with pytest.raises(ValueError, match="calibration is for 3 qubits"):
        estimate_paulis_robust(rec4, np.zeros((50, 4), np.uint8), ["ZIII"], calibration)
    big = np.zeros((2, 200), dtype=np.int8)
    with pytest.raises(ValueError, match="subsets"):
        calibrate_robust(big, big, max_weight=4)
