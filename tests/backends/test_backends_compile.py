"""Compilation for devices: one ISA circuit per backend, recorded layout, one PUB per sweep, observables."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.quantum_info import SparsePauliOp

from qlearn_sense.backends import (
    TranspileOptions,
    active_qubits,
    compact_circuit,
    device_circuit,
    fake_backend,
    get_backend,
    isa_observable,
    pub_values,
    transpile_protocol,
)
from qlearn_sense.protocol import Noise, build_protocol, to_qiskit
from qlearn_sense.protocol._qiskit import parameter_binding

GHZ3 = build_protocol(3, "ghz", "ghz_parity")


def test_transpiled_once_per_protocol_and_settings(monkeypatch):
    from qlearn_sense.backends import _compile

    calls = []
    real = _compile.transpile_protocol

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(_compile, "transpile_protocol", counting)
    be = get_backend("aer:fake_fez")
    noisy = GHZ3.with_noise(Noise.uniform(3, eta=0.9))
    for protocol in (GHZ3, noisy, GHZ3):  # the noise does not change the ISA circuit
        be.run(protocol, np.zeros((4, 2)), np.linspace(0, 1, 4), 100, seed=1)
    assert len(calls) == 1
    be.configure(optimization_level=2)
    be.run(GHZ3, np.zeros((1, 2)), 0.0, 10, seed=1)
    assert len(calls) == 2


def test_layout_recorded_and_initial_layout_respected():
    target = fake_backend("fake_fez").target
    comp = transpile_protocol(GHZ3, target, TranspileOptions(initial_layout=(3, 4, 5), optimization_level=1))
    assert comp.layout == [3, 4, 5]
    assert active_qubits(comp.isa) == [3, 4, 5]
    assert set(comp.isa.count_ops()) <= set(target.operation_names) | {"barrier", "measure"}
    assert len(comp.isa_hash) == 16
    with pytest.raises(ValueError, match="has 2 qubits"):
        transpile_protocol(GHZ3, target, TranspileOptions(initial_layout=(3, 4)))
    with pytest.raises(ValueError, match="outside"):
        transpile_protocol(GHZ3, target, TranspileOptions(initial_layout=(3, 4, 999)))


def test_same_settings_same_isa_hash():
    target = fake_backend("fake_manila").target
    a = transpile_protocol(GHZ3, target, TranspileOptions(seed_transpiler=4))
    b = transpile_protocol(GHZ3, target, TranspileOptions(seed_transpiler=4))
    assert a.isa_hash == b.isa_hash


def test_pub_values_follow_circuit_parameter_order():
    protocol = build_protocol(2, "hea", "local", prep_layers=1)
    qc = to_qiskit(protocol)
    rng = np.random.default_rng(0)
    params = rng.normal(size=(5, protocol.n_params))
    phis = rng.normal(size=5)
    values = pub_values(qc, params, phis)
    assert values.shape == (5, qc.num_parameters)
    for row, theta, phi in zip(values, params, phis):
        binding = parameter_binding(qc, theta, phi)
        assert row.tolist() == [binding[p] for p in qc.parameters]


def test_device_metadata_records_layout_and_hash():
    be = get_backend("aer:fake_fez").configure(initial_layout=[3, 4, 5], seed_transpiler=1)
    res = be.run(GHZ3, np.zeros((3, 2)), [0.0, 0.1, 0.2], 50, seed=0)
    assert res.counts.shape == (3, 8)
    assert res.metadata["layout"] == [3, 4, 5]
    assert res.metadata["noise_qubits"] == [3, 4, 5]
    assert res.metadata["seed_transpiler"] == 1


def test_interrogation_delay_before_encoding():
    qc = device_circuit(GHZ3, interrogation_time_s=1e-6, dt=4e-9)
    names = [i.operation.name for i in qc.data]
    first_delay = names.index("delay")
    first_phi = next(k for k, i in enumerate(qc.data)
                     if i.operation.name == "rz" and "phi" in str(i.operation.params[0]))
    assert names.count("delay") == 3 and first_delay < first_phi
    assert qc.data[first_delay].operation.duration == 250 and qc.data[first_delay].operation.unit == "dt"
    assert device_circuit(GHZ3).count_ops() == to_qiskit(GHZ3).count_ops()  # no delay unless asked


def test_isa_observable_applies_layout():
    target = fake_backend("fake_fez").target
    comp = transpile_protocol(GHZ3, target, TranspileOptions(initial_layout=(3, 4, 5)))
    op = isa_observable("ZZI", comp.isa)  # Z on protocol qubits 1 and 2
    assert op.num_qubits == comp.isa.num_qubits
    label = op.paulis[0].to_label()[::-1]  # qubit index order
    assert {k for k, c in enumerate(label) if c == "Z"} == {4, 5}
    op2 = isa_observable(SparsePauliOp.from_list([("IIX", 0.5)]), comp.isa)
    assert op2.paulis[0].to_label()[::-1][3] == "X"


def test_compact_circuit_keeps_only_listed_qubits():
    target = fake_backend("fake_fez").target
    comp = transpile_protocol(GHZ3, target, TranspileOptions(initial_layout=(3, 4, 5)))
    small = compact_circuit(comp.isa, [3, 4, 5])
    assert small.num_qubits == 3 and small.num_clbits == 3
    assert small.count_ops() == comp.isa.count_ops()


def test_bad_inputs_raise_clear_errors():
    from qlearn_sense.backends import counts_from_primitive_result

    target = fake_backend("fake_fez").target
    comp = transpile_protocol(GHZ3, target, TranspileOptions(initial_layout=(3, 4, 5)))
    with pytest.raises(ValueError, match="acts on 4 qubits"):
        isa_observable("ZZZZ", comp.isa)
    with pytest.raises(ValueError, match="no classical register 'meas'"):
        counts_from_primitive_result([{"c": np.zeros((1, 4, 3), dtype=bool)}], 3)
    with pytest.raises(NotImplementedError, match="only samples"):
        get_backend("ibm-local:fake_manila").probabilities(GHZ3, np.zeros((1, 2)), 0.0)
