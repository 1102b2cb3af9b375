"""The adaptive loop on IBM hardware in rounds, driven by the runner (QiskitRuntimeService double).

run_experiment(ibm:...) submits the main PUB; fetch_run finishes the main job
and the adaptive analysis drives the rounds as ledger PUBs 1000 + r. A round
left pending, or a Ctrl-C while a round is submitted, is resumed by the next
fetch without resubmitting any finished round; the main PUBs are untouched.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from qlearn_sense.backends import JobLedger
from qlearn_sense.config import ExperimentConfig
from qlearn_sense.experiments import fetch_run, resubmit_run, run_experiment
from qlearn_sense.experiments._adaptive_rounds import ADAPTIVE_PUB_OFFSET

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 3


def _config() -> ExperimentConfig:
    data = yaml.safe_load((ROOT / "configs" / "adaptive_ramsey.yaml").read_text())
    data["name"] = "adaptive_hw"
    data["optimizer"] = {"objective": "cfi", "steps": 3, "restarts": 1}
    data["execution"] = {"backend": "ibm:ibm_fez", "shots": 100, "repetitions": 2}
    data["adaptive"] = {"prior_max_T": 1e-6, "particles": 200, "trials": 6, "experiments": 8, "latency_calls": 10,
                        "rounds": ROUNDS, "settings_per_round": 2, "shots_per_setting": 50, "round_max_polls": 2,
                        "round_poll_interval_s": 0.0, "rpe_generations": 3}
    return ExperimentConfig(**data)


def _hold_rounds(fake_service, monkeypatch):
    """Jobs submitted after the main one stay QUEUED until released; returns the release function."""
    held = {"on": True}
    original = fake_service._on_submit

    def on_submit(executor, run):
        job = original(executor, run)
        if held["on"] and fake_service.submit_calls > 1:
            fake_service.jobs_by_id[job.job_id()].forced_status = "QUEUED"
        return job

    monkeypatch.setattr(fake_service, "_on_submit", on_submit)

    def release():
        held["on"] = False
        for job in fake_service.jobs_by_id.values():
            if job.forced_status == "QUEUED":
                job.forced_status = None

    return release


def test_rounds_through_runner_pending_interrupt_resume(fake_service, ledger_path, tmp_path, monkeypatch):
    out = run_experiment(_config(), backend="ibm:ibm_fez", out_root=tmp_path, run_id="hw", wait=False)
    run_dir = out.run_dir
    assert out.results["status"] == "submitted" and fake_service.submit_calls == 1
    (main,) = JobLedger(ledger_path).for_run(run_dir)
    assert main.pub == 0

    # fetch 1: the main job is done; round 0 is submitted but stays QUEUED -> pending, no failure
    release = _hold_rounds(fake_service, monkeypatch)
    res = fetch_run(run_dir).results
    hw = res["adaptive"]["hardware"]
    assert res["status"] == "done" and hw["complete"] is False and hw["pending_round"] == 0 and hw["rounds"] == []
    assert hw["pub_offset"] == ADAPTIVE_PUB_OFFSET and hw["error"] is None
    assert any(f"qlearn-sense fetch {run_dir}" in line and "again" in line for line in res["summary"]["adaptive"])
    assert not any("hardware rounds" in w for w in res.get("warnings", []))
    assert res["flags"]["adaptive_rounds_pending"] is True
    assert "local reference" in res["adaptive"]["error_curve_source"] and res["adaptive"]["error_curve"]
    assert fake_service.submit_calls == 2
    assert res["jobs"] == [{**res["jobs"][0], "pub": 0, "job_id": main.job_id}]  # rounds are not main jobs

    # fetch 2: round 0 finishes; Ctrl-C right after the service accepted round 1 (before its id is known)
    release()
    fake_service.interrupt_after_submit = True
    with pytest.raises(KeyboardInterrupt):
        fetch_run(run_dir)
    assert fake_service.submit_calls == 3  # round 0 was polled again, not resubmitted; round 1 accepted
    assert json.loads((run_dir / "results.json").read_text())["adaptive"]["hardware"]["complete"] is False

    # fetch 3: resumes (round 1 recovered from its tag), submits only round 2
    res = fetch_run(run_dir).results
    hw = res["adaptive"]["hardware"]
    assert hw["complete"] is True and hw["pending_round"] is None and len(hw["rounds"]) == ROUNDS
    assert fake_service.submit_calls == 1 + ROUNDS
    rows = JobLedger(ledger_path).for_run(run_dir)
    assert sorted(r.pub for r in rows) == [0] + [ADAPTIVE_PUB_OFFSET + r for r in range(ROUNDS)]
    assert all(r.status == "DONE" and r.job_id for r in rows) and len({r.job_id for r in rows}) == 1 + ROUNDS
    by_pub = {r.pub: r for r in rows}
    assert by_pub[0].job_id == main.job_id and by_pub[0].attempt == 1  # the main PUB untouched
    for rd in hw["rounds"]:
        assert rd["pub"] == ADAPTIVE_PUB_OFFSET + rd["round"] and rd["job_id"] == by_pub[rd["pub"]].job_id
        assert rd["status"] == "DONE" and len(rd["settings"]) == 2 and sum(map(sum, rd["counts"])) == 100
        assert all(0 < s[0] <= hw["coherence_cap_s"] for s in rd["settings"])
        assert rd["sd_T"] > 0
    assert res["flags"]["adaptive_rounds_pending"] is False
    assert {j["job_id"] for j in json.loads((run_dir / "jobs.json").read_text())} == {r.job_id for r in rows}

    # a finished run is left alone; resubmit concerns the main job only (which is done)
    before = (run_dir / "results.json").read_bytes()
    assert fetch_run(run_dir).results["adaptive"]["hardware"]["complete"] is True
    assert (run_dir / "results.json").read_bytes() == before
    with pytest.raises(ValueError, match="not submitted again"):
        resubmit_run(run_dir)
    assert fake_service.submit_calls == 1 + ROUNDS
