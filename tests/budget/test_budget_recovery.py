"""Budget sweeps that survive damage and interruption: corrupt parts, Ctrl-C, status file, progress, atomic files."""

from __future__ import annotations

import builtins
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import qlearn_sense.budget as budget_pkg
from qlearn_sense.budget import (
    STATES,
    TIMING_COLUMNS,
    BudgetError,
    BudgetInterrupted,
    StatusFile,
    budget_config_from_dict,
    load_budget_table,
    resume_command,
    run_budget,
)
from qlearn_sense.budget._store import PointStore
from qlearn_sense.cli._app import app
from qlearn_sense.cli._budget import PlainProgress

CLUSTER = {"processes": False, "n_workers": 1, "threads_per_worker": 1}
SMALL = {
    "name": "budget_small", "seed": 3,
    "base": {"name": "small_base", "seed": 1,
             "sensor": {"kind": "nv_center", "eta": 0.9, "interrogation_time_s": 1.0e-6},
             "signal": {"kind": "constant", "field_T": 1.0e-6},
             "protocol": {"n_qubits": 2, "preparation": {"ansatz": "hea", "layers": 1},
                          "measurement": {"ansatz": "local"}},
             "optimizer": {"steps": 10, "restarts": 1, "learning_rate": 0.1}},
    "tasks": ["estimation"],
    "grid": {"shots": [100, 1000, 10_000], "protocols": ["ramsey"], "seeds": [0, 1]},
    "repetitions": 5,
}
N_SMALL = 6


def _metrics(table: pd.DataFrame) -> pd.DataFrame:
    return table.drop(columns=list(TIMING_COLUMNS)).reset_index(drop=True)


def _status(run_dir: Path) -> dict:
    return json.loads((run_dir / "status.json").read_text())


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A complete small sweep: (config path, outcome)."""
    folder = tmp_path_factory.mktemp("small")
    path = folder / "small.yaml"
    path.write_text(yaml.safe_dump(SMALL))
    return path, run_budget(path, out_root=folder / "exp", run_id="ref", **CLUSTER)


def _copy(run_dir: Path, dest: Path) -> Path:
    shutil.copytree(run_dir, dest)
    for name in ("table.parquet", "derived.csv", "summary.md"):
        (dest / name).unlink()
    return dest


# ---------------------------------------------------------------- corrupt parts


def test_truncated_part_is_moved_aside_recomputed_and_reported(small, tmp_path):
    """The user's case: a part cut short blocked every resume with ArrowInvalid; now it is recomputed."""
    path, ref = small
    run_dir = _copy(ref.run_dir, tmp_path / "copy")
    victim = ref.table.iloc[2]
    part = PointStore(run_dir).path(victim.key)
    data = part.read_bytes()
    part.write_bytes(data[: len(data) // 2])
    with pytest.raises(BudgetError, match=re.escape(part.name) + ".*resume"):
        load_budget_table(run_dir)  # a clear error naming the part, not an ArrowInvalid traceback
    lines: list[str] = []
    outcome = run_budget(resume=run_dir, notify=lines.append, **CLUSTER)
    assert outcome.complete and outcome.n_new == 1 and outcome.n_skipped == N_SMALL - 1
    pd.testing.assert_frame_equal(_metrics(outcome.table), _metrics(ref.table), check_exact=False, rtol=1e-12)
    [rec] = outcome.recovered
    moved = run_dir / rec.moved_to
    assert rec.key == victim.key and rec.part == f"points/{part.name}" and "ArrowInvalid" in rec.error
    assert re.fullmatch(re.escape(part.name) + r"\.corrupt-\d{8}T\d{6}Z", moved.name)
    assert moved.read_bytes() == data[: len(data) // 2]  # kept for inspection, untouched
    assert len(lines) == 1 and "corrupt part" in lines[0] and victim.key in lines[0] and rec.moved_to in lines[0]
    status = _status(run_dir)
    assert status["state"] == "done" and status["recovered"][0]["key"] == victim.key
    summary = (run_dir / "summary.md").read_text()
    assert "Recovered storage" in summary and rec.moved_to in summary and victim.key in summary
    again = run_budget(resume=run_dir, **CLUSTER)  # sound now: nothing moved, nothing recomputed
    assert again.n_new == 0 and again.recovered == [] and len(_status(run_dir)["recovered"]) == 1


@pytest.mark.parametrize("damage", ["empty", "garbage", "foreign_key"])
def test_other_damaged_parts_are_recovered(small, tmp_path, damage):
    path, ref = small
    run_dir = _copy(ref.run_dir, tmp_path / "copy")
    store = PointStore(run_dir)
    victim = store.path(ref.table.iloc[0].key)
    if damage == "empty":
        victim.write_bytes(b"")
    elif damage == "garbage":
        victim.write_bytes(b"PAR1" + os.urandom(300))
    else:  # a sound part under another point's name
        victim.write_bytes(store.path(ref.table.iloc[1].key).read_bytes())
    assert store.check_part(victim) is not None
    outcome = run_budget(resume=run_dir, notify=lambda line: None, **CLUSTER)
    assert outcome.complete and outcome.n_new == 1 and len(outcome.recovered) == 1
    pd.testing.assert_frame_equal(_metrics(outcome.table), _metrics(ref.table), check_exact=False, rtol=1e-12)


def test_verify_of_sound_parts_moves_nothing(small):
    table, corrupt = PointStore(small[1].run_dir).verify()
    assert corrupt == [] and len(table) == N_SMALL


# ---------------------------------------------------------------- status file and interruption


def test_status_file_tracks_the_sweep(tmp_path):
    cfg = budget_config_from_dict(SMALL)
    seen = []

    def progress(stage, done, total):
        if stage == "points":
            seen.append(_status(tmp_path / "budget_small" / "r"))

    first = run_budget(cfg, out_root=tmp_path, run_id="r", max_points=2, progress=progress, **CLUSTER)
    assert all(s["state"] == "running" and s["n_points"] == N_SMALL for s in seen)
    status = _status(first.run_dir)
    assert status["state"] == "stopped" and status["n_finished"] == 2 and not status["complete"]
    assert status["resume_command"] == f"qlearn-sense budget --resume {first.run_dir}" == first.resume_command
    assert status["pid"] == os.getpid() and status["updated_at"] >= status["started_at"]
    done = run_budget(resume=first.run_dir, **CLUSTER)
    status = _status(done.run_dir)
    assert status["state"] == "done" and status["n_finished"] == N_SMALL and status["complete"]
    assert status["n_errors"] == 0 and status["last_call"]["n_new"] == N_SMALL - 2


def test_a_failing_call_marks_the_status_failed(tmp_path):
    def progress(stage, done, total):
        if stage == "points" and done >= 1:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        run_budget(budget_config_from_dict(SMALL), out_root=tmp_path, run_id="f", progress=progress, **CLUSTER)
    status = _status(tmp_path / "budget_small" / "f")
    assert status["state"] == "failed" and status["error"] == "RuntimeError: boom"


def test_keyboard_interrupt_stops_quietly_with_the_resume_command(small, tmp_path):
    path, ref = small

    def progress(stage, done, total):
        if stage == "points" and done >= 2:
            raise KeyboardInterrupt

    with pytest.raises(BudgetInterrupted) as info:
        run_budget(path, out_root=tmp_path, run_id="i", progress=progress, **CLUSTER)
    exc = info.value
    run_dir = tmp_path / "budget_small" / "i"
    assert isinstance(exc, KeyboardInterrupt) and exc.run_dir == run_dir and exc.n_points == N_SMALL
    assert exc.n_finished == len(PointStore(run_dir).parts()) >= 2
    assert str(exc) == (f"interrupted: {exc.n_finished} of {N_SMALL} points stored; "
                        f"resume with: qlearn-sense budget {path} --resume {run_dir}")
    status = _status(run_dir)
    assert status["state"] == "interrupted" and status["n_finished"] == exc.n_finished
    assert status["resume_command"] == exc.resume_command == resume_command(run_dir, path)
    done = run_budget(path, resume=run_dir, **CLUSTER)  # the printed command's arguments finish it
    assert done.complete and done.n_skipped == exc.n_finished
    pd.testing.assert_frame_equal(_metrics(done.table), _metrics(ref.table), check_exact=False, rtol=1e-12)


def test_status_file_throttles_and_rejects_unknown_states(tmp_path):
    now = [0.0]
    status = StatusFile(tmp_path, n_points=3, resume_command="x", min_interval_s=2.0, clock=lambda: now[0])
    assert status.update(n_finished=1)
    now[0] = 1.0
    assert not status.update(n_finished=2) and _status(tmp_path)["n_finished"] == 1
    assert status.update(state="done", force=True) and _status(tmp_path)["n_finished"] == 2
    now[0] = 3.5
    assert status.update(n_finished=3) and _status(tmp_path)["n_finished"] == 3
    with pytest.raises(ValueError, match="state = 'paused'"):
        status.update(state="paused")
    assert set(STATES) == {"running", "interrupted", "stopped", "done", "failed"}


# ---------------------------------------------------------------- atomic files


def test_every_run_folder_file_is_written_through_a_temporary_file(tmp_path, monkeypatch):
    """No file of the run folder is ever opened for writing under its own name (kills leave no half file)."""
    root = (tmp_path / "exp").resolve()
    created: list[str] = []
    real_os_open, real_open = os.open, builtins.open

    def os_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and str(Path(os.fsdecode(path)).resolve()).startswith(
                str(root)):
            created.append(os.fsdecode(path))
        return real_os_open(path, flags, *args, **kwargs)

    def open_(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, bytes, os.PathLike)) and any(c in mode for c in "wax+"):
            if str(Path(os.fsdecode(file)).resolve()).startswith(str(root)):
                created.append(os.fsdecode(file))
        return real_open(file, mode, *args, **kwargs)

    replaced: set[Path] = set()
    real_replace = os.replace

    def replace(src, dst, *args, **kwargs):
        replaced.add(Path(os.fsdecode(dst)).resolve())
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(builtins, "open", open_)
    monkeypatch.setattr(os, "replace", replace)
    outcome = run_budget(budget_config_from_dict(SMALL), out_root=root, run_id="a", **CLUSTER)
    monkeypatch.undo()
    assert outcome.complete
    names = [Path(p).name for p in created]
    assert names and all(re.fullmatch(r"\..+\.tmp", n) for n in names), names
    files = {p.resolve() for p in outcome.run_dir.rglob("*") if p.is_file()}
    rel = {p.relative_to(outcome.run_dir.resolve()).as_posix() for p in files}
    assert {"budget.yaml", "manifest.json", "status.json", "table.parquet", "derived.csv", "summary.md",
            "plots/mse_vs_shots.png"} <= rel
    assert len([f for f in rel if f.startswith("points/")]) == N_SMALL
    assert len([f for f in rel if f.startswith("designs/")]) == 1
    # every file got its name by a rename of a complete temporary file (catches writers outside Python too)
    assert files <= replaced, sorted(rel - {p.relative_to(outcome.run_dir.resolve()).as_posix() for p in replaced})
    assert len({p.stat().st_mode & 0o777 for p in outcome.run_dir.rglob("*") if p.is_file()}) == 1


# ---------------------------------------------------------------- command line


def test_plain_progress_lines_are_throttled_with_rate_and_eta():
    now = [0.0]
    lines: list[str] = []
    progress = PlainProgress(lines.append, interval_s=5.0, clock=lambda: now[0])
    progress("points", 10, 110)  # 10 stored before this call
    assert lines == ["points: 10/110 (9%)"]
    for t, done in ((1.0, 11), (3.0, 13), (4.5, 15)):
        now[0] = t
        progress("points", done, 110)
    assert len(lines) == 1  # at most one line per 5 s
    now[0] = 11.0
    progress("points", 31, 110)  # 20 points in 10 s since the first arrival (t = 1)
    assert lines[-1] == "points: 31/110 (28%), 2 points/s, ETA 40s"
    now[0] = 12.0
    progress("points", 110, 110)
    assert lines[-1] == "points: 110/110 (100%)"
    progress("designs", 0, 3)
    assert lines[-1] == "designs: 0/3 (0%)"


def test_cli_without_a_terminal_prints_progress_lines(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(SMALL))
    result = CliRunner().invoke(app, ["budget", str(path), "--in-process", "--workers", "1", "--out",
                                      str(tmp_path / "exp"), "--run-id", "cli"])
    assert result.exit_code == 0, result.output
    assert "points: 0/6 (0%)" in result.stdout and "points: 6/6 (100%)" in result.stdout
    assert "designs: 0/1 (0%)" in result.stdout


def test_cli_interrupt_prints_the_resume_hint_and_exits_130(tmp_path, monkeypatch):
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(SMALL))
    real = budget_pkg.run_budget

    def interrupted(*args, progress, **kwargs):
        def wrapped(stage, done, total):
            progress(stage, done, total)
            if stage == "points" and done >= 2:
                raise KeyboardInterrupt

        return real(*args, progress=wrapped, **kwargs)

    monkeypatch.setattr(budget_pkg, "run_budget", interrupted)
    run_dir = tmp_path / "exp" / "budget_small" / "c"
    result = CliRunner().invoke(app, ["budget", str(path), "--in-process", "--out", str(tmp_path / "exp"),
                                      "--run-id", "c"])
    assert result.exit_code == 130, result.output
    assert "Traceback" not in result.output
    assert re.search(rf"interrupted: \d of 6 points stored; resume with: qlearn-sense budget {re.escape(str(path))} "
                     rf"--resume {re.escape(str(run_dir))}", result.stderr), result.stderr


@pytest.mark.slow
def test_ctrl_c_on_a_process_cluster_leaves_no_traceback(tmp_path):
    """SIGINT to the whole process group, as a terminal sends it: workers stay quiet, the driver prints the hint."""
    config = yaml.safe_load(yaml.safe_dump(SMALL))
    config["grid"]["shots"] = {"min": 100, "max": 100_000, "num": 10}
    config["grid"]["seeds"] = [0, 1, 2, 3]
    config["repetitions"] = 1000
    path = tmp_path / "slow.yaml"
    path.write_text(yaml.safe_dump(config))
    run_dir = tmp_path / "exp" / "budget_small" / "s"
    cmd = [sys.executable, "-m", "qlearn_sense", "budget", str(path), "--workers", "2", "--out",
           str(tmp_path / "exp"), "--run-id", "s"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if (run_dir / "points").is_dir() and len(list((run_dir / "points").glob("*.parquet"))) >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    out, err = out.decode(), err.decode()
    assert proc.returncode == 130, err[-3000:]
    assert "Traceback" not in err and "Error" not in err, err[-3000:]
    n = len(PointStore(run_dir).parts())
    assert f"interrupted: {n} of 40 points stored; resume with: qlearn-sense budget {path} --resume {run_dir}" in err
    assert "points: 0/40 (0%)" in out  # plain progress lines: stdout is a pipe
    assert _status(run_dir)["state"] == "interrupted"
    deadline = time.monotonic() + 30  # the workers are gone with the driver
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        pytest.fail("worker processes outlived the interrupted driver")
