"""``protocol.engine: collective`` in the main job: config, register form (N <= 12), local engine (N > 12)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from qlearn_sense.config import ConfigError, config_from_dict


def _cfg(protocol: dict, **over) -> dict:
    d = {"name": "coll", "seed": 5,
         "sensor": {"kind": "nv_center", "t2_star_s": 2.0e-5, "interrogation_time_s": 1.0e-6,
                    "readout_fidelity": 1.0, "overhead_time_s": 2.0e-6},
         "signal": {"kind": "constant", "field_T": 1.0e-9},
         "protocol": protocol,
         "optimizer": {"objective": "cfi", "steps": 40, "restarts": 1},
         "execution": {"shots": 20000, "repetitions": 8}}
    d.update(over)
    return d


def _error(d: dict) -> str:
    with pytest.raises((ConfigError, ValueError)) as info:
        config_from_dict(d)
    return str(info.value)


def test_config_register_view_and_collective_only():
    small = config_from_dict(_cfg({"engine": "collective", "n_spins": 6}))
    assert small.protocol.n_qubits == 6 and not small.protocol.collective_only
    assert small.protocol.preparation.ansatz == "oat"
    big = config_from_dict(_cfg({"engine": "collective", "n_spins": 200}))
    assert big.protocol.n_qubits is None and big.protocol.collective_only and big.protocol.sensors == 200
    tact = config_from_dict(_cfg({"engine": "collective", "n_spins": 6, "preparation": {"ansatz": "tact"}}))
    assert tact.protocol.collective_only


@pytest.mark.parametrize("protocol, field", [
    ({"engine": "collective", "n_spins": 1001}, "n_spins"),
    ({"engine": "collective"}, "n_spins"),
    ({"engine": "collective", "n_spins": 20, "preparation": {"ansatz": "hea"}}, "preparation.ansatz"),
    ({"n_qubits": 3, "n_spins": 5}, "n_spins"),
    ({"n_qubits": 3, "readout": "parity"}, "readout"),
    ({"preparation": {"ansatz": "hea"}}, "n_qubits"),
    ({"engine": "collective", "n_spins": 8, "n_qubits": 4}, "n_qubits"),
])
def test_config_errors_name_the_field(protocol, field):
    assert field in _error(_cfg(protocol))


def test_collective_only_rejects_register_sections_and_backends():
    msg = _error(_cfg({"engine": "collective", "n_spins": 50}, execution={"backend": "aer", "shots": 10}))
    assert "execution.backend" in msg and "local collective engine" in msg
    msg = _error(_cfg({"engine": "collective", "n_spins": 50},
                      detection={"alt_field_T": 1e-9}))
    assert "detection" in msg and "register" in msg


def test_validate_catches_block_table_that_run_would_fail_on():
    d = _cfg({"engine": "collective", "n_spins": 1000})
    d["sensor"]["t2_star_s"] = 2.0e-6  # eta = 0.61: hundreds of total-spin blocks
    msg = _error(d)
    assert "protocol.measurement.ansatz" in msg and "total-spin blocks" in msg


def test_readout_confusion_against_brute_force():
    from qlearn_sense.experiments._collective_main import readout_confusion

    n, p01, p10 = 5, 0.07, 0.13
    c = readout_confusion(n, p01, p10)
    brute = np.zeros((n + 1, n + 1))
    for x in range(2 ** n):  # every true bit string, every read bit string
        ones = bin(x).count("1")
        for y in range(2 ** n):
            pr = 1.0
            for q in range(n):
                b, r = (x >> q) & 1, (y >> q) & 1
                pr *= (1 - p10 if r else p10) if b else (p01 if r else 1 - p01)
            brute[bin(y).count("1"), ones] += pr / math.comb(n, ones)
    np.testing.assert_allclose(c, brute, atol=1e-14)
    np.testing.assert_allclose(c.sum(axis=0), 1.0, atol=1e-14)
    with pytest.raises(ValueError, match="p10"):
        readout_confusion(3, 0.0, 1.0)


def test_register_form_matches_collective_engine():
    """N <= 12: the register protocol built for the run gives the collective engine's J_z law to 1e-9."""
    import jax.numpy as jnp

    from qlearn_sense.collective import compile_collective, register_to_collective_probs
    from qlearn_sense.experiments import make_design
    from qlearn_sense.experiments._design import collective_spec
    from qlearn_sense.protocol import compile_jax

    cfg = config_from_dict(_cfg({"engine": "collective", "n_spins": 5, "preparation": {"ansatz": "oat", "layers": 2}}))
    design = make_design(cfg)
    assert dict(design.protocol.meta)["engine"] == "collective"
    jp = compile_jax(design.protocol)
    cp = compile_collective(collective_spec(cfg, design.eta))
    rng = np.random.default_rng(0)
    for _ in range(3):
        theta = rng.uniform(-np.pi, np.pi, design.protocol.n_params)
        for phi in (0.0, 0.3):
            reg = register_to_collective_probs(np.asarray(jp.probs(jnp.asarray(theta), phi)), 5)
            np.testing.assert_allclose(reg, np.asarray(cp.probs(theta, phi)), atol=1e-9)
        assert abs(float(jp.qfi(jnp.asarray(theta))) - float(cp.qfi(theta))) < 1e-9 * max(1.0, float(cp.qfi(theta)))


def test_collective_run_estimates_and_checks(tmp_path):
    """N = 30 on the local collective engine: MLE within a few standard errors, spread at the CRB, files."""
    from qlearn_sense.experiments import run_experiment

    d = _cfg({"engine": "collective", "n_spins": 30}, execution={"shots": 50000, "repetitions": 12})
    d["sensor"]["readout_fidelity"] = 0.98
    cfg = config_from_dict(d)
    out = run_experiment(cfg, out_root=tmp_path)
    res = json.loads((out.run_dir / "results.json").read_text())
    assert res["status"] == "done" and res["n_spins"] == 30 and res["protocol"]["engine"] == "collective"
    f, e = res["fisher"], res["estimate"]
    assert f["sql"] <= f["qfi"] <= f["channel_extension_bound"] * (1 + 1e-9)
    assert 0 < f["cfi"] <= f["qfi"] * (1 + 1e-9)
    assert abs(e["z_score"]) < 4
    # empirical spread over 12 repetitions vs the CRB: chi-square bounds at 0.1 % each side
    ratio2 = e["repetitions"]["empirical_over_crb"] ** 2
    lo, hi = stats.chi2.ppf([1e-3, 1 - 1e-3], 11) / 11
    assert lo < ratio2 < hi
    assert res["cfi_check"]["gof"]["p_value"] > 1e-3 and not res.get("flags")
    assert (out.run_dir / "counts.npy").exists() and (out.run_dir / "plots" / "fisher_vs_iterations.png").exists()
    assert np.load(out.run_dir / "counts.npy").shape == (12, 31)


def test_collective_run_flags_a_wrong_model(tmp_path, monkeypatch):
    """Counts from a different eta than the model's: the G-test flags the misfit in results.json."""
    from qlearn_sense.experiments import _collective_main as cm
    from qlearn_sense.experiments import run_experiment

    real = cm.CollectiveRun.__post_init__

    def skewed(self):
        real(self)
        model = self.probs

        def probs(params, phi):  # the "device": the phase read 3 CRB-widths off
            return model(params, phi + 0.02)
        self.sample_probs = probs

    monkeypatch.setattr(cm.CollectiveRun, "__post_init__", skewed)
    orig = cm.analyse_collective

    def analyse(run, params, counts):
        rng = np.random.default_rng(1)
        p = np.clip(np.asarray(run.sample_probs(params, run.phase_rad)), 0, None)
        counts = rng.multinomial(counts[0].sum(), p / p.sum(), size=counts.shape[0])
        return orig(run, params, counts)

    monkeypatch.setattr(cm, "analyse_collective", analyse)
    cfg = config_from_dict(_cfg({"engine": "collective", "n_spins": 20}, execution={"shots": 200000,
                                                                                   "repetitions": 4}))
    res = run_experiment(cfg, out_root=tmp_path).results
    assert res["flags"].get("implausible_estimate") or res["flags"].get("model_misfit")
    assert res["warnings"] and res["honesty"]["resolved"] is False


def test_cli_run_refuses_a_backend_for_collective_only(tmp_path):
    import yaml
    from typer.testing import CliRunner

    from qlearn_sense.cli import app

    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(_cfg({"engine": "collective", "n_spins": 40})))
    r = CliRunner().invoke(app, ["run", str(path), "--backend", "aer", "--out", str(tmp_path)])
    assert r.exit_code != 0 and "only the local collective" in r.output
    r = CliRunner().invoke(app, ["validate", str(path)])
    assert r.exit_code == 0 and "collective engine, N = 40" in r.output


@pytest.mark.parametrize("readout", ["jz", "parity"])
def test_collective_engine_with_t1_and_readout_errors_matches_register(readout):
    """The local collective path (T1 exact in the blocks, readout confusion) against the register engine."""
    import jax.numpy as jnp

    from qlearn_sense.collective import register_to_collective_probs
    from qlearn_sense.experiments import make_design
    from qlearn_sense.experiments._collective_main import collective_run
    from qlearn_sense.protocol import compile_jax

    d = _cfg({"engine": "collective", "n_spins": 4, "readout": readout})
    d["sensor"].update({"t1_s": 5.0e-6, "readout_fidelity": 0.9})
    cfg = config_from_dict(d)
    run = collective_run(cfg)
    assert run.gamma > 0.1 and run.p01 > 0
    design = make_design(cfg)
    jp = compile_jax(design.protocol)
    theta = np.random.default_rng(2).uniform(-np.pi, np.pi, design.protocol.n_params)
    for phi in (0.0, 0.2):
        reg = register_to_collective_probs(np.asarray(jp.probs(jnp.asarray(theta), phi)), 4, readout)
        np.testing.assert_allclose(np.asarray(run.probs(theta, phi)), reg, atol=1e-9)
    assert float(run.qfi(theta)) == pytest.approx(float(jp.qfi(jnp.asarray(theta))), rel=1e-8)
