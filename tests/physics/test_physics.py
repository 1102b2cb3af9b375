"""Sensor physics against the reference values of shared/REFERENCES.md."""

import math

import pytest

from qlearn_sense.physics import (
    ActionPotentialField,
    ConstantField,
    QubitSensor,
    SinusoidalRhythm,
    nv_center,
    shot_noise_sensitivity,
)


def test_nv_phase_for_15_pT_in_1_us():
    assert nv_center().phase_rad(15e-12, 1e-6) == pytest.approx(2.6412e-6, rel=1e-4)


def test_taylor_shot_noise_sensitivity():
    assert shot_noise_sensitivity(0.03, 2e-6) == pytest.approx(1.3386e-7, rel=1e-4)
    with pytest.raises(ValueError, match="contrast"):
        shot_noise_sensitivity(0.0, 2e-6)
    with pytest.raises(ValueError, match="t2_star_s"):
        shot_noise_sensitivity(0.03, 0.0)


def test_coherence_and_noise():
    s = QubitSensor(28e9, t2_star_s=2e-6, t2_s=100e-6, stretch_exponent=2.0, t1_s=1e-3, readout_fidelity=0.95,
                    overhead_time_s=1e-6)
    assert s.eta(2e-6) == pytest.approx(math.exp(-1))
    assert s.eta(100e-6, "hahn_echo") == pytest.approx(math.exp(-1))
    params = s.noise(1e-6)
    assert params.eta == pytest.approx(math.exp(-0.25))
    assert params.gamma == pytest.approx(1 - math.exp(-1e-3))
    assert params.p01 == pytest.approx(0.05)
    assert s.shot_rate_Hz(1e-6) == pytest.approx(5e5)
    # T2 cannot exceed 2 T1: eta capped at sqrt(1 - gamma)
    slow = QubitSensor(28e9, t2_star_s=1.0, t1_s=1e-6)
    p = slow.noise(1e-6)
    assert p.eta == pytest.approx(math.sqrt(1 - p.gamma))
    with pytest.raises(ValueError, match="sequence"):
        s.eta(1e-6, "cpmg")
    with pytest.raises(ValueError, match="t_s"):
        s.eta(-1.0)
    with pytest.raises(ValueError, match="t2_star_s"):
        QubitSensor(28e9, t2_star_s=-1.0)


def test_signals_phase_per_tesla():
    gamma, t = 28.024e9, 1e-6
    assert ConstantField(1e-9).dphi_dA(gamma, t) == pytest.approx(2 * math.pi * gamma * t)
    assert ConstantField(1e-9).dphi_dA(gamma, t, sequence="hahn_echo") == pytest.approx(0.0, abs=1e-6)
    # action potential: a short window centred on the peak sees the peak field
    ap = ActionPotentialField(15e-12, width_s=3e-4)
    assert ap.dphi_dA(gamma, t) == pytest.approx(2 * math.pi * gamma * t, rel=1e-6)
    # AC rhythm with a matched Hahn echo (t = 1/f): 2/pi of the DC phase (Taylor et al. 2008)
    r = SinusoidalRhythm(1e-9, 1e3)
    assert r.dphi_dA(gamma, 1e-3, sequence="hahn_echo") == pytest.approx(2 * math.pi * gamma * 2e-3 / math.pi)
    assert r.dphi_dA(gamma, 1e-3) == pytest.approx(0.0, abs=1e-3)
    with pytest.raises(ValueError, match="width_s"):
        ActionPotentialField(1e-12, width_s=0)
    with pytest.raises(ValueError, match="frequency_Hz"):
        SinusoidalRhythm(1e-9, 0.0)
    with pytest.raises(ValueError, match="interrogation time"):
        ConstantField(1e-9).dphi_dA(gamma, 0.0)
