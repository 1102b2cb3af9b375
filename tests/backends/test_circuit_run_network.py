"""Network circuits on IBM hardware (a QiskitRuntimeService test double): ledger PUBs 2000+, no resubmission,
pending jobs reported as pending, failed jobs reported and not sent again.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from qlearn_sense.backends import IBMRuntimeBackend, JobLedger
from qlearn_sense.experiments import AnalysisContext
from qlearn_sense.experiments import _network_backend as nb
from qlearn_sense.experiments._network_run import analyse_network

from conftest import FAST_RETRY  # noqa: E402  (tests/backends/conftest.py)

_spec = importlib.util.spec_from_file_location(
    "network_helpers_for_backends", Path(__file__).resolve().parents[1] / "network" / "network_helpers.py")
helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(helpers)

SHOTS = 3000
CFG = helpers.network_config(helpers.tiny_network(
    strategies=["classical", "distributed"], efficiency_sweep=[], shots=SHOTS,
    optimizer={"layers": 1, "steps": 40, "restarts": 1, "learning_rate": 0.1}))


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch):
    monkeypatch.setattr(nb, "ASYNC_WAIT_S", 0.0)  # one status check per job: no sleeping in tests
    monkeypatch.setattr(nb, "ASYNC_POLL_S", 0.0)


def _analyse(service, ledger_path, run_dir):
    be = IBMRuntimeBackend("ibm_fez", service=service, retry=FAST_RETRY, ledger=JobLedger(ledger_path))
    return analyse_network(AnalysisContext(config=CFG, backend=be, seed=5), run_dir=run_dir)


def test_pending_then_done_without_resubmission(fake_service, ledger_path, tmp_path):
    run_dir = tmp_path / "net" / "r1"
    fake_service.hold = True  # jobs stay QUEUED
    res = _analyse(fake_service, ledger_path, run_dir)
    data = res.data
    assert data["execution_status"] == "pending" and res.flags["network_execution"] == "pending"
    assert not res.flags["network_not_on_backend"]
    rows = JobLedger(ledger_path).for_run(run_dir)
    assert sorted(r.pub for r in rows) == [2000, 2001]  # clear of the main job (0), shadows (1-2), rounds (1000+)
    assert all(r.job_id and r.status == "QUEUED" and r.pub_shape == [1, 0] for r in rows)
    assert {j["job_id"] for j in data["jobs"]} == {r.job_id for r in rows}
    assert all(e["estimate"] is None for e in data["strategies"].values())
    line = next(s for s in res.summary if "not finished" in s)
    assert f"qlearn-sense fetch {run_dir}" in line and all(r.job_id in line for r in rows)
    assert nb.network_pending({"network": data}) and fake_service.submit_calls == 2

    fake_service.hold = False  # the jobs finish; fetching again finds them in the ledger
    res = _analyse(fake_service, ledger_path, run_dir)
    assert fake_service.submit_calls == 2  # nothing submitted again
    data = res.data
    assert data["execution_status"] == "done" and "network_execution" not in res.flags
    assert data["likelihood_model"] == nb.DEVICE_MODEL
    for name, entry in data["strategies"].items():
        assert entry["counts"].sum() == SHOTS and entry["isa"]["isa_hash"]
        # the counts are the bare circuit's up to the device's noise (readout, one CNOT): a few percent
        assert entry["goodness_of_fit"]["tvd"] < 0.08, (name, entry["goodness_of_fit"])
        assert np.all(np.isfinite(entry["estimate"]["theta"]))
    assert all(r.status == "DONE" and r.fetched_at for r in JobLedger(ledger_path).for_run(run_dir))

    res = _analyse(fake_service, ledger_path, run_dir)  # a third fetch: same jobs, same counts
    assert fake_service.submit_calls == 2
    assert np.array_equal(res.data["strategies"]["classical"]["counts"], data["strategies"]["classical"]["counts"])


def test_failed_job_is_reported_not_resubmitted(fake_service, ledger_path, tmp_path):
    run_dir = tmp_path / "net" / "r2"
    fake_service.error_next = "Error 8041: the device went down"  # the first network PUB (classical) fails
    res = _analyse(fake_service, ledger_path, run_dir)
    assert res.data["execution_status"] == "error"
    jobs = {j["strategy"]: j for j in res.data["jobs"]}
    assert jobs["classical"]["status"] == "ERROR" and jobs["distributed"]["status"] == "DONE"
    assert res.data["strategies"]["classical"]["estimate"] is None
    assert res.data["strategies"]["distributed"]["estimate"] is not None
    assert any("8041" in w and "not submitted again" in w for w in res.warnings)
    res = _analyse(fake_service, ledger_path, run_dir)
    assert fake_service.submit_calls == 2 and res.data["execution_status"] == "error"


def test_unknown_submission_is_not_resubmitted(fake_service, ledger_path, tmp_path):
    run_dir = tmp_path / "net" / "r3"
    fake_service.interrupt_after_submit = True  # accepted by the service, id never seen by the client
    with pytest.raises(KeyboardInterrupt):
        _analyse(fake_service, ledger_path, run_dir)
    fake_service.hold = True
    fake_service.fail_lookups = 99  # the tag lookup fails: the PUB's fate is unknown
    res = _analyse(fake_service, ledger_path, run_dir)
    assert fake_service.submit_calls == 1  # lookups fail: nothing may be sent, neither PUB
    assert {j["status"] for j in res.data["jobs"]} == {"UNKNOWN"} and res.data["execution_status"] == "pending"
    assert any("qlearn-sense jobs" in w for w in res.warnings)
    fake_service.fail_lookups = 0
    fake_service.hold = False
    res = _analyse(fake_service, ledger_path, run_dir)  # the tag lookup now finds the job: adopted
    assert fake_service.submit_calls == 2 and res.data["execution_status"] == "done"


def test_without_run_folder_nothing_is_submitted(fake_service, ledger_path):
    be = IBMRuntimeBackend("ibm_fez", service=fake_service, retry=FAST_RETRY, ledger=JobLedger(ledger_path))
    res = analyse_network(AnalysisContext(config=CFG, backend=be, seed=5))
    assert res.data["execution_status"] == "not_submitted" and res.flags["network_not_on_backend"]
    assert fake_service.submit_calls == 0 and any("no run folder" in w for w in res.warnings)


def test_network_too_wide_for_the_device_records_nothing(fake_service, ledger_path, tmp_path):
    from qlearn_sense.backends import BackendError
    from qlearn_sense.network import Network, Node

    net = Network(nodes=tuple(Node(n, (i, 0, 0), 2, 1.0) for i, n in enumerate("abc")))
    c = net.circuit("classical")
    be = IBMRuntimeBackend("ibm_fez", service=fake_service, retry=FAST_RETRY, ledger=JobLedger(ledger_path))
    with pytest.raises(BackendError, match=r"'ibm:ibm_fez' has 5 qubits; circuit 'network_classical' needs 6"):
        nb.run_network_async(be, {"classical": (c, np.zeros(c.n_params))}, np.zeros(3), 100, 1,
                             run_dir=tmp_path / "r", config_name="n", config_hash=None)
    assert JobLedger(ledger_path).for_run(tmp_path / "r") == [] and fake_service.submit_calls == 0
