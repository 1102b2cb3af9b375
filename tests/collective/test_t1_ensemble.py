"""T1 in the ensemble analysis: config field, decay probability, collective optimum with T1."""

import math
import types
from pathlib import Path

import numpy as np
import pytest
import yaml
from pydantic import ValidationError

from qlearn_sense import collective as col
from qlearn_sense.backends import get_backend
from qlearn_sense.config._ensemble import CollectiveEngineConfig, EnsembleConfig
from qlearn_sense.experiments._analysis import AnalysisContext
from qlearn_sense.experiments._ensemble_run import _collective_opt, analyse_ensemble, t1_decay, tau_at_eta

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "nv_ensemble_action_potential.yaml"


def test_config_t1_field():
    raw = yaml.safe_load(CONFIG.read_text())
    assert EnsembleConfig(**raw["ensemble"]).collective.t1_s == pytest.approx(6e-3)
    assert CollectiveEngineConfig().t1_s is None
    with pytest.raises(ValidationError, match="t1_s"):
        CollectiveEngineConfig(t1_s=-1e-3)
    with pytest.raises(ValidationError, match="t1_s"):
        CollectiveEngineConfig(t1_s=0.0)


def test_decay_probability_and_tau_inversion():
    assert t1_decay(None, 1e-3) == 0.0
    assert t1_decay(6e-3, 1e-4) == pytest.approx(1 - math.exp(-1e-4 / 6e-3), rel=1e-14)
    t2, p = 1e-4, 1.5
    eta = lambda t: math.exp(-((t / t2) ** p))  # noqa: E731
    assert tau_at_eta(0.9, eta(3e-5), 3e-5, p) == pytest.approx(t2 * (-math.log(0.9)) ** (1 / p), rel=1e-12)


def test_collective_opt_with_t1_beats_product_and_matches_qfi():
    cc = CollectiveEngineConfig(n_spins=6, steps=40, restarts=1, t1_s=6e-3)
    gamma = 0.05
    value, params, spec, cp = _collective_opt(cc, 0.999, 3, gamma)  # eta capped at sqrt(1 - gamma)
    eta = math.sqrt(1 - gamma)
    assert spec.gamma_t1 == gamma and spec.eta == pytest.approx(eta)
    assert value >= 6 * eta ** 2 - 1e-9  # the product state is in the ansatz: N eta^2 with T1 too
    assert value == pytest.approx(float(col.qfi(cp.statevector(params), eta, gamma_t1=gamma)), rel=1e-10)


def test_scale_report_with_t1_uses_pure_dephasing_bound():
    rep = col.scale_report(1e12, 0.9, 20.0, 20, gamma_t1=0.1)
    pd2 = 0.81 / 0.9
    assert rep["product"].value == pytest.approx(1e12 * 0.81)
    assert rep["asymptotic_bound"].value == pytest.approx(1e12 * pd2 / (1 - pd2))
    assert rep["gain_bound"].value == pytest.approx(pd2 / (0.81 * (1 - pd2)))
    assert col.scale_report(1e12, 0.9, 20.0, 20)["gain_bound"].value == pytest.approx(1 / (1 - 0.81))
    with pytest.raises(ValueError, match="gamma_t1"):
        col.scale_report(1e12, 0.9, 20.0, 20, gamma_t1=1.0)
    with pytest.raises(ValueError, match="eta"):
        col.scale_report(1e12, 0.99, 20.0, 20, gamma_t1=0.1)


def test_analysis_reports_t1(tmp_path):
    raw = yaml.safe_load(CONFIG.read_text())
    ens = EnsembleConfig(**raw["ensemble"])
    small = dict(n_spins=4, steps=30, restarts=1, eta_values=[0.9])
    ens = ens.model_copy(update={"collective": ens.collective.model_copy(update=small)})
    cfg = types.SimpleNamespace(ensemble=ens, signal=types.SimpleNamespace(kind="action_potential",
                                                                          peak_field_T=15e-12, width_s=3e-4),
                                execution=types.SimpleNamespace(shots=20000))
    res = analyse_ensemble(AnalysisContext(config=cfg, backend=get_backend("local"), seed=3))
    d = res.data
    tau = next(r["tau_s"] for r in d["schemes"] if r["snr"] == d["snr_one_event"]["value"])
    assert d["t1_decay_probability"]["value"] == pytest.approx(1 - math.exp(-tau / 6e-3), rel=1e-12)
    row = d["gain_vs_eta"][0]
    assert 0 < row["gamma_t1"] < 1 and row["gain"] >= 1 - 1e-6 and row["gain"] <= row["bound"]
    assert d["execution"]["status"] == "run" and d["execution"]["gof"]["p_value"] > 1e-3
    res.plots["ensemble_gain_vs_eta.png"](tmp_path / "g.png")
    assert (tmp_path / "g.png").stat().st_size > 1000
    assert np.isfinite(d["collective_qfi"]["value"])
