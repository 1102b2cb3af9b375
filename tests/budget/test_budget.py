"""Shot-budget sweeps: config and grid, resumable Dask execution, metrics against closed forms."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from qlearn_sense.backends import BackendError, LocalBackend, exact_probs, register_backend
from qlearn_sense.budget import (
    COLUMNS as BUDGET_COLUMNS,
    TIMING_COLUMNS as BUDGET_TIMING_COLUMNS,
    BudgetError,
    budget_config_from_dict,
    budget_config_to_yaml,
    derive_budget,
    expand_grid,
    load_budget_config,
    load_budget_table,
    run_budget,
)
from qlearn_sense.budget._config import derive_seed
from qlearn_sense.budget._design import (
    build_design,
    design_specs,
    exact_or_saddlepoint,
    observable_set,
    pauli_expectations,
)
from qlearn_sense.budget._points import _measurement_params, qwc_groups
from qlearn_sense.budget._report import crossing
from qlearn_sense.budget._store import DesignStore
from qlearn_sense.config import ConfigError
from qlearn_sense.experiments import DesignError
from qlearn_sense.fisher import ghz_dephased, sql

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = {"processes": False, "n_workers": 1, "threads_per_worker": 2}

BASE = {
    "name": "budget_test_base", "seed": 1,
    "sensor": {"kind": "nv_center", "eta": 0.9, "interrogation_time_s": 1.0e-6},
    "signal": {"kind": "constant", "field_T": 1.0e-6},
    "protocol": {"n_qubits": 2, "preparation": {"ansatz": "hea", "layers": 1}, "measurement": {"ansatz": "local"}},
    "optimizer": {"steps": 20, "restarts": 1, "learning_rate": 0.1},
}

# the reference sweep: one design (ramsey, n = 2) serves all three tasks
REFERENCE = {
    "name": "budget_test", "seed": 11, "base": BASE,
    "tasks": ["estimation", "detection", "observables"],
    "detection": {"alt_field_T": 3.0e-7, "alpha": 0.05, "beta": 0.05},
    "grid": {"shots": [100, 10_000, 100_000], "protocols": ["ramsey", "shadows", "direct"], "seeds": [0, 1]},
    "repetitions": 100,
    "targets": {"relative_precision": 0.05, "observable_error": 0.05},
}


def _cfg(**changes) -> dict:
    data = yaml.safe_load(yaml.safe_dump(REFERENCE))
    for dotted, value in changes.items():
        node = data
        *path, last = dotted.split(".")
        for p in path:
            node = node[p]
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return data


def _metrics(table: pd.DataFrame) -> pd.DataFrame:
    return table.drop(columns=list(BUDGET_TIMING_COLUMNS)).reset_index(drop=True)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted sweep on an in-process Dask cluster."""
    folder = tmp_path_factory.mktemp("budget")
    path = folder / "budget.yaml"
    path.write_text(yaml.safe_dump(REFERENCE))
    outcome = run_budget(path, out_root=folder / "exp", run_id="reference", **CLUSTER)
    return path, outcome


# ---------------------------------------------------------------- config and grid


def test_grid_expansion_is_exact():
    data = _cfg(**{"grid.protocols": ["ramsey", "ghz", "optimized_cfi", "shadows", "direct"],
                   "grid.n_qubits": [2, 3], "grid.noise": {"eta": [0.9, 0.8]},
                   "grid.shots": {"min": 10, "max": 10_000, "num": 4}, "grid.seeds": [0, 1, 2]})
    cfg = budget_config_from_dict(data)
    points = expand_grid(cfg)
    shots = [10, 100, 1000, 10_000]
    expected = set()
    for task in ("estimation", "detection"):
        expected |= set(itertools.product([task], ["ramsey", "ghz", "optimized_cfi"], [2, 3], ["eta=0.9", "eta=0.8"],
                                          ["local"], shots, [0, 1, 2]))
    expected |= set(itertools.product(["observables"], ["shadows", "direct"], [2, 3], ["eta=0.9", "eta=0.8"],
                                      ["local"], shots, [0, 1, 2]))
    got = [(p.task, p.protocol, p.n_qubits, p.noise, p.backend, p.shots, p.seed) for p in points]
    assert len(points) == (3 * 2 + 2) * 2 * 2 * 4 * 3 == len(expected)
    assert set(got) == expected and len(set(got)) == len(got)
    assert [p.index for p in points] == list(range(len(points)))
    assert len({p.key for p in points}) == len(points)
    assert len({p.point_seed for p in points}) == len(points)
    # designs: 3 state protocols x 2 sizes x 2 noise levels; observables reuse the ramsey designs
    assert len(design_specs(cfg)) == 12
    assert {p.design_key for p in points if p.task == "observables"} <= set(design_specs(cfg))


def test_point_seeds_depend_only_on_sweep_seed_and_key():
    cfg = budget_config_from_dict(REFERENCE)
    wider = budget_config_from_dict(_cfg(**{"grid.shots": [10, 100, 10_000, 100_000], "grid.seeds": [1, 0, 5]}))
    seeds = {p.key: p.point_seed for p in expand_grid(cfg)}
    for p in expand_grid(wider):
        if p.key in seeds:
            assert p.point_seed == seeds[p.key]
    assert derive_seed(11, "k") == derive_seed(11, "k") != derive_seed(12, "k")


def test_shots_range_is_log_spaced_and_exact():
    cfg = budget_config_from_dict(_cfg(**{"grid.shots": {"min": 10, "max": "1e6", "num": 6}}))
    assert cfg.grid.shot_values == [10, 100, 1000, 10_000, 100_000, 1_000_000]
    with pytest.raises(ConfigError, match="grid.shots"):
        budget_config_from_dict(_cfg(**{"grid.shots": {"min": 1, "max": 3, "num": 10}}))


@pytest.mark.parametrize("changes, field", [
    ({"grid.colour": 1}, "grid.colour"),
    ({"grid.protocols": ["ramsey", "heisenberg"]}, "protocols: 'heisenberg' is unknown"),
    ({"grid.protocols": ["ramsey", "ghz", "shadows"], "tasks": ["observables"]}, "'ramsey' is not used"),
    ({"tasks": ["observables", "estimation"], "grid.protocols": ["shadows"]}, "'estimation' has no protocol"),
    ({"detection": None}, "detection section"),
    ({"grid.noise": {"eta": [0.9], "t2_star_s": [1e-6]}}, "grid.noise"),
    ({"grid.backends": ["ibm:ibm_fez"]}, "not on IBM hardware"),
    ({"grid.backends": ["warp"]}, "'warp' is unknown"),
    ({"grid.seeds": [0, 0]}, "distinct"),
    ({"repetitions": 1}, "repetitions"),
    ({"base.sensor.interrogation_time_s": -1.0}, "base.sensor.interrogation_time_s"),
    ({"observables": {"state": "shadows"}}, "observables"),
])
def test_invalid_configs_name_the_field(changes, field):
    with pytest.raises(ConfigError) as info:
        budget_config_from_dict(_cfg(**changes), "t.yaml")
    assert field in str(info.value)


def test_base_path_and_missing_files(tmp_path):
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(BASE))
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump(_cfg(base="base.yaml")))
    assert load_budget_config(tmp_path / "sweep.yaml") == budget_config_from_dict(REFERENCE)
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(_cfg(base="nope.yaml")))
    with pytest.raises(ConfigError, match="nope.yaml"):
        load_budget_config(tmp_path / "bad.yaml")
    with pytest.raises(ConfigError, match="file not found"):
        load_budget_config(tmp_path / "absent.yaml")
    (tmp_path / "broken.yaml").write_text("grid: [")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_budget_config(tmp_path / "broken.yaml")
    with pytest.raises(ConfigError, match="mapping"):
        budget_config_from_dict([1, 2])


def test_config_round_trip(tmp_path):
    cfg = budget_config_from_dict(REFERENCE)
    (tmp_path / "b.yaml").write_text(budget_config_to_yaml(cfg))
    assert load_budget_config(tmp_path / "b.yaml") == cfg


@pytest.mark.parametrize("name, n_points", [("budget_nv.yaml", 720), ("budget_cluster.yaml", 27_300)])
def test_shipped_configs_load_and_round_trip(name, n_points, tmp_path):
    cfg = load_budget_config(ROOT / "configs" / name)
    assert len(expand_grid(cfg)) == n_points
    (tmp_path / name).write_text(budget_config_to_yaml(cfg))
    assert load_budget_config(tmp_path / name) == cfg


def test_crossing_interpolates_power_laws_and_exponentials():
    m = np.array([10.0, 100.0, 1000.0])
    assert crossing(m, 1.0 / m, 1 / 300) == pytest.approx(300)
    assert crossing(m, 1.0 / m, 0.5) == 10 and np.isnan(crossing(m, 1.0 / m, 1e-4))
    assert crossing(m, np.exp(-m / 100), np.exp(-5.5), exponential=True) == pytest.approx(550)


def test_exact_or_saddlepoint_falls_back_and_reraises():
    from qlearn_sense.hyptest import neyman_pearson_test, shots_to_decide

    p0, p1 = np.array([0.5, 0.2, 0.2, 0.1]), np.array([0.48, 0.21, 0.21, 0.10])
    assert not exact_or_saddlepoint(neyman_pearson_test, p0, p1, 0.05, 10).approximate
    assert exact_or_saddlepoint(neyman_pearson_test, p0, p1, 0.05, 100_000).approximate
    with pytest.raises(ValueError):
        exact_or_saddlepoint(shots_to_decide, p0, p0, 0.05, 0.05)


def test_qwc_groups_cover_each_observable_once():
    for name, n in (("biomarker", 3), ("pauli_weight2", 3)):
        obs = observable_set(name, n)
        groups = qwc_groups(obs.paulis)
        members = sorted(m for _, ms in groups for m in ms)
        assert members == list(range(len(obs)))
        for recipe, ms in groups:
            for m in ms:
                row = obs.paulis[m]
                assert np.all((row == 0) | (row - 1 == recipe))
    assert len(qwc_groups(observable_set("biomarker", 4).paulis)) == 3


# ---------------------------------------------------------------- designs


def test_designs_reach_closed_forms():
    data = _cfg(**{"grid.protocols": ["ghz", "optimized_qfi", "optimized_cfi"], "tasks": ["estimation"],
                   "grid.shots": [100], "base.optimizer.steps": 60})
    specs = design_specs(budget_config_from_dict(data))
    entries = {k.split("/")[0]: build_design(s) for k, s in specs.items()}
    eta = 0.9
    assert entries["ghz"].qfi == pytest.approx(ghz_dephased(2, eta), rel=1e-9)
    assert entries["ghz"].cfi == pytest.approx(ghz_dephased(2, eta), rel=1e-2)
    for e in entries.values():
        assert 0 < e.cfi <= e.qfi * (1 + 1e-9)
        assert e.sql == pytest.approx(sql(2, eta))
        assert e.params.shape == (e.protocol.n_params,)
    # with eta^2 >= 2/3 the optimal two-qubit state is GHZ-like: the QFI-optimized state gets close
    assert entries["optimized_qfi"].qfi > 0.95 * ghz_dephased(2, eta)
    assert entries["optimized_cfi"].cfi > 0.95 * ghz_dephased(2, eta)


def test_observable_measurement_matches_exact_expectations(reference):
    """Local-basis readout parameters reproduce tr(P rho) (bit order and basis-change conventions)."""
    _, outcome = reference
    entry = DesignStore(outcome.run_dir).load("ramsey/n=2/base")
    obs = observable_set("pauli_weight2", 2)
    truth = pauli_expectations(np.asarray(_rho(entry)), obs)
    for recipe, members in qwc_groups(obs.paulis):
        probs = exact_probs(entry.obs_protocol, _measurement_params(entry, recipe[None, :]), entry.phase_rad)[0]
        bits = (np.arange(4)[:, None] >> np.arange(2)) & 1
        for m in members:
            sign = np.where((bits @ (obs.paulis[m] != 0)) % 2 == 1, -1.0, 1.0)
            assert probs @ sign == pytest.approx(truth[m], abs=1e-12)
    # the Ramsey state: <X_j> = eta cos(phi), <Y_j> = eta sin(phi) in the rotating frame convention
    x = pauli_expectations(np.asarray(_rho(entry)), observable_set("biomarker", 2))
    assert np.hypot(x[0], x[1]) == pytest.approx(0.9, rel=1e-9)


def _rho(entry):
    from qlearn_sense.protocol import compile_jax

    theta = np.concatenate([entry.params[:entry.protocol.n_prep_params], np.zeros(2 * entry.protocol.n_qubits)])
    return compile_jax(entry.obs_protocol).density_matrix(theta, entry.phase_rad)


# ---------------------------------------------------------------- the sweep


def test_reference_sweep_is_complete_and_tidy(reference):
    path, outcome = reference
    cfg = load_budget_config(path)
    assert outcome.complete and outcome.n_new == outcome.n_points == len(expand_grid(cfg)) == 24
    table = outcome.table
    assert list(table.columns) == [c for c, _ in BUDGET_COLUMNS]
    assert (table["status"] == "ok").all(), table.loc[table["status"] != "ok", "error"].tolist()
    assert table["point_index"].tolist() == list(range(24)) and table["key"].is_unique
    for name in ("table.parquet", "derived.csv", "summary.md", "manifest.json", "status.json",
                 "plots/mse_vs_shots.png", "plots/shots_to_target_vs_n.png",
                 "plots/observables_error_vs_shots.png", "plots/detection_error_vs_shots.png"):
        assert (outcome.run_dir / name).is_file(), name
    pd.testing.assert_frame_equal(pd.read_parquet(outcome.run_dir / "table.parquet"), table)
    pd.testing.assert_frame_equal(load_budget_table(outcome.run_dir), table)
    derived = derive_budget(table, cfg)
    assert len(derived) == 4 and (derived["points_ok"] == 6).all()
    assert "Shots to target" in (outcome.run_dir / "summary.md").read_text()


def test_mse_approaches_crb_for_ramsey_mle(reference):
    """At large budgets the MLE attains 1/(m F): pooled MSE/CRB within 4 standard errors of 1."""
    table = reference[1].table
    est = table[(table["task"] == "estimation") & (table["shots"] >= 10_000)]
    reps = int(est["repetitions"].sum())
    ratio = float((est["mse_over_crb"] * est["repetitions"]).sum() / reps)
    assert abs(ratio - 1) < 4 * np.sqrt(2 / reps), ratio
    assert ((est["mse_ci_low_T2"] < est["crb_T2"]) & (est["crb_T2"] < est["mse_ci_high_T2"])).all()
    assert (est["cfi"] <= est["qfi"] * (1 + 1e-9)).all() and (est["crb_sql_T2"] >= est["crb_qfi_T2"] * 0.999).all()


def test_observable_error_falls_as_one_over_sqrt_shots(reference):
    table = reference[1].table
    for proto in ("shadows", "direct"):
        g = table[(table["task"] == "observables") & (table["protocol"] == proto)].groupby("shots")["max_error"].mean()
        slope = np.polyfit(np.log(g.index.values), np.log(g.values), 1)[0]
        assert -0.65 < slope < -0.35, (proto, slope)


def test_detection_achieved_rates_match_exact_rates(reference):
    table = reference[1].table
    det = table[table["task"] == "detection"]
    reps = int(det["repetitions"].sum())
    for achieved, exact in (("alpha_achieved", "alpha_exact"), ("beta_achieved", "beta_exact")):
        p = float((det[exact] * det["repetitions"]).sum() / reps)
        p_hat = float((det[achieved] * det["repetitions"]).sum() / reps)
        assert abs(p_hat - p) < 4 * np.sqrt(max(p * (1 - p), 1e-3) / reps)
    assert np.allclose(det["alpha_exact"], 0.05, atol=1e-9) or det["np_approximate"].any()


def test_killed_sweep_resumes_to_the_uninterrupted_table(reference, tmp_path):
    """SIGKILL the CLI mid-sweep, resume from the folder: identical table, no point lost but those in flight."""
    path, ref = reference
    run_dir = tmp_path / "exp" / "budget_test" / "killed"
    cmd = [sys.executable, "-m", "qlearn_sense", "budget", str(path), "--in-process", "--workers", "1",
           "--out", str(tmp_path / "exp"), "--run-id", "killed"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list((run_dir / "points").glob("*.parquet"))) >= 4:
            break
        time.sleep(0.02)
    assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = load_budget_table(run_dir)
    assert 4 <= len(partial) < ref.n_points
    outcome = run_budget(resume=run_dir, **CLUSTER)
    assert outcome.complete and outcome.n_skipped == len(partial) and outcome.n_new == ref.n_points - len(partial)
    pd.testing.assert_frame_equal(_metrics(outcome.table), _metrics(ref.table), check_exact=False, rtol=1e-9)


class _FlakyBackend(LocalBackend):
    name = "flaky"

    def run(self, protocol, params, phis, shots, *, seed, memory=False):
        if shots > 500:
            raise BackendError("injected failure")
        return super().run(protocol, params, phis, shots, seed=seed, memory=memory)


def test_failing_point_is_recorded_and_the_rest_finish(tmp_path, monkeypatch):
    from qlearn_sense.backends import _registry

    # registered for this test only: the registry is global (tests/backends checks its exact contents)
    monkeypatch.setattr(_registry, "_FACTORIES", dict(_registry._FACTORIES))
    monkeypatch.setattr(_registry, "_DESCRIPTIONS", dict(_registry._DESCRIPTIONS))
    register_backend("flaky", lambda arg: _FlakyBackend(), "'flaky' (test backend failing above 500 shots)")
    data = _cfg(**{"tasks": ["estimation"], "grid.protocols": ["ramsey"], "grid.shots": [100, 1000],
                   "grid.seeds": [0], "grid.backends": ["local", "flaky"], "repetitions": 5})
    cfg = budget_config_from_dict(data)
    first = run_budget(cfg, out_root=tmp_path, run_id="r", max_points=2, **CLUSTER)
    assert not first.complete and first.n_new == 2 and len(first.table) == 2
    assert not (first.run_dir / "summary.md").exists()
    done = run_budget(resume=first.run_dir, **CLUSTER)
    assert done.complete and done.n_skipped == 2 and done.n_errors == 1
    bad = done.table[done.table["status"] == "error"]
    assert bad["key"].tolist() == ["estimation/ramsey/n=2/base/flaky/shots=1000/seed=0"]
    assert "injected failure" in bad["error"].iloc[0]
    assert (done.table.loc[done.table["status"] == "ok", "mse_T2"] > 0).all()
    assert "injected failure" in (done.run_dir / "summary.md").read_text()


def test_failing_design_is_recorded_in_its_points(tmp_path):
    data = _cfg(**{"tasks": ["estimation"], "grid.protocols": ["ramsey"], "grid.shots": [100, 1000],
                   "grid.seeds": [0], "repetitions": 5, "base.sensor.sequence": "hahn_echo"})
    cfg = budget_config_from_dict(data)
    with pytest.raises(DesignError, match="cancels"):
        build_design(design_specs(cfg)["ramsey/n=2/base"])
    outcome = run_budget(cfg, out_root=tmp_path, **CLUSTER)
    assert outcome.complete and outcome.n_errors == 2
    assert outcome.table["error"].str.startswith("design ramsey/n=2/base failed: DesignError").all()
    assert not list((outcome.run_dir / "designs").glob("*.pkl"))  # not cached: a resume retries it


def test_run_folder_errors(reference, tmp_path):
    path, ref = reference
    with pytest.raises(BudgetError, match="give a budget config"):
        run_budget()
    with pytest.raises(ConfigError, match="file not found"):
        run_budget(tmp_path / "absent.yaml", out_root=tmp_path)
    with pytest.raises(BudgetError, match="exists"):
        run_budget(path, out_root=ref.run_dir.parents[1], run_id="reference")
    with pytest.raises(BudgetError, match="not a budget run folder"):
        run_budget(resume=tmp_path)
    with pytest.raises(BudgetError, match="different config"):
        run_budget(budget_config_from_dict(_cfg(seed=12)), resume=ref.run_dir)
    with pytest.raises(BudgetError, match="not a budget run folder"):
        load_budget_table(tmp_path)
    again = run_budget(path, resume=ref.run_dir, report=False)  # same config, nothing left to do
    assert again.complete and again.n_new == 0 and again.n_skipped == ref.n_points


def test_designs_from_a_device_calibration(tmp_path):
    """base.sensor.from_backend: each design's noise is the calibration of its first n listed qubits."""
    from qlearn_sense.backends import calibrated_noise

    data = _cfg(**{"tasks": ["estimation"], "grid.protocols": ["ramsey"], "grid.shots": [1000], "grid.seeds": [0],
                   "grid.n_qubits": [2, 3], "repetitions": 5, "base.protocol.n_qubits": 3,
                   "base.sensor": {"kind": "qubit", "gyromagnetic_ratio_Hz_per_T": 28.024e9, "from_backend": "fake_fez",
                                   "qubits": [3, 4, 5], "interrogation_time_s": 1.0e-5}})
    cfg = budget_config_from_dict(data)
    specs = design_specs(cfg)
    for n in (2, 3):
        entry = build_design(specs[f"ramsey/n={n}/base"])
        want = calibrated_noise("fake_fez", [3, 4, 5][:n], 1.0e-5)
        assert entry.protocol.noise == want
    outcome = run_budget(cfg, out_root=tmp_path, **CLUSTER)
    assert outcome.complete and outcome.n_errors == 0
    assert len(set(outcome.table["eta"].round(12))) == 2  # the mean coherence differs between 2 and 3 qubits
