"""Issue 10: the user's commands end in one-line errors (exit 2, nothing written), never tracebacks;
runs print every section and plain progress without a terminal; `report` puts runs side by side."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parents[2]
QUICK = ROOT / "configs" / "quickstart.yaml"


def cli(*args, cwd=None, timeout=600):
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    env.pop("QLEARN_SENSE_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "qlearn_sense", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=timeout)


def one_line_error(proc, *needles):
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    err = " ".join(proc.stderr.split())
    assert err.startswith("error:"), err
    for needle in needles:
        assert needle in err, (needle, err)


def write_config(path: Path, base: Path = QUICK, **changes) -> Path:
    data = yaml.safe_load(base.read_text())
    for dotted, value in changes.items():
        node = data
        *keys, last = dotted.split(".")
        for k in keys:
            node = node[k]
        if value is None:
            node.pop(last)
        else:
            node[last] = value
    path.write_text(yaml.safe_dump(data))
    return path


SMALL = {"optimizer.steps": 20, "optimizer.restarts": 1, "execution.shots": 20000, "execution.repetitions": 8}


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """One CLI run of a small config with shadows and detection (without a terminal)."""
    tmp = tmp_path_factory.mktemp("cli")
    cfg = write_config(tmp / "small.yaml", **SMALL)
    data = yaml.safe_load(cfg.read_text())
    data["shadows"] = {"snapshots": 300}
    data["detection"] = {"alt_field_T": data["signal"]["field_T"], "protocols": ["ramsey", "optimized"]}
    cfg.write_text(yaml.safe_dump(data))
    proc = cli("run", cfg, "--out", tmp / "out", "--run-id", "r1")
    assert proc.returncode == 0, proc.stderr
    return tmp, cfg, proc


def test_run_prints_every_section_and_plain_progress(small_run):
    tmp, _, proc = small_run
    out = proc.stdout
    assert "QFI" in out and "G-test" in out
    assert "shadows" in out and "fidelity to the ideal state" in out  # the shadows table
    assert "verdict on" in out  # the detection verdict
    assert "optimizing CFI:" in out and "%" in out  # plain progress lines without a terminal
    assert "\x1b[" not in out  # no terminal control codes in a pipe


def test_existing_run_id_is_refused_then_forced(small_run):
    tmp, cfg, _ = small_run
    proc = cli("run", cfg, "--out", tmp / "out", "--run-id", "r1")
    one_line_error(proc, "r1", "exists", "--force")
    results = json.loads((tmp / "out" / "quickstart" / "r1" / "results.json").read_text())
    assert results["status"] == "done"  # untouched


def test_report_puts_runs_side_by_side(small_run, tmp_path):
    tmp, _, _ = small_run
    run_dir = tmp / "out" / "quickstart" / "r1"
    proc = cli("report", run_dir, run_dir, "--out", tmp_path / "rep")
    assert proc.returncode == 0, proc.stderr
    assert "2 runs" in proc.stdout
    rep = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert len(rep["runs"]) == 2 and rep["runs"][0]["qfi"] > 0
    assert (tmp_path / "rep" / "report.png").stat().st_size > 1000
    one_line_error(cli("report", tmp_path / "nowhere"), "does not exist")


def test_resubmit_of_a_local_run_is_one_line(small_run):
    tmp, _, _ = small_run
    one_line_error(cli("resubmit", tmp / "out" / "quickstart" / "r1"), "local", "synchronous")


def test_validate_a_directory_binary_and_broken_yaml(tmp_path):
    one_line_error(cli("validate", ROOT / "configs"), "configs")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00\x81 not text")
    one_line_error(cli("validate", binary), "binary.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\nseed: [1, 2\n")
    proc = cli("validate", broken)
    one_line_error(proc, "broken.yaml")
    assert "<unicode string>" not in proc.stderr


def test_validate_routes_budget_configs():
    proc = cli("validate", ROOT / "configs" / "budget_nv.yaml")
    assert proc.returncode == 0, proc.stderr
    assert "budget" in proc.stdout


def test_validate_field_messages(tmp_path):
    proc = cli("validate", write_config(tmp_path / "noseed.yaml", seed=None))
    one_line_error(proc, "seed")
    assert "{...}" not in proc.stderr
    ok = cli("validate", write_config(tmp_path / "shots.yaml", **{"execution.shots": "1e5"}))
    assert ok.returncode == 0, ok.stderr


def test_validate_rejects_a_phase_outside_the_window(tmp_path):
    """Wrong answer 1: a 1 mT field on the quickstart sensor is refused by validate, naming the field."""
    proc = cli("validate", write_config(tmp_path / "big.yaml", **{"signal.field_T": 1.0e-3}))
    one_line_error(proc, "signal.field_T", "interrogation_time_s")


def test_validate_rejects_coherence_underflow(tmp_path):
    """Wrong answer 2: 1 ms interrogation with T2* = 2 us is refused, naming the field and the coherence time."""
    cfg = write_config(tmp_path / "long.yaml", base=ROOT / "configs" / "nv_action_potential.yaml",
                       **{"sensor.interrogation_time_s": 1.0e-3})
    one_line_error(cli("validate", cfg), "sensor.interrogation_time_s")
    one_line_error(cli("run", cfg, "--out", tmp_path / "o"), "sensor.interrogation_time_s")
    assert not (tmp_path / "o").exists()  # nothing written


def test_run_out_that_is_a_file(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    one_line_error(cli("run", write_config(tmp_path / "c.yaml", **SMALL), "--out", afile), "afile", "is a file")


def test_noisy_protocol_on_a_noiseless_backend_fails_before_work(tmp_path):
    """Wrong answer 6, through the CLI: validate and run both refuse it, and no folder is left."""
    cfg = write_config(tmp_path / "c.yaml", **SMALL, **{"execution.backend": "pennylane:default.qubit"})
    one_line_error(cli("validate", cfg), "default.qubit")
    one_line_error(cli("run", cfg, "--out", tmp_path / "o"), "default.qubit")
    assert not (tmp_path / "o" / "quickstart").exists()


def test_validate_rejects_an_echo_on_a_static_field(tmp_path):
    one_line_error(cli("validate", write_config(tmp_path / "echo.yaml", **{"sensor.sequence": "hahn_echo"})),
                   "cancels")
