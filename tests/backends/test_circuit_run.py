"""Bound circuits (not protocols) on device backends: run_circuits, compile_circuits, submit_circuit.

Distributions are checked against exact ideal probabilities (qiskit quantum_info,
an independent implementation) within shot noise plus the device's small error
budget; bit order little-endian (qubit 0 rightmost); hardware submissions follow
the ledger discipline of protocol submissions (intent first, never twice).
"""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.quantum_info import Statevector

from qlearn_sense.backends import BackendError, IBMRuntimeBackend, JobLedger, JobUnknownError, get_backend

from conftest import FAST_RETRY  # noqa: E402  (tests/backends/conftest.py)

SHOTS = 4000


def _bell_x() -> QuantumCircuit:
    """X on qubit 0, Bell pair on qubits 1, 2: outcomes k = 1 (bits 001) and 7 (111), half each."""
    qc = QuantumCircuit(3, name="bell_x")
    qc.x(0)
    qc.h(1)
    qc.cx(1, 2)
    qc.measure_all()
    return qc


def _ideal(qc: QuantumCircuit) -> np.ndarray:
    return Statevector(qc.remove_final_measurements(inplace=False)).probabilities()  # little-endian


def _close(counts: np.ndarray, probs: np.ndarray, device_err: float = 0.08) -> None:
    """Each frequency within 5 shot-noise standard errors plus a device error budget (readout ~1-3 %)."""
    shots = counts.sum()
    se = np.sqrt(probs * (1 - probs) / shots)
    assert np.all(np.abs(counts / shots - probs) <= 5 * se + device_err), (counts / shots, probs)


@pytest.mark.parametrize("name", ["aer:fake_manila", "ibm-local:fake_manila"])
def test_run_circuits_distribution_and_bit_order(name):
    qc = _bell_x()
    single = QuantumCircuit(1, name="x")
    single.x(0)
    single.measure_all()
    res = get_backend(name).run_circuits([qc, single], SHOTS, seed=11)
    assert res.backend == name and res.shots == SHOTS and len(res.counts) == 2
    assert res.counts[0].shape == (8,) and res.counts[1].shape == (2,)
    assert all(c.sum() == SHOTS for c in res.counts)
    _close(res.counts[0], _ideal(qc))
    assert res.counts[0][1] > 10 * res.counts[0][4]  # qubit 0 is the least significant bit (reversed: k = 4)
    _close(res.counts[1], np.array([0.0, 1.0]))
    rec = res.compiled[0].record()
    assert rec["two_qubit_gates"] >= 1 and rec["depth"] >= 3 and len(rec["layout"]) == 3
    assert res.compiled[1].two_qubit_gates == 0


def test_run_circuits_same_seed_same_counts():
    be = get_backend("aer:fake_manila")
    a = be.run_circuits([_bell_x()], 500, seed=3).counts[0]
    b = be.run_circuits([_bell_x()], 500, seed=3).counts[0]
    assert np.array_equal(a, b)


def test_run_circuits_rejects_bad_input():
    be = get_backend("aer:fake_manila")
    free = QuantumCircuit(1)
    free.rx(Parameter("a"), 0)
    free.measure_all()
    with pytest.raises(ValueError, match="free parameters"):
        be.run_circuits([free], 10, seed=1)
    bare = QuantumCircuit(1)
    bare.x(0)
    with pytest.raises(ValueError, match="'meas'"):
        be.run_circuits([bare], 10, seed=1)
    with pytest.raises(ValueError, match="shots = 0"):
        be.run_circuits([_bell_x()], 0, seed=1)
    wide = QuantumCircuit(6, name="wide")
    wide.measure_all()
    with pytest.raises(BackendError, match=r"'aer:fake_manila' has 5 qubits; circuit 'wide' needs 6"):
        be.run_circuits([wide], 10, seed=1)
    assert be.circuit_fits(6, "the network") == "backend 'aer:fake_manila' has 5 qubits; the network needs 6"
    assert be.circuit_fits(5) is None


def _backend(service, ledger_path) -> IBMRuntimeBackend:
    return IBMRuntimeBackend("ibm_fez", service=service, retry=FAST_RETRY, ledger=JobLedger(ledger_path))


def test_submit_circuit_records_the_pub_and_never_submits_twice(fake_service, ledger_path, tmp_path):
    be = _backend(fake_service, ledger_path)
    run_dir = tmp_path / "run"
    rec = be.submit_circuit(_bell_x(), SHOTS, seed=2, run_dir=run_dir, run_id="run", config_name="c", pub=2000)
    assert rec.pub == 2000 and rec.job_id is not None and rec.pub_shape == [1, 0] and rec.isa_hash
    job = fake_service.jobs_by_id[rec.job_id]
    assert any(t.endswith(":2000") and t.startswith("qls-pub:") for t in job.tags) and "qlearn-sense" in job.tags
    again = be.submit_circuit(_bell_x(), SHOTS, seed=2, run_dir=run_dir, run_id="run", config_name="c", pub=2000)
    assert again.job_id == rec.job_id and fake_service.submit_calls == 1
    done = be.wait(rec, timeout_s=0)
    assert done.status == "DONE"
    counts = be.result(done, 3).counts[0]
    _close(counts, _ideal(_bell_x()))
    assert [r.pub for r in JobLedger(ledger_path).for_run(run_dir)] == [2000]
    with pytest.raises(ValueError, match="shots = 0"):
        be.submit_circuit(_bell_x(), 0, seed=2, run_dir=run_dir, run_id="run", pub=2001)


def test_submit_circuit_interrupted_is_adopted_not_resubmitted(fake_service, ledger_path, tmp_path):
    be = _backend(fake_service, ledger_path)
    run_dir = tmp_path / "run"
    fake_service.interrupt_after_submit = True  # the service accepted; the client never saw the id
    with pytest.raises(KeyboardInterrupt):
        be.submit_circuit(_bell_x(), 100, seed=1, run_dir=run_dir, run_id="run", pub=2001)
    (row,) = JobLedger(ledger_path).for_run(run_dir)
    assert row.status == "SUBMITTING" and row.job_id is None  # the intent was recorded before sending
    fake_service.fail_lookups = 99  # the lookup that would find the job fails: unknown, nothing is sent
    with pytest.raises(JobUnknownError, match="nothing more was submitted"):
        be.submit_circuit(_bell_x(), 100, seed=1, run_dir=run_dir, run_id="run", pub=2001)
    assert fake_service.submit_calls == 1
    fake_service.fail_lookups = 0
    rec = be.submit_circuit(_bell_x(), 100, seed=1, run_dir=run_dir, run_id="run", pub=2001)
    assert rec.job_id == next(iter(fake_service.jobs_by_id)) and fake_service.submit_calls == 1


def test_runtime_run_circuits_adhoc(fake_service, ledger_path):
    res = _backend(fake_service, ledger_path).run_circuits([_bell_x()], 1000, seed=4)
    assert res.counts[0].sum() == 1000 and len(res.metadata["job_ids"]) == 1
    _close(res.counts[0], _ideal(_bell_x()))
