"""The adaptive config section (errors name the field), shipped configs, and analyse_adaptive end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from pydantic import ValidationError

from qlearn_sense.backends import get_backend
from qlearn_sense.config import ExperimentConfig
from qlearn_sense.config._adaptive import AdaptiveConfig
from qlearn_sense.experiments._adaptive_run import LATENCY_BUDGETS_US, analyse_adaptive
from qlearn_sense.experiments._analysis import AnalysisContext

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("adaptive_ramsey.yaml", "adaptive_ap_tracking.yaml")


class _Config(ExperimentConfig):
    """ExperimentConfig with the ``adaptive`` section, as the lead wires it into config/_models.py."""

    adaptive: AdaptiveConfig | None = None


@pytest.mark.parametrize("bad,field", [
    ({"particles": 0}, "particles"),
    ({"time_budget_s": -1.0}, "time_budget_s"),
    ({"prior_max_T": 5.0}, "prior_max_T"),
    ({"prior_min_T": -2.0}, "prior_min_T"),
    ({"prior_min_T": 2e-4}, "prior_max_T"),
    ({"policy": "magic"}, "policy"),
    ({"learn_t2": True}, "t2_prior_min_s"),
    ({"tracking": {"window_s": 1e-3, "update_interval_s": 2e-3}}, "update_interval_s"),
    ({"tracking": {"amplitude_max_T": 3.0}}, "amplitude_max_T"),
    ({"live": {"event_rate_Hz": 0}}, "event_rate_Hz"),
    ({"unknown_key": 1}, "unknown_key"),
])
def test_bad_adaptive_config_names_the_field(bad, field):
    with pytest.raises(ValidationError, match=field):
        AdaptiveConfig(**{"prior_max_T": 1e-4, **bad})


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_configs_validate(name):
    data = yaml.safe_load((ROOT / "configs" / name).read_text())
    cfg = _Config(**data)
    assert cfg.adaptive is not None and cfg.protocol.n_qubits == 1
    ExperimentConfig(**{k: v for k, v in data.items() if k != "adaptive"})  # the required sections on their own


def _config(**adaptive):
    data = yaml.safe_load((ROOT / "configs" / "adaptive_ramsey.yaml").read_text())
    data["adaptive"] = {"prior_max_T": 1e-4, "particles": 200, "trials": 40, "experiments": 25,
                        "latency_calls": 20, **adaptive}
    return _Config(**data)


def _run(config, seed=3):
    return analyse_adaptive(AnalysisContext(config=config, backend=get_backend("local"), seed=seed))


@pytest.mark.parametrize("policy", ["particle_guess", pytest.param("fixed", marks=pytest.mark.slow)])
def test_results_contract(policy, tmp_path):
    # fixed: t = 0.15 us keeps the fringe unambiguous across the prior (omega_max t ~ 2.6 rad)
    cfg = _config(policy=policy, **({"fixed_time_s": 1.5e-7} if policy == "fixed" else {}))
    res = _run(cfg)
    d = res.data
    assert res.key == "adaptive" and d["policy"] == policy
    for rec in d["error_curve"]:
        assert {"total_time_s", "rmse", "median_error", "failure_rate"} <= set(rec)
        assert 0.0 <= rec["failure_rate"] <= 1.0
    times = [r["total_time_s"] for r in d["error_curve"]]
    assert times == sorted(times) and d["error_curve"][-1]["rmse"] < d["error_curve"][0]["rmse"]
    assert isinstance(d["slope"]["value"], float) or d["slope"]["value"] is None
    assert len(d["slope"]["all_points_range_s"]) == 2
    assert d["latency_us"]["p50"] <= d["latency_us"]["p99"] and d["latency_us"]["budgets_us"] == LATENCY_BUDGETS_US
    assert d["latency_us"]["p50"] <= d["latency_us"]["cycle_p50"] <= d["latency_us"]["cycle_p99"]
    assert 0 < d["coherence_limit_s"] <= d["coherence_cap_s"] == pytest.approx(1e-5)
    assert d["rpe_reference"]["slope"] < -0.4  # K = 1..5 on this prior and cap
    for name, plot in res.plots.items():
        plot(tmp_path / name)
        assert (tmp_path / name).stat().st_size > 1000
    assert _run(cfg).data["error_curve"] == d["error_curve"]  # same config and seed, same numbers


def test_rpe_policy_and_time_budget():
    d = _run(_config(policy="rpe", rpe_generations=8, trials=400)).data
    # the T2*/2 = 10 us cap allows 5 generations on a 100 uT prior (base time 0.36 us)
    assert [r["generations"] for r in d["error_curve"]] == list(range(1, 6))
    assert d["coherence_limit_s"] <= d["coherence_cap_s"] < 2 * d["coherence_limit_s"]
    assert -1.2 < d["slope"]["value"] < -0.6  # Heisenberg scaling (SQL would be -0.5)
    budget = d["error_curve"][3]["total_time_s"] * 1.01
    d2 = _run(_config(policy="rpe", rpe_generations=8, trials=400, time_budget_s=budget)).data
    assert len(d2["error_curve"]) == 4


@pytest.mark.slow
def test_greedy_eig_and_nuisance_t2():
    d = _run(_config(policy="greedy_eig", candidate_times=8, learn_t2=True, t2_prior_min_s=5e-6,
                     t2_prior_max_s=5e-5, experiments=15, trials=10)).data
    assert d["error_curve"][-1]["rmse"] < d["error_curve"][0]["rmse"]


@pytest.mark.slow
def test_tracking_and_live(tmp_path):
    data = yaml.safe_load((ROOT / "configs" / "adaptive_ap_tracking.yaml").read_text())
    data["adaptive"].update(particles=400, trials=10, experiments=10, latency_calls=10,
                            live={"event_rate_Hz": 2.0, "events": 15})
    data["adaptive"]["tracking"].update(window_s=2e-3, events=1)  # the empty window: test_adaptive_rpe_tracking
    res = _run(_Config(**data))
    tr = res.data["tracking"]
    (ev,) = tr["events"]
    assert ev["event_present"] and ev["decision"] == "event"
    lo, hi = ev["amplitude_ci95_T"]
    assert lo <= 1e-9 <= hi
    live = res.data["live"]
    assert live["events"] == 15 and live["kept_up"] is True  # 2 Hz: half a second per shot
    # the dead time (shot, update, next setting) is part of the event's processing (+ resampling)
    assert 0 < live["dead_time_us"]["p50"] <= live["processing_us"]["p50"]
    res.plots["adaptive_tracked_waveform.png"](tmp_path / "w.png")
    assert (tmp_path / "w.png").stat().st_size > 1000


def test_missing_section_and_wrong_signal():
    with pytest.raises(ValueError, match="adaptive"):
        analyse_adaptive(AnalysisContext(config=_config().model_copy(update={"adaptive": None}),
                                         backend=get_backend("local"), seed=1))
    with pytest.raises(ValueError, match="action_potential"):
        _run(_config(tracking={"window_s": 1e-3, "update_interval_s": 1e-4}))
