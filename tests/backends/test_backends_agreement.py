"""Cross-backend agreement: local, pennylane:default.mixed and aer give the same outcome probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from qlearn_sense.backends import SampleResult, get_backend
from qlearn_sense.protocol import Gate, Noise, Protocol, build_protocol

NOISE3 = Noise(eta=(0.9, 0.8, 0.7), gamma=(0.05, 0.1, 0.0), p01=(0.01, 0.03, 0.0), p10=(0.04, 0.0, 0.06))

PROTOCOLS = [
    build_protocol(3, "hea", "hea", prep_layers=1, meas_layers=1, noise=NOISE3),
    build_protocol(3, "oat", "local", prep_layers=2, noise=NOISE3),
    build_protocol(3, "ghz", "ghz_parity", noise=NOISE3),
    build_protocol(2, "product", "local", noise=Noise.uniform(2, eta=0.85, gamma=0.02, p01=0.02, p10=0.05)),
]
EXACT_BACKENDS = ("aer", "pennylane:default.mixed")


@pytest.fixture(scope="module")
def backends():
    return {name: get_backend(name) for name in ("local",) + EXACT_BACKENDS}


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.name)
def test_exact_probabilities_agree(protocol, backends):
    rng = np.random.default_rng(7)
    params = rng.uniform(-np.pi, np.pi, size=(3, protocol.n_params))
    phis = rng.uniform(-1.0, 1.0, size=3)
    ref = backends["local"].probabilities(protocol, params, phis)
    for name in EXACT_BACKENDS:
        p = backends[name].probabilities(protocol, params, phis)
        assert p.shape == ref.shape == (3, protocol.dim)
        np.testing.assert_allclose(p, ref, atol=1e-8, rtol=0, err_msg=name)


def _bit_flip_protocol(n: int, flipped: tuple[int, ...]) -> Protocol:
    prep = tuple(Gate("x", (j,)) for j in flipped)
    return Protocol(n_qubits=n, prep=prep, measure=(), n_params=0, n_prep_params=0, noise=Noise.ideal(n))


@pytest.mark.parametrize("flipped", [(0,), (1,), (2,), (0, 2)])
def test_bit_order_is_little_endian_everywhere(flipped):
    protocol = _bit_flip_protocol(3, flipped)
    expected = sum(1 << j for j in flipped)
    for name in ("local", "aer", "pennylane:default.mixed", "pennylane:default.qubit", "aer:fake_manila"):
        res = get_backend(name).run(protocol, np.zeros((1, 0)), 0.0, 64, seed=1)
        assert isinstance(res, SampleResult)
        assert res.counts.shape == (1, 8)
        assert int(np.argmax(res.counts[0])) == expected, name
        assert format(expected, "03b") in res.bitstrings(0)


def _max_z(counts: np.ndarray, probs: np.ndarray, shots: int) -> float:
    """Largest |standardized deviation| over outcomes with expected count >= 5."""
    expected = probs * shots
    sd = np.sqrt(shots * probs * (1 - probs))
    mask = expected >= 5
    return float(np.max(np.abs(counts - expected)[mask] / sd[mask]))


@pytest.mark.parametrize("name", ["local", "aer", "pennylane:default.mixed"])
def test_sampled_counts_within_four_standard_errors(name, backends):
    protocol = PROTOCOLS[0]
    rng = np.random.default_rng(11)
    params = rng.uniform(-np.pi, np.pi, size=(2, protocol.n_params))
    phis = np.array([0.2, -0.4])
    shots = 20_000
    exact = backends["local"].probabilities(protocol, params, phis)
    res = backends[name].run(protocol, params, phis, shots, seed=3, memory=True)
    assert res.counts.dtype == np.int64 and res.counts.sum(axis=1).tolist() == [shots, shots]
    assert _max_z(res.counts, exact, shots) < 4.0
    # per-shot memory is consistent with the counts and little-endian bits
    assert res.memory.shape == (2, shots)
    np.testing.assert_array_equal(np.stack([np.bincount(m, minlength=8) for m in res.memory]), res.counts)
    assert res.bits().shape == (2, shots, 3)


def test_same_seed_same_counts():
    protocol = PROTOCOLS[2]
    params = np.zeros((2, protocol.n_params))
    for name in ("aer", "pennylane:default.mixed", "aer:fake_manila"):
        a = get_backend(name).run(protocol, params, 0.3, 500, seed=5).counts
        b = get_backend(name).run(protocol, params, 0.3, 500, seed=5).counts
        np.testing.assert_array_equal(a, b, err_msg=name)


@pytest.mark.parametrize("device", ["default.qubit", "lightning.qubit"])
def test_pure_state_pennylane_devices_agree_and_refuse_noise(device):
    noisy = PROTOCOLS[1]
    ideal = noisy.with_noise(Noise.ideal(noisy.n_qubits))
    rng = np.random.default_rng(2)
    params = rng.uniform(-np.pi, np.pi, size=(2, ideal.n_params))
    ref = get_backend("local").probabilities(ideal, params, [0.1, 0.7])
    np.testing.assert_allclose(get_backend(f"pennylane:{device}").probabilities(ideal, params, [0.1, 0.7]), ref,
                               atol=1e-8, rtol=0)
    with pytest.raises(ValueError, match="pure states only.*default.mixed"):
        get_backend(f"pennylane:{device}").run(noisy, params, 0.1, 10, seed=0)


def test_device_backends_apply_device_noise_not_protocol_noise():
    assert get_backend("local").noise_from_protocol
    assert get_backend("aer").noise_from_protocol
    assert get_backend("pennylane:default.mixed").noise_from_protocol
    assert not get_backend("aer:fake_fez").noise_from_protocol
    assert not get_backend("ibm-local:fake_fez").noise_from_protocol
    assert not get_backend("ibm:ibm_fez").noise_from_protocol
