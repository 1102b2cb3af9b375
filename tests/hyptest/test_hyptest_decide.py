"""Fidelity bound, Gaussian shot count and the LRT verdict (moved from the runner into hyptest)."""

import numpy as np
import pytest

from qlearn_sense.hyptest import fidelity, fidelity_error_lower_bound, gaussian_shots_to_decide, lrt_verdict


def test_gaussian_shots_bernoulli_closed_form():
    """Bernoulli 0.5 vs 0.6, alpha = beta = 0.01: (2 z_0.99)^2 / chi^2 = 541.2 (REFERENCES.md: fixed test ~530)."""
    p0, p1 = np.array([0.5, 0.5]), np.array([0.4, 0.6])
    z = 2.3263478740408408
    assert gaussian_shots_to_decide(p0, p1, 0.01, 0.01) == pytest.approx((2 * z) ** 2 / 0.04, rel=1e-12)
    assert gaussian_shots_to_decide(p0, p0, 0.01, 0.01) == float("inf")


def test_fidelity_errors_and_bound_monotone():
    with pytest.raises(ValueError, match="shape"):
        fidelity(np.eye(2) / 2, np.eye(4) / 4)
    b = fidelity_error_lower_bound(0.9, np.arange(1, 50), 0.5)
    assert np.all(np.diff(b) <= 0) and b[0] == pytest.approx((1 - np.sqrt(1 - 0.9)) / 2)


def test_lrt_verdict_follows_the_data_and_controls_false_alarms():
    rng = np.random.default_rng(5)
    p0, p1 = np.array([0.5, 0.5]), np.array([0.4, 0.6])
    alarms = sum(lrt_verdict(p0, p1, rng.multinomial(600, p0), 0.05)["decision"].startswith("biomarker")
                 for _ in range(400))
    assert abs(alarms / 400 - 0.05) < 4 * np.sqrt(0.05 * 0.95 / 400)  # exact level-alpha test
    v = lrt_verdict(p0, p1, np.array([220, 380]), 0.01)
    assert v["decision"] == "biomarker present (H1)" and v["shots"] == 600 and v["method"] != "gaussian"
