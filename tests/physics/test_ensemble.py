"""NV-ensemble sensor model (Barry et al., Rev. Mod. Phys. 92, 015004 (2020))."""

import math

import numpy as np
import pytest

from qlearn_sense.physics import (
    NVEnsembleSensor,
    filter_function,
    photon_count_fisher,
    photons_from_contrast,
    readout_noise_factor,
    scaling_sensitivity,
    waveform_weight,
)

GAMMA = 2 * math.pi * 28.024e9


def _sensor(**kw):
    base = dict(n_spins=1e10, a0=0.03, a1=0.021, t2_star_s=2e-6, t2_s=1e-4, overhead_s=3e-6)
    base.update(kw)
    return NVEnsembleSensor(**base)


def test_readout_noise_reference_value():
    assert readout_noise_factor(0.03, 0.021) == pytest.approx(35.50, abs=0.005)  # REFERENCES.md
    a0, a1 = photons_from_contrast(0.2, 0.5)
    # sigma_R = sqrt(1 + 1/(C^2 n_avg)) in the contrast form
    assert readout_noise_factor(a0, a1) == pytest.approx(math.sqrt(1 + 1 / (0.04 * 0.5)), rel=1e-12)


def test_scaling_sensitivity_reference_value():
    assert scaling_sensitivity(0.03, 2e-6) == pytest.approx(1.3386e-7, rel=1e-4)  # REFERENCES.md


def test_ramsey_sensitivity_hand_computed():
    """sigma_R sqrt(t_I + tau + t_R) / (Delta m_s gamma sqrt(N) tau exp(-tau/T2*)) (Barry 2020, Ramsey)."""
    s = _sensor()
    tau = 1.5e-6
    hand = 35.50013041186271 * math.sqrt(4.5e-6) / (GAMMA * math.sqrt(1e10) * tau * math.exp(-0.75))
    assert s.dc_sensitivity(tau) == pytest.approx(hand, rel=1e-12)
    assert _sensor(delta_ms=2).dc_sensitivity(tau) == pytest.approx(hand / 2, rel=1e-12)
    # rate: sensitivity ~ N^(-1/2), as a fitted slope
    n = np.geomspace(1e6, 1e14, 9)
    slope = np.polyfit(np.log(n), np.log([_sensor(n_spins=x).dc_sensitivity(tau) for x in n]), 1)[0]
    assert slope == pytest.approx(-0.5, abs=1e-12)


def test_optimal_tau_numerical():
    s = _sensor()
    t = s.optimal_tau()
    assert t == pytest.approx(1.6458e-6, rel=1e-3)  # issue 11: about 1.65 us with 3 us overhead
    assert s.dc_sensitivity(1e-6) / s.dc_sensitivity(t) == pytest.approx(1.1057, abs=1e-3)  # ~10% loss at 1 us
    for p in (1.0, 2.0):  # no overhead: T2*/2 for p = 1 and 2 (REFERENCES.md)
        assert _sensor(overhead_s=0.0, stretch_exponent=p).optimal_tau() == pytest.approx(1e-6, rel=1e-6)


def test_fisher_by_photon_count_enumeration():
    """Exact count distribution vs the closed form N eta^2 / sigma_R^2 (Gaussian regime)."""
    n, a0, a1, eta = 300, 0.4, 0.25, 0.9
    closed = n * eta ** 2 / readout_noise_factor(a0, a1) ** 2
    assert photon_count_fisher(n, a0, a1, eta) == pytest.approx(closed, rel=2e-3)
    assert _sensor(n_spins=n, a0=a0, a1=a1).phase_fisher_per_shot(2e-6 * -math.log(eta)) == pytest.approx(closed,
                                                                                                         rel=1e-12)


def test_filter_function_closed_forms():
    tau = 1e-3
    f = np.array([0.0, 300.0, 1000.0, 2500.0])
    assert filter_function("ramsey", 1, tau, [0.0])[0] == pytest.approx(tau ** 2)
    w = 2 * np.pi * f[1:]
    hahn = 16 / w ** 2 * np.sin(w * tau / 4) ** 4  # Hahn echo |Y|^2 (Cywinski et al. 2008)
    np.testing.assert_allclose(filter_function("hahn_echo", 1, tau, f[1:]), hahn, rtol=1e-10)
    assert filter_function("hahn_echo", 1, tau, [0.0])[0] == pytest.approx(0.0, abs=1e-30)
    assert filter_function("cpmg", 4, tau, [0.0])[0] == pytest.approx(0.0, abs=1e-30)


def test_waveform_weight():
    assert waveform_weight(lambda t: 1.0, "ramsey", 1, 2e-6, 0.0) == pytest.approx(2e-6)
    assert waveform_weight(lambda t: 1.0, "hahn_echo", 1, 2e-6, 0.0) == pytest.approx(0.0, abs=1e-18)
    sq = lambda t: 1.0 if t < 1e-6 else -1.0  # noqa: E731  (a square wave matched to the echo)
    assert waveform_weight(sq, "hahn_echo", 1, 2e-6, 0.0) == pytest.approx(2e-6, rel=1e-6)


def test_phase():
    s = _sensor(delta_ms=2)
    assert s.phase_rad(15e-12, 1e-6) == pytest.approx(2 * 2.6412e-6, rel=1e-4)  # REFERENCES.md: 15 pT, 1 us
    assert s.phase_rad(15e-12, 1e-6, "hahn_echo") == pytest.approx(0.0, abs=1e-18)


def test_coherence_and_density():
    s = NVEnsembleSensor.from_density(1.76e23, 1e-13, a0=0.03, a1=0.021, t2_star_s=2e-6, t2_s=1e-4)
    assert s.n_spins == pytest.approx(1.76e10)
    assert s.coherence(1e-4, "hahn_echo") == pytest.approx(math.exp(-1))
    assert _sensor(cpmg_t2_exponent=0.5).coherence(2e-4, "cpmg", 4) == pytest.approx(math.exp(-1))


def test_errors_name_the_field():
    with pytest.raises(ValueError, match="a0"):
        readout_noise_factor(0.02, 0.03)
    with pytest.raises(ValueError, match="a1"):
        readout_noise_factor(0.02, -0.01)
    with pytest.raises(ValueError, match="contrast"):
        photons_from_contrast(1.5, 1.0)
    with pytest.raises(ValueError, match="photons_per_shot"):
        photons_from_contrast(0.1, 0.0)
    with pytest.raises(ValueError, match="contrast"):
        scaling_sensitivity(0.0, 1e-6)
    with pytest.raises(ValueError, match="t2_star_s"):
        scaling_sensitivity(0.1, -1e-6)
    with pytest.raises(ValueError, match="t2_star_s"):
        _sensor(t2_star_s=-1e-6)
    with pytest.raises(ValueError, match="delta_ms"):
        _sensor(delta_ms=3)
    with pytest.raises(ValueError, match="overhead_s"):
        _sensor(overhead_s=-1.0)
    with pytest.raises(ValueError, match="density_per_m3"):
        NVEnsembleSensor.from_density(-1.0, 1e-12, a0=0.03, a1=0.02, t2_star_s=1e-6, t2_s=1e-5)
    with pytest.raises(ValueError, match="sequence"):
        filter_function("xy8", 1, 1e-3, [0.0])
    with pytest.raises(ValueError, match="tau_s"):
        waveform_weight(lambda t: 1.0, "ramsey", 1, 0.0, 0.0)
    with pytest.raises(ValueError, match="n_pulses"):
        _sensor().coherence(1e-6, "cpmg", 0)
    with pytest.raises(ValueError, match="n_spins"):
        photon_count_fisher(0, 0.3, 0.2, 0.9)
