"""Adaptive rounds on the IBM path (service double): one PUB per round in the ledger, resume without resubmitting."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qlearn_sense.adaptive import particle_guess_policy, protocol_outcome_probs, ramsey_readout_params
from qlearn_sense.backends import BackendError, JobLedger, get_backend
from qlearn_sense.experiments._adaptive_run import run_adaptive_rounds
from qlearn_sense.protocol import build_protocol, compile_jax

GAMMA = 28.024e9


def _kwargs(run_dir, n_rounds, run_id="adaptive-rounds"):
    prot = build_protocol(1, "ramsey", "local")
    return dict(protocol=prot,
                likelihood=protocol_outcome_probs(compile_jax(prot).probs, GAMMA, ramsey_readout_params(1)),
                policy=particle_guess_policy(GAMMA, 1e-5), theta_of_phase=ramsey_readout_params(1),
                gyromagnetic_ratio_Hz_per_T=GAMMA, true_field_T=3e-5, lower=[0.0], upper=[1e-4], n_particles=200,
                n_rounds=n_rounds, settings_per_round=2, shots=40, seed=3, run_dir=run_dir, run_id=run_id,
                config_name="adaptive_rounds", sleep=lambda s: None)


def test_rounds_recorded_and_resumed_without_resubmitting(fake_service, ledger_path, tmp_path):
    backend = get_backend("ibm:ibm_fez")
    run_dir = tmp_path / "run"
    first = run_adaptive_rounds(backend, **_kwargs(run_dir, 1))
    assert first.complete and fake_service.submit_calls == 1
    fake_service.interrupt_after_submit = True  # Ctrl-C after the service accepted round 1, before its id is known
    with pytest.raises(KeyboardInterrupt):
        run_adaptive_rounds(backend, **_kwargs(run_dir, 3))
    assert fake_service.submit_calls == 2  # round 0 was replayed from the ledger, not resubmitted
    resumed = run_adaptive_rounds(get_backend("ibm:ibm_fez"), **_kwargs(run_dir, 3))
    assert resumed.complete and fake_service.submit_calls == 3  # round 1 recovered from its tag, round 2 new
    rows = JobLedger(ledger_path).for_run(run_dir)
    assert sorted(r.pub for r in rows) == [1000, 1001, 1002]  # ADAPTIVE_PUB_OFFSET + r
    assert all(r.status == "DONE" and r.job_id for r in rows)
    assert len({r.job_id for r in rows}) == 3 == len(fake_service.jobs_by_id)
    assert [r["job_id"] for r in resumed.rounds] == [r.job_id for r in sorted(rows, key=lambda r: r.pub)]
    # settings of round r come from the posterior after round r - 1: same as an uninterrupted run
    again = run_adaptive_rounds(get_backend("ibm:ibm_fez"), **_kwargs(tmp_path / "other", 2, "uninterrupted"))
    assert [r["settings"] for r in again.rounds] == [r["settings"] for r in resumed.rounds[:2]]
    assert again.rounds[-1]["mean_T"] == pytest.approx(resumed.rounds[1]["mean_T"], rel=1e-12)
    assert all(sum(map(sum, r["counts"])) == 80 for r in resumed.rounds)


def test_rounds_pending_round_returns_incomplete(fake_service, ledger_path, tmp_path):
    fake_service.hold = True
    res = run_adaptive_rounds(get_backend("ibm:ibm_fez"), **{**_kwargs(tmp_path / "r", 1), "max_polls": 2})
    assert not res.complete and res.pending_round == 0 and res.rounds == []
    fake_service.hold = False
    res = run_adaptive_rounds(get_backend("ibm:ibm_fez"), **_kwargs(tmp_path / "r", 1))
    assert res.complete and fake_service.submit_calls == 1  # the pending job was polled again, not resubmitted


@pytest.mark.slow
def test_rounds_local_backend_learns_the_field():
    kw = _kwargs(None, 4)
    kw.update(run_dir=None, run_id=None, shots=10, settings_per_round=10, n_particles=1000)
    res = run_adaptive_rounds(get_backend("local"), **kw)
    assert res.complete and len(res.rounds) == 4
    last = res.rounds[-1]
    assert abs(last["mean_T"] - 3e-5) < 5 * last["sd_T"] and last["sd_T"] < 1e-6


def test_rounds_bad_input(fake_service):
    kw = _kwargs(None, 0)
    with pytest.raises(ValueError, match="n_rounds = 0"):
        run_adaptive_rounds(get_backend("local"), **kw)
    with pytest.raises(ValueError, match="run_dir and run_id"):
        run_adaptive_rounds(get_backend("ibm:ibm_fez"), **{**_kwargs(None, 1), "run_id": None})


def test_round_ending_in_error_raises_and_rerun_resubmits(fake_service, ledger_path, tmp_path):
    fake_service.error_next = "device calibration failed"
    with pytest.raises(BackendError, match="adaptive round 0 .* ERROR"):
        run_adaptive_rounds(get_backend("ibm:ibm_fez"), **_kwargs(tmp_path / "e", 1))
    res = run_adaptive_rounds(get_backend("ibm:ibm_fez"), **_kwargs(tmp_path / "e", 1))
    assert res.complete and fake_service.submit_calls == 2  # the ERROR round was submitted again
    assert [r.status for r in JobLedger(ledger_path).for_run(tmp_path / "e")].count("DONE") == 1
