"""Round-based hardware loop: config validation, PUB ranges, failed rounds, the analysis on an async backend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from pydantic import ValidationError

from qlearn_sense.adaptive import particle_guess_policy, protocol_outcome_probs, ramsey_readout_params
from qlearn_sense.backends import JobLedger, get_backend
from qlearn_sense.config import ExperimentConfig
from qlearn_sense.config._adaptive import AdaptiveConfig
from qlearn_sense.experiments._adaptive_rounds import ADAPTIVE_PUB_OFFSET, run_adaptive_rounds
from qlearn_sense.experiments._adaptive_run import analyse_adaptive, rounds_pending
from qlearn_sense.experiments._analysis import AnalysisContext
from qlearn_sense.experiments._hardware import MAIN_PUB_LIMIT, main_pubs
from qlearn_sense.protocol import build_protocol, compile_jax

GAMMA = 28.024e9
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("bad,field", [
    ({"rounds": 0}, "rounds"),
    ({"time_budget_s": -1.0}, "time_budget_s"),
    ({"settings_per_round": 0}, "settings_per_round"),
    ({"shots_per_setting": 0}, "shots_per_setting"),
    ({"round_max_polls": 0}, "round_max_polls"),
    ({"round_poll_interval_s": -1.0}, "round_poll_interval_s"),
    ({"policy": "evr2"}, "policy"),
])
def test_bad_round_config_names_the_field(bad, field):
    with pytest.raises(ValidationError, match=field):
        AdaptiveConfig(**{"prior_max_T": 1e-4, **bad})


def test_evr_policy_accepted():
    assert AdaptiveConfig(prior_max_T=1e-4, policy="evr").policy == "evr"


def _kwargs(run_dir, n_rounds, run_id="rounds"):
    prot = build_protocol(1, "ramsey", "local")
    return dict(protocol=prot,
                likelihood=protocol_outcome_probs(compile_jax(prot).probs, GAMMA, ramsey_readout_params(1)),
                policy=particle_guess_policy(GAMMA, 1e-5), theta_of_phase=ramsey_readout_params(1),
                gyromagnetic_ratio_Hz_per_T=GAMMA, true_field_T=3e-5, lower=[0.0], upper=[1e-4], n_particles=100,
                n_rounds=n_rounds, settings_per_round=2, shots=20, seed=3, run_dir=run_dir, run_id=run_id,
                config_name="rounds", sleep=lambda s: None)


def test_round_pub_offset_and_on_error_validated():
    with pytest.raises(ValueError, match="pub_offset = 999"):
        run_adaptive_rounds(get_backend("local"), **_kwargs(None, 1), pub_offset=999)
    with pytest.raises(ValueError, match="on_error = 'ignore'"):
        run_adaptive_rounds(get_backend("local"), **_kwargs(None, 1), on_error="ignore")


def test_failed_round_returned_then_resubmitted(fake_service, ledger_path, tmp_path):
    run_dir = tmp_path / "r"
    first = run_adaptive_rounds(get_backend("ibm:ibm_fez"), **_kwargs(run_dir, 1))
    fake_service.error_next = "device calibration failed"
    res = run_adaptive_rounds(get_backend("ibm:ibm_fez"), **_kwargs(run_dir, 2), on_error="return")
    assert not res.complete and res.pending_round == 1 and "PUB 1001" in res.error and "ERROR" in res.error
    assert [r["job_id"] for r in res.rounds] == [r["job_id"] for r in first.rounds]  # round 0 replayed
    assert fake_service.submit_calls == 2
    res = run_adaptive_rounds(get_backend("ibm:ibm_fez"), **_kwargs(run_dir, 2), pub_offset=ADAPTIVE_PUB_OFFSET)
    assert res.complete and res.error is None and fake_service.submit_calls == 3  # only the failed round again
    rows = JobLedger(ledger_path).for_run(run_dir)
    assert [(r.pub, r.attempt, r.status) for r in rows] == [(1000, 1, "DONE"), (1001, 1, "ERROR"), (1001, 2, "DONE")]


class _Rec:
    def __init__(self, pub):
        self.pub = pub


def test_main_pubs_exclude_rounds_and_network():
    recs = [_Rec(p) for p in (2, 0, 1000, 1001, 2000, 1, 0)]
    assert MAIN_PUB_LIMIT == ADAPTIVE_PUB_OFFSET == 1000
    assert main_pubs(recs) == [0, 1, 2]


def test_rounds_pending():
    assert rounds_pending({"adaptive": {"hardware": {"complete": False}}})
    assert not rounds_pending({"adaptive": {"hardware": {"complete": True}}})
    assert not rounds_pending({"adaptive": {"hardware": {"complete": False, "status": "not_run"}}})
    assert not rounds_pending({"adaptive": {"error_curve": []}}) and not rounds_pending({})


def _config(**adaptive) -> ExperimentConfig:
    data = yaml.safe_load((ROOT / "configs" / "adaptive_ramsey.yaml").read_text())
    data["adaptive"] = {"prior_max_T": 1e-6, "particles": 150, "trials": 6, "experiments": 8, "latency_calls": 10,
                        "rpe_generations": 3, "rounds": 1, "settings_per_round": 2, "shots_per_setting": 30,
                        "round_max_polls": 2, "round_poll_interval_s": 0.0, **adaptive}
    return ExperimentConfig(**data)


def test_analysis_on_async_backend_failed_round_and_missing_run_dir(fake_service, ledger_path, tmp_path):
    cfg = _config(policy="evr", candidate_times=4)
    ctx = AnalysisContext(config=cfg, backend=get_backend("ibm:ibm_fez"), seed=4)
    fake_service.error_next = "device calibration failed"
    res = analyse_adaptive(ctx, run_dir=tmp_path / "run")
    hw = res.data["hardware"]
    assert not hw["complete"] and hw["pending_round"] == 0 and "ERROR" in hw["error"]
    assert any("resubmit that round" in line for line in res.summary)
    assert any("hardware rounds" in w and "ERROR" in w for w in res.warnings)
    ev = res.data["evr"]
    assert ev["coherence_cap_s"] == res.data["coherence_cap_s"] >= ev["longest_candidate_s"] and ev["candidates"] == 8
    res = analyse_adaptive(ctx, run_dir=tmp_path / "run")  # the next fetch: the failed round is submitted again
    hw = res.data["hardware"]
    assert hw["complete"] and fake_service.submit_calls == 2 and hw["policy"] == "evr"
    (rd,) = hw["rounds"]
    assert rd["pub"] == 1000 and np.all(np.asarray(rd["settings"])[:, 0] <= hw["coherence_cap_s"])
    assert abs(hw["final"]["error_T"]) < 5 * hw["final"]["sd_T"] + 1e-15
    no_dir = analyse_adaptive(ctx)  # the context carries no run folder: the rounds are not run
    assert no_dir.data["hardware"]["status"] == "not_run" and fake_service.submit_calls == 2
