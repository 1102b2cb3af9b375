"""Detection analysis: quantum limits bound every measurement; the verdict follows the data."""

import numpy as np
import pytest

from qlearn_sense.config import config_from_dict
from qlearn_sense.experiments import make_design, optimize_design
from qlearn_sense.experiments._detection_run import analyse_detection, fidelity, helstrom_lower_bound


def _config(alt=2e-7, protocols=("ramsey", "optimized")):
    return config_from_dict({
        "name": "det", "seed": 9,
        "sensor": {"kind": "qubit", "gyromagnetic_ratio_Hz_per_T": 28e9, "t2_star_s": 5e-6,
                   "interrogation_time_s": 1e-6, "readout_fidelity": 0.97},
        "signal": {"kind": "constant", "field_T": alt},
        "protocol": {"n_qubits": 2, "preparation": {"ansatz": "hea", "layers": 1}},
        "optimizer": {"objective": "cfi", "steps": 60, "restarts": 2},
        "detection": {"alt_field_T": alt, "alpha": 0.05, "beta": 0.05, "protocols": list(protocols)},
    })


@pytest.fixture(scope="module")
def analysed():
    design = make_design(_config())
    params = optimize_design(design).params
    from qlearn_sense.backends import exact_probs
    p1 = exact_probs(design.protocol, params[None], design.phase_rad)[0]
    p0 = exact_probs(design.protocol, params[None], 0.0)[0]
    rng = np.random.default_rng(1)
    det = analyse_detection(design, params, None, seed=4)
    return design, params, det, p0, p1, rng


def test_quantum_limits_bound_the_measurement(analysed):
    _, _, det, *_ = analysed
    for name, entry in det["protocols"].items():
        q, m = entry["quantum"], entry["measurement"]
        assert q["chernoff_exponent"] >= m["chernoff_information"] * (1 - 1e-9)
        needed = m["shots_to_decide"] or m["shots_to_decide_gaussian"]
        assert q["shots_to_decide_upper_bound"] >= 0 and needed > 0
        curves = det["curves"]["error_vs_shots"][name]
        lower = np.array(curves["quantum_lower_bound"])
        meas = np.array(curves["measurement"])
        assert np.all(lower <= meas * (1 + 1e-9))  # no measurement beats the quantum limit


def test_fidelity_bound_closed_form():
    psi, phi = np.array([1, 0]), np.array([np.cos(0.3), np.sin(0.3)])
    r0, r1 = np.outer(psi, psi), np.outer(phi, phi)
    f = fidelity(r0, r1)
    assert f == pytest.approx(np.cos(0.3) ** 2)
    # pure states, one copy: the bound is the Helstrom error itself
    assert helstrom_lower_bound(f, np.array([1]), 0.5)[0] == pytest.approx((1 - np.sqrt(1 - f)) / 2)


def test_verdict_follows_the_data(analysed):
    design, params, _, p0, p1, rng = analysed
    from qlearn_sense.experiments._detection_run import _verdict

    phi1 = design.phase_rad
    m = 300_000
    yes = _verdict(design, params, rng.multinomial(m, p1), 0.0, phi1, 0.05)
    no = _verdict(design, params, rng.multinomial(m, p0), 0.0, phi1, 0.05)
    assert yes["power_at_these_shots"] > 0.99
    assert yes["decision"].startswith("biomarker present")
    assert no["decision"].startswith("no biomarker")


def test_requires_detection_section():
    cfg = _config()
    design = make_design(cfg.model_copy(update={"detection": None}))
    with pytest.raises(ValueError, match="detection"):
        analyse_detection(design, np.zeros(design.protocol.n_params), None, seed=0)


def test_reference_protocols_use_the_config_optimizer(monkeypatch):
    """Issue 10: the Ramsey/GHZ references are optimized with the config's optimizer settings, not hard-coded ones."""
    import qlearn_sense.experiments._detection_run as det_run

    seen = []
    real = det_run.optimize_protocol

    def spy(*args, **kwargs):
        seen.append((kwargs["steps"], kwargs["restarts"], kwargs["init_scale"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(det_run, "optimize_protocol", spy)
    cfg = _config(protocols=("ramsey",)).model_copy(
        update={"optimizer": _config().optimizer.model_copy(update={"steps": 12, "restarts": 3, "init_scale": 0.5})})
    design = make_design(cfg)
    det_run._params_for("ramsey", det_run.prepare_design(design), np.zeros(design.protocol.n_params), 1)
    assert seen == [(12, 3, 0.5)]
