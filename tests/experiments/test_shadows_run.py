"""Shadows of the sensor output state through a backend: unbiased, robust to readout, on local and aer."""

import numpy as np
import pytest

from qlearn_sense.backends import get_backend
from qlearn_sense.config import config_from_dict
from qlearn_sense.experiments import make_design
from qlearn_sense.experiments._shadows_run import (
    collect_pauli_shadows,
    exact_expectations,
    expected_with_readout,
    run_shadows,
    shadow_protocol,
    to_big_endian,
)
from qlearn_sense.protocol import compile_jax
from qlearn_sense.shadows import biomarker_observables, estimate_paulis, random_pauli_recipes


def _config(**shadows):
    return config_from_dict({
        "name": "sh", "seed": 3,
        "sensor": {"kind": "qubit", "gyromagnetic_ratio_Hz_per_T": 28e9, "t2_star_s": 5e-6,
                   "interrogation_time_s": 1e-6, "readout_fidelity": shadows.pop("fidelity", 1.0)},
        "signal": {"kind": "constant", "field_T": 2e-6},
        "protocol": {"n_qubits": 3, "preparation": {"ansatz": "hea", "layers": 1}},
        "optimizer": {"objective": "qfi", "steps": 5, "restarts": 1},
        "shadows": {"snapshots": 3000, "groups": 10, **shadows},
    })


def test_basis_layer_reads_paulis_exactly(rng):
    """Exact check of the compiled basis-change layer: the readout-free expectation equals Tr(rho P)."""
    design = make_design(_config())
    params = rng.uniform(-np.pi, np.pi, design.protocol.n_prep_params)
    obs = biomarker_observables(3)
    sp = shadow_protocol(design)
    rho = np.asarray(compile_jax(sp).density_matrix(np.concatenate([params, np.zeros(sp.n_params - len(params))]),
                                                    design.phase_rad))
    np.testing.assert_allclose(expected_with_readout(design, params, obs), exact_expectations(rho, obs), atol=1e-12)


def test_big_endian_reorder():
    psi = np.zeros(8)
    psi[1] = 1.0  # little-endian: qubit 0 set
    assert np.argmax(to_big_endian(psi, 3)) == 4  # big-endian: qubit 0 is the high bit


def test_run_shadows_unbiased_within_error_bars():
    design = make_design(_config())
    params = np.linspace(-1, 1, design.protocol.n_params)
    out = run_shadows(design, params, "local", seed=11)
    assert out["error_reference"] == "exact_with_readout"
    assert out["max_z_score"] < 4.0
    z = np.array([(r["estimate"] - r["exact_noisy"]) / r["stderr"] for r in out["observables"]])
    assert np.all(np.abs(z) < 4.0)
    assert abs(out["fidelity_ideal"]["estimate"] - out["fidelity_ideal_exact"]) < 4 * out["fidelity_ideal"]["stderr"]
    assert len(out["bits"]) == 3000


def test_robust_shadows_remove_readout_bias():
    cfg = _config(fidelity=0.85, robust=True, calibration_snapshots=6000, snapshots=6000)
    design = make_design(cfg)
    params = np.linspace(-1, 1, design.protocol.n_params)
    out = run_shadows(design, params, "local", seed=5)
    assert out["error_reference"] == "exact_noisy"
    rows = out["observables"]
    z = np.array([(r["estimate"] - r["exact_noisy"]) / r["stderr"] for r in rows])
    assert np.all(np.abs(z) < 4.5)
    # the plain estimator would be biased by (1 - 2p)^k: visible on the largest weight-1 signal
    big = max(rows, key=lambda r: abs(r["exact_noisy"]) if r["pauli"].count("I") == 2 else 0)
    assert abs(big["exact_with_readout"] - big["exact_noisy"]) > 0.2 * abs(big["exact_noisy"])


def test_clifford_ensemble_local_only():
    design = make_design(_config(ensemble="clifford", snapshots=1500))
    out = run_shadows(design, np.zeros(design.protocol.n_params), "local", seed=2)
    assert out["max_z_score"] < 4.5
    with pytest.raises(ValueError, match="local"):
        run_shadows(design, np.zeros(design.protocol.n_params), get_backend("aer"), seed=2)


def test_local_and_aer_shadows_agree():
    """The same snapshot sweep on the embedded simulator and on qiskit-aer: estimates agree within errors."""
    design = make_design(_config())
    params = np.linspace(-1, 1, design.protocol.n_params)
    recipes = random_pauli_recipes(3, 3000, np.random.default_rng(0))
    obs = biomarker_observables(3)
    ests = []
    for i, name in enumerate(("local", "aer")):
        bits = collect_pauli_shadows(design, params, recipes, get_backend(name), seed=100 + i)
        ests.append(estimate_paulis(recipes, bits, obs))
    diff = ests[0].estimates - ests[1].estimates
    se = np.hypot(ests[0].standard_errors, ests[1].standard_errors)
    assert np.all(np.abs(diff) < 4 * se)
