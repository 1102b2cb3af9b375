"""Exact phase model and maximum likelihood: unbiased, efficient (reaches the CRB)."""

import numpy as np
import pytest

from qlearn_sense.estimation import PhaseModel, mle_phase, shots_for_relative_precision, shots_for_snr
from qlearn_sense.protocol import Noise, build_protocol, compile_jax


@pytest.fixture(scope="module")
def ghz3():
    p = build_protocol(3, "ghz", "ghz_parity", noise=Noise.uniform(3, eta=0.9, p01=0.02, p10=0.03))
    jp = compile_jax(p)
    theta = np.array([np.pi / 2, 0.0])
    return jp, theta, PhaseModel.from_probs_fn(lambda x: np.asarray(jp.probs(theta, x)), 3)


def test_fourier_model_is_exact(ghz3, rng):
    jp, theta, model = ghz3
    for phi in rng.uniform(-np.pi, np.pi, 5):
        np.testing.assert_allclose(model.probs(phi), np.asarray(jp.probs(theta, phi)), atol=1e-13)
        p, dp = jp.probs_and_dprobs(theta, phi)
        np.testing.assert_allclose(model.dprobs(phi), np.asarray(dp), atol=1e-12)
        assert model.cfi(phi) == pytest.approx(float(jp.cfi(theta, phi)), rel=1e-10)


def test_mle_unbiased_and_at_crb(ghz3):
    _, _, model = ghz3
    rng = np.random.default_rng(11)
    phi_true, shots, reps = 0.05, 20_000, 400
    est = mle_phase(model, rng.multinomial(shots, model.probs(phi_true), size=reps))
    crb = 1 / np.sqrt(shots * model.cfi(phi_true))
    assert abs(est.phi.mean() - phi_true) < 4 * crb / np.sqrt(reps)
    # sample std of a Gaussian with reps samples has relative SE ~ 1/sqrt(2 reps)
    assert est.phi.std(ddof=1) == pytest.approx(crb, rel=4 / np.sqrt(2 * reps))
    np.testing.assert_allclose(est.phi_std, crb, rtol=0.05)


def test_honest_shot_counts():
    assert shots_for_snr(2.0, 1e-3) == pytest.approx(1 / (2.0 * 1e-6))
    assert shots_for_relative_precision(2.0, 1e-3, 0.1) == pytest.approx(100 / (2.0 * 1e-6))
    assert shots_for_snr(1.0, 0.0) == float("inf")
    with pytest.raises(ValueError, match="fisher"):
        shots_for_snr(0.0, 1.0)
    with pytest.raises(ValueError, match="relative_precision"):
        shots_for_relative_precision(1.0, 1.0, 0.0)


def test_mle_validation(ghz3):
    _, _, model = ghz3
    with pytest.raises(ValueError, match="outcomes"):
        mle_phase(model, np.ones(3, dtype=int))
    with pytest.raises(ValueError, match="non-negative"):
        mle_phase(model, -np.ones(8, dtype=int))
    with pytest.raises(ValueError, match="same positive"):
        mle_phase(model, np.array([np.ones(8), 2 * np.ones(8)], dtype=int))
    with pytest.raises(ValueError, match="grid"):
        mle_phase(model, np.ones(8, dtype=int), grid=3)
    with pytest.raises(ValueError, match="n_qubits"):
        PhaseModel.from_probs_fn(lambda x: np.ones(2) / 2, 0)
