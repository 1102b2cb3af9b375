"""The budget command's network task: transduction efficiency and common-mode correlation sweeps."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qlearn_sense.budget import budget_config_from_dict, expand_grid, load_budget_config, run_budget
from qlearn_sense.budget._network import grid_crossovers, network_summary
from qlearn_sense.config import ConfigError

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = {"processes": False, "n_workers": 1, "threads_per_worker": 2}
KAPPA = 2 * math.pi * 28.024e9 * 1e-6  # NV phase per tesla per qubit in 1 us, rad/T

BASE = {
    "name": "budget_network_base", "seed": 1,
    "sensor": {"kind": "nv_center", "eta": 1.0, "interrogation_time_s": 1.0e-6},
    "signal": {"kind": "constant", "field_T": 1.0e-9}, "protocol": {"n_qubits": 2},
    "network": {
        "nodes": [{"name": "a", "position_m": [0, 0, 0], "qubits": 1},
                  {"name": "b", "position_m": [0.05, 0, 0], "qubits": 1}],
        "links": [{"nodes": ["a", "b"], "efficiency": 0.9}],
        "sources": [{"kind": "node_field", "name": "Ba", "node": "a", "value_T": 2e-6},
                    {"kind": "node_field", "name": "Bb", "node": "b", "value_T": 1e-6}],
        "estimand": {"named": "gradient"},
        "common_mode": {"std_T": 3e-6, "correlation": 0.5},   # 0.53 rad of common-mode phase per node
        "strategies": ["classical", "distributed"],
        "optimizer": {"layers": 1, "steps": 160, "restarts": 2, "learning_rate": 0.1},
        "shots": 10_000},
}
SWEEP = {"name": "budget_network_test", "seed": 5, "base": BASE, "tasks": ["network"],
         "grid": {"protocols": ["classical", "distributed"], "efficiency": [0.5, 1.0], "correlation": [0.0, 1.0]}}


def _with(**changes) -> dict:
    d = {**SWEEP, "grid": {**SWEEP["grid"]}}
    for k, v in changes.items():
        if k.startswith("grid."):
            d["grid"][k[5:]] = v
        else:
            d[k] = v
    return d


def test_network_grid_points_and_keys():
    cfg = budget_config_from_dict(SWEEP)
    pts = expand_grid(cfg)
    assert len(pts) == 2 * 2 * 2
    assert {p.task for p in pts} == {"network"} and len({p.key for p in pts}) == len(pts)
    assert pts[0].key == "network/classical/T=0.5/corr=0.0/seed=0"
    assert pts[0].efficiency == 0.5 and pts[0].correlation == 0.0 and pts[0].shots == 10_000
    base_links = budget_config_from_dict(_with(**{"grid.efficiency": None}))
    assert all(math.isnan(p.efficiency) for p in expand_grid(base_links))
    assert [p.correlation for p in expand_grid(budget_config_from_dict(_with(**{"grid.correlation": None})))][:1] \
        == [0.5]


@pytest.mark.parametrize("changes, field", [
    ({"grid.correlation": [0.0, 1.5]}, "grid.correlation"),
    ({"grid.correlation": [-1.2]}, "grid.correlation"),
    ({"grid.efficiency": [0.0, 0.5]}, "grid.efficiency"),
    ({"grid.efficiency": [0.5, 1.2]}, "grid.efficiency"),
    ({"grid.efficiency": [0.5, 0.5]}, "efficiency"),
    ({"grid.protocols": ["classical", "local"]}, "base.network.strategies"),
    ({"tasks": ["estimation", "network"], "grid.protocols": ["ramsey", "classical"]}, "grid.shots is required"),
    ({"tasks": ["estimation"], "grid.protocols": ["ramsey"], "grid.shots": [10]}, "add 'network' to tasks"),
])
def test_invalid_network_sweeps_name_the_field(changes, field):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.").replace("[", r"\[")):
        budget_config_from_dict(_with(**changes))


def test_efficiency_sweep_needs_links():
    net = {**BASE["network"], "links": [], "strategies": ["classical"]}
    with pytest.raises(ConfigError, match="base.network.links is empty"):
        budget_config_from_dict(_with(base={**BASE, "network": net}, **{"grid.protocols": ["classical"]}))


def test_network_task_needs_a_network_section():
    base = {k: v for k, v in BASE.items() if k != "network"}
    with pytest.raises(ConfigError, match="network section"):
        budget_config_from_dict(_with(base=base))


def test_shipped_network_budget_config_loads():
    cfg = load_budget_config(ROOT / "configs" / "budget_network.yaml")
    pts = expand_grid(cfg)
    assert len(pts) == 3 * 7 * 3 and cfg.base.network is not None


def test_network_sweep_runs_resumes_and_matches_closed_forms(tmp_path):
    small = _with(**{"grid.protocols": ["distributed"], "grid.correlation": [1.0]})  # 2 points, one compile
    first = run_budget(budget_config_from_dict(small), out_root=tmp_path, run_id="r", max_points=1, **CLUSTER)
    assert not first.complete and first.n_new == 1
    out = run_budget(resume=tmp_path / "budget_network_test" / "r", **CLUSTER)
    assert out.complete and out.n_skipped == 1 and out.n_errors == 0, out.table["error"].dropna().tolist()
    t = out.table.set_index("key")
    d = t.loc["network/distributed/T=1.0/corr=1.0/seed=0"]
    # (|01> + |10>)/sqrt 2 is immune to perfectly correlated noise: the Eldredge limit 1/max w^2 = 1 rad^-2;
    # 160 Adam steps from 2 random starts get within a few percent of it (never above)
    assert 0.95 * KAPPA**2 < d.precision_measured <= d.precision_quantum * (1 + 1e-9)
    assert d.precision_quantum <= KAPPA**2 * (1 + 1e-9)
    assert d.estimand_std == pytest.approx(1 / math.sqrt(10_000 * d.precision_measured))
    assert d.estimand_unit == "T" and d.efficiency == 1.0 and d.correlation == 1.0
    # the shared state loses through the damping link: lower precision at T = 0.5
    assert t.loc["network/distributed/T=0.5/corr=1.0/seed=0"].precision_measured < 0.9 * d.precision_measured
    run = out.run_dir
    for name in ("table.parquet", "network.csv", "summary.md", "plots/network_precision_vs_efficiency.png",
                 "plots/network_precision_vs_correlation.png"):
        assert (run / name).is_file(), name
    assert "## Network strategies" in (run / "summary.md").read_text()


@pytest.mark.slow
def test_full_network_sweep_compares_strategies(tmp_path):
    out = run_budget(budget_config_from_dict(SWEEP), out_root=tmp_path, run_id="r", **CLUSTER)
    assert out.complete and out.n_errors == 0, out.table["error"].dropna().tolist()
    t = out.table.set_index("key")
    d = t.loc["network/distributed/T=1.0/corr=1.0/seed=0"]
    # unentangled nodes stay below the product-state limit 1/sum w^2 = 0.5 rad^-2 (dephased by the common mode)
    c = t.loc["network/classical/T=1.0/corr=1.0/seed=0"]
    assert c.precision_measured < 0.5 * KAPPA**2 < d.precision_measured
    summary = pd.read_csv(out.run_dir / "network.csv")
    assert set(summary["protocol"]) == {"classical", "distributed"}
    g = summary[(summary.protocol == "distributed") & (summary.correlation == 1.0)]
    assert (g["gain_over_classical"] > 1).all()


def test_grid_crossover_interpolates_linearly():
    rows = [{"protocol": "classical", "efficiency": e, "correlation": 0.0, "precision_measured": 2.0}
            for e in (0.2, 0.6)]
    rows += [{"protocol": "distributed", "efficiency": e, "correlation": 0.0, "precision_measured": 4 * e}
             for e in (0.2, 0.6)]
    table = pd.DataFrame(rows).assign(task="network", status="ok", seed=0, precision_quantum=1.0,
                                      estimand_std=1.0, estimand_unit="T")
    s = network_summary(table)
    assert grid_crossovers(s)["crossover_efficiency_grid"].iloc[0] == pytest.approx(0.5)  # 4 T = 2
    np.testing.assert_allclose(s[s.protocol == "distributed"]["gain_over_classical"], [0.4, 1.2])
