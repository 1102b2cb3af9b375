"""The JAX and qiskit compilers of one protocol agree, including the bit order."""

import numpy as np
import pytest
from qiskit.quantum_info import DensityMatrix, Operator, Statevector

from qlearn_sense.protocol import (
    MEASUREMENTS,
    PREPARATIONS,
    Gate,
    Noise,
    Protocol,
    build_protocol,
    compile_jax,
    from_qasm3,
    to_qasm3,
    to_qiskit,
)
from qlearn_sense.protocol._qiskit import parameter_binding


@pytest.mark.parametrize("prep", sorted(PREPARATIONS))
@pytest.mark.parametrize("meas", sorted(MEASUREMENTS))
def test_jax_and_qiskit_probabilities_agree(prep, meas, rng):
    p = build_protocol(3, prep, meas, prep_layers=2, meas_layers=1)
    theta = rng.uniform(-np.pi, np.pi, p.n_params)
    phi = rng.uniform(-np.pi, np.pi)
    qc = to_qiskit(p, measure=False)
    expected = Statevector(qc.assign_parameters(parameter_binding(qc, theta, phi))).probabilities()
    got = np.asarray(compile_jax(p).probs(theta, phi))
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_bit_order_is_little_endian():
    # X on qubit 0 only: outcome index 1 (qiskit bitstring '001').
    p = Protocol(3, (Gate("x", (0,)),), (), 0, 0, Noise.ideal(3))
    probs = np.asarray(compile_jax(p).probs(np.zeros(0), 0.0))
    assert probs[1] == pytest.approx(1.0)
    qc = to_qiskit(p, measure=False)
    assert Statevector(qc.assign_parameters({qc.parameters[0]: 0.0})).probabilities_dict() == {"001": 1.0}


def test_noisy_density_matrix_matches_qiskit_channels(rng):
    """Dephasing + amplitude damping + readout against qiskit's DensityMatrix evolution."""
    from qiskit_aer.noise import amplitude_damping_error, phase_damping_error

    noise = Noise(eta=(0.8, 0.7), gamma=(0.1, 0.2), p01=(0.02, 0.05), p10=(0.04, 0.01))
    p = build_protocol(2, "hea", "local", prep_layers=1, noise=noise)
    theta = rng.uniform(-np.pi, np.pi, p.n_params)
    phi = 0.37
    prep = to_qiskit(p, measure=False, measurement_ansatz=False)
    rho = DensityMatrix(prep.assign_parameters(parameter_binding(prep, theta, phi)))
    for j in range(2):
        deph = noise.dephasing[j]
        rho = rho.evolve(phase_damping_error(1 - deph**2).to_quantumchannel(), [j])
        rho = rho.evolve(amplitude_damping_error(noise.gamma[j]).to_quantumchannel(), [j])
    jp = compile_jax(p)
    np.testing.assert_allclose(np.asarray(jp.density_matrix(theta, phi)), rho.data, atol=1e-12)
    # measurement ansatz + classical readout confusion
    full = to_qiskit(p, measure=False)
    meas_only = full.copy()
    meas_only.data = full.data[len(prep.data):]
    rho_m = rho.evolve(Operator(meas_only.assign_parameters(
        {k: v for k, v in parameter_binding(full, theta, phi).items() if k in meas_only.parameters})))
    probs = rho_m.probabilities()
    c = [np.array([[1 - noise.p01[j], noise.p10[j]], [noise.p01[j], 1 - noise.p10[j]]]) for j in range(2)]
    expected = np.kron(c[1], c[0]) @ probs  # little-endian: qubit 1 is the high bit
    np.testing.assert_allclose(np.asarray(jp.probs(theta, phi)), expected, atol=1e-12)


def test_qasm3_round_trip(rng):
    p = build_protocol(3, "oat", "hea", prep_layers=2)
    theta = rng.uniform(-np.pi, np.pi, p.n_params)
    qc = from_qasm3(to_qasm3(p, measure=False))
    got = Statevector(qc.assign_parameters(parameter_binding(qc, theta, 0.2))).probabilities()
    np.testing.assert_allclose(got, np.asarray(compile_jax(p).probs(theta, 0.2)), atol=1e-12)


def test_encoding_is_sum_z_over_two():
    """Phase phi per qubit on |+>^n: the n-qubit GHZ picks up n phi (Heisenberg scaling)."""
    p = build_protocol(4, "ghz", "none")
    psi0 = np.asarray(compile_jax(p).density_matrix(np.zeros(0), 0.3))
    assert abs(psi0[0, -1]) == pytest.approx(0.5)
    assert np.angle(psi0[0, -1]) == pytest.approx(np.angle(np.exp(-1j * 4 * 0.3)))


@pytest.mark.parametrize("kwargs, match", [
    (dict(name="foo", wires=(0,)), "unknown"),
    (dict(name="cnot", wires=(0,)), "distinct"),
    (dict(name="h", wires=(0,), param=0), "takes no parameter"),
])
def test_gate_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Gate(**kwargs)


def test_protocol_and_noise_validation():
    with pytest.raises(ValueError, match="n_qubits"):
        build_protocol(13, "ramsey", "none")
    with pytest.raises(ValueError, match="accepted"):
        build_protocol(2, "nope", "none")
    with pytest.raises(ValueError, match="accepted"):
        build_protocol(2, "ramsey", "nope")
    with pytest.raises(ValueError, match="eta"):
        Noise.uniform(2, eta=1.2)
    with pytest.raises(ValueError, match="2 T1"):
        Noise.uniform(2, eta=0.99, gamma=0.5)
    with pytest.raises(ValueError, match="p01"):
        Noise.uniform(2, p01=0.6)
    with pytest.raises(ValueError, match="outside"):
        Protocol(2, (Gate("x", (3,)),), (), 0, 0, Noise.ideal(2))
    with pytest.raises(ValueError, match="parameter"):
        Protocol(2, (Gate("rx", (0,), param=1),), (), 1, 1, Noise.ideal(2))
    with pytest.raises(ValueError, match="measurement parameter"):
        Protocol(2, (Gate("rx", (0,), param=1),), (), 2, 1, Noise.ideal(2))
