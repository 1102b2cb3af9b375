"""Issue 10: every printed number is checked against its model; run folders never lose data."""

import json
import os
import stat
import threading
from pathlib import Path

import numpy as np
import pytest

from qlearn_sense.backends import BackendError, SampleResult, get_backend
from qlearn_sense.config import config_from_dict
from qlearn_sense.experiments import (
    AnalysisContext,
    GOF_P_WARN,
    RunDirError,
    Z_IMPLAUSIBLE,
    analyse,
    bound_applicability,
    cfi_check,
    fisher_summary,
    goodness_of_fit,
    load_results,
    new_run_id,
    optimize_design,
    prepare_design,
    register_analysis,
    run_experiment,
)
from qlearn_sense.experiments._analysis import _ANALYSES
from qlearn_sense.experiments._estimation_run import analyse_estimation, checks
from qlearn_sense.experiments._results import FILE_MODE, atomic_save_npy, atomic_write_text
from qlearn_sense.experiments._rundir import create_run_dir
from qlearn_sense.protocol import Noise

TINY = {
    "name": "trust", "seed": 3,
    "sensor": {"kind": "qubit", "gyromagnetic_ratio_Hz_per_T": 28e9, "t2_star_s": 1e-5,
               "interrogation_time_s": 1e-6, "readout_fidelity": 0.99},
    "signal": {"kind": "constant", "field_T": 1e-8},
    "protocol": {"n_qubits": 2, "preparation": {"ansatz": "hea", "layers": 1},
                 "measurement": {"ansatz": "local", "layers": 1}},
    "optimizer": {"objective": "cfi", "steps": 20, "restarts": 1},
    "execution": {"shots": 20000, "repetitions": 10},
}


def _cfg(**over):
    data = json.loads(json.dumps(TINY))
    for dotted, value in over.items():
        node = data
        *path, last = dotted.split(".")
        for p in path:
            node = node[p]
        node[last] = value
    return config_from_dict(data)


@pytest.fixture(scope="module")
def prepared_params():
    prepared = prepare_design(_cfg())
    return prepared, np.asarray(optimize_design(prepared).params)


def _sample(prepared, params, phi, shots=20000, reps=10, seed=0, probs=None):
    p = prepared.probs(params, [phi])[0] if probs is None else probs
    p = np.clip(p, 0, None) / np.clip(p, 0, None).sum()
    counts = np.random.default_rng(seed).multinomial(shots, p, size=reps)
    return SampleResult(counts=counts, shots=shots, n_qubits=prepared.protocol.n_qubits, backend="local")


def _ctx(prepared, params, sample):
    return AnalysisContext(config=prepared.config, backend=get_backend("local"), seed=0, design=prepared,
                           params=params, sample=sample)


# -- wrong answers become warnings and flags -------------------------------------------------------


def test_estimate_far_from_truth_is_flagged(prepared_params):
    """Wrong answer 1: counts taken at an aliased phase give an implausible z-score, flagged and not 'resolved'."""
    prepared, params = prepared_params
    far = prepared.phase_rad + 2.0  # outside the identifiable window of a 2-qubit local measurement
    res = analyse_estimation(_ctx(prepared, params, _sample(prepared, params, far)))
    assert res.flags.get("implausible_estimate") is True
    assert any("standard errors from the true field" in w for w in res.warnings)
    assert res.data["estimate"]["plausible"] is False
    assert res.data["honesty"]["resolved"] is False
    assert abs(res.data["estimate"]["z_score"]) > Z_IMPLAUSIBLE


def test_true_phase_outside_window_is_flagged(prepared_params):
    """A design whose true phase lies outside its unambiguous window is flagged even when z looks fine."""
    prepared, params = prepared_params
    data = analyse(prepared, params, _sample(prepared, params, prepared.phase_rad))
    data["cfi_check"] = cfi_check(prepared, params, _sample(prepared, params, prepared.phase_rad))
    data["estimate"]["true_phase_in_window"] = False
    warnings, flags = checks(data)
    assert flags["phase_outside_window"] is True and "outside the window" in warnings[0]


def test_good_data_raise_no_flag(prepared_params):
    prepared, params = prepared_params
    res = analyse_estimation(_ctx(prepared, params, _sample(prepared, params, prepared.phase_rad, seed=11)))
    assert res.flags == {} and res.warnings == []
    assert res.data["estimate"]["plausible"] is True
    assert res.data["cfi_check"]["gof"]["p_value"] > GOF_P_WARN
    assert res.data["crb"]["source"].startswith("model")


def test_counts_from_another_model_fail_the_goodness_of_fit(prepared_params):
    """Wrong answer 3: counts of a more strongly dephased device than the design's model are flagged."""
    prepared, params = prepared_params
    other = prepare_design(prepared.config, noise=Noise.uniform(2, eta=0.6, p01=0.05, p10=0.05))
    p_other = other.probs(params, [prepared.phase_rad])[0]
    res = analyse_estimation(_ctx(prepared, params, _sample(prepared, params, 0, probs=p_other)))
    assert res.flags.get("model_misfit") is True
    gof = res.data["cfi_check"]["gof"]
    assert gof["p_value"] < GOF_P_WARN and gof["tvd"] > 5 * gof["tvd_sampling"]
    assert any("model's, not the device's" in w for w in res.warnings)


def test_goodness_of_fit_is_calibrated_under_the_model():
    """Under the model, G-test p-values are ~uniform: about 5% fall below 0.05 (binomial 4-SE tolerance)."""
    rng = np.random.default_rng(7)
    p = np.array([0.5, 0.3, 0.15, 0.05])
    pvals = np.array([goodness_of_fit(rng.multinomial(2000, p), p)["p_value"] for _ in range(400)])
    frac = np.mean(pvals < 0.05)
    assert abs(frac - 0.05) < 4 * np.sqrt(0.05 * 0.95 / 400)
    # an outcome the model calls impossible cannot fit
    assert goodness_of_fit(np.array([10, 0, 0, 1]), np.array([0.5, 0.5, 0.0, 0.0]))["p_value"] == 0.0
    with pytest.raises(ValueError, match="shape"):
        goodness_of_fit(np.ones(3), np.ones(4) / 4)


def test_bounds_reported_only_where_their_assumptions_hold(prepared_params):
    """Wrong answer 4: non-uniform dephasing or T1 makes the dephasing bounds 'not applicable', with the reason."""
    prepared, params = prepared_params
    assert bound_applicability(Noise.uniform(3, eta=0.8)) is None
    reason = bound_applicability(Noise(eta=(0.9, 0.7)))
    assert "dephase differently" in reason
    assert "amplitude damping" in bound_applicability(Noise.uniform(2, eta=0.8, gamma=0.1))
    uneven = prepare_design(prepared.config, noise=Noise(eta=(0.95, 0.6), gamma=(0.05, 0.0)))
    f = fisher_summary(uneven, params)
    assert f["channel_extension_bound"] is None and f["asymptotic_bound"] is None
    assert "not applicable" in f["bounds_not_applicable"]["channel_extension_bound"]
    ok = fisher_summary(prepared, params)
    assert ok["channel_extension_bound"] is not None and ok["qfi"] <= ok["channel_extension_bound"] * (1 + 1e-9)


# -- backend capabilities checked before any work --------------------------------------------------


def test_backend_that_cannot_run_the_protocol_is_refused_before_work(tmp_path):
    """Wrong answer 6: a noisy protocol on a noiseless-only backend fails before optimization, writing nothing."""
    with pytest.raises(BackendError, match="default.qubit"):
        run_experiment(_cfg(), backend="pennylane:default.qubit", out_root=tmp_path)
    assert not (tmp_path / "trust").exists()


# -- run folders -----------------------------------------------------------------------------------


def test_run_ids_are_unique_and_folders_exclusive(tmp_path):
    cfg = _cfg()
    assert len({new_run_id(cfg) for _ in range(200)}) == 200
    made: list[Path] = []

    def make():
        made.append(create_run_dir(tmp_path, cfg))

    threads = [threading.Thread(target=make) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({p.name for p in made}) == 8 and all(p.is_dir() for p in made)


def test_existing_run_id_is_refused_unless_forced_and_never_lost(tmp_path):
    cfg = _cfg()
    first = create_run_dir(tmp_path, cfg, "same")
    atomic_write_text(first / "results.json", '{"status": "done"}\n')
    with pytest.raises(RunDirError, match="exists.*--force"):
        create_run_dir(tmp_path, cfg, "same")
    again = create_run_dir(tmp_path, cfg, "same", force=True)
    assert again == first and not (again / "results.json").exists()
    aside = [p for p in (tmp_path / "trust").iterdir() if p.name.startswith("same.replaced-")]
    assert len(aside) == 1 and (aside[0] / "results.json").read_text() == '{"status": "done"}\n'
    with pytest.raises(RunDirError, match="plain folder name"):
        create_run_dir(tmp_path, cfg, "../escape")


def test_out_that_is_a_file_or_read_only_is_refused_before_work(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(RunDirError, match="is a file"):
        run_experiment(_cfg(), out_root=afile)
    if os.geteuid() != 0:  # root writes anywhere
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        with pytest.raises(RunDirError, match="cannot write"):
            run_experiment(_cfg(), out_root=ro)


def test_atomic_writer_leaves_old_file_on_failure_and_one_mode(tmp_path, monkeypatch):
    target = tmp_path / "counts.npy"
    atomic_save_npy(target, np.arange(4))
    assert stat.S_IMODE(target.stat().st_mode) == FILE_MODE

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        atomic_save_npy(target, np.arange(1000))
    monkeypatch.undo()
    np.testing.assert_array_equal(np.load(target), np.arange(4))
    assert [p.name for p in tmp_path.iterdir()] == ["counts.npy"]  # no temporary file left


def test_failed_analysis_marks_the_run_failed_and_keeps_files(tmp_path):
    def broken(ctx):
        raise RuntimeError("analysis exploded")

    register_analysis("broken", broken, lambda config: True)
    try:
        with pytest.raises(RuntimeError, match="exploded"):
            run_experiment(_cfg(), out_root=tmp_path, run_id="bad")
    finally:
        del _ANALYSES["broken"]
    d = tmp_path / "trust" / "bad"
    res = load_results(d, require_complete=False)
    assert res["status"] == "failed" and res["failed_stage"] == "analyse" and "exploded" in res["error"]
    assert (d / "state.json").is_file() and (d / "counts.npy").is_file()
    modes = {stat.S_IMODE(p.stat().st_mode) for p in d.rglob("*") if p.is_file()}
    assert modes == {FILE_MODE}


def test_run_compiles_the_protocol_once(tmp_path, monkeypatch):
    """One prepared design per run: compile_jax runs once for the main protocol, its jitted probs trace once."""
    import qlearn_sense.experiments._prepared as prep

    calls = []
    real = prep.compile_jax

    def counting(protocol):
        calls.append(protocol.name)
        jp = real(protocol)
        traces = []

        def probs(theta, phi):
            traces.append(1)
            return jp.probs(theta, phi)

        counting.traces = traces
        return jp._replace(probs=probs)

    monkeypatch.setattr(prep, "compile_jax", counting)
    out = run_experiment(_cfg(), out_root=tmp_path)
    assert calls == [out.results["name"] + "-hea-local"]
    assert len(counting.traces) == 1  # the batched probabilities: traced (compiled) once for the whole run


def test_unwritable_out_is_refused_even_as_root(tmp_path, monkeypatch):
    """File-system fault 6, simulated for root (who can write anywhere): the probe write fails -> one clear error."""
    import errno
    import tempfile

    def read_only(*a, **k):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(RunDirError, match=r"cannot write run folders under .*Read-only"):
        run_experiment(_cfg(), out_root=tmp_path / "ro")
