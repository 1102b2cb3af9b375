"""The ensemble analysis (issue 11) and its config models, called directly."""

import math
import types
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError
from scipy import stats

from qlearn_sense.config._ensemble import CollectiveEngineConfig, EnsembleConfig, EnsembleSensorConfig
from qlearn_sense.experiments._analysis import AnalysisContext
from qlearn_sense.backends import get_backend
from qlearn_sense.experiments._ensemble_run import _collective_opt, analyse_ensemble, run_collective_on_backend

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "nv_ensemble_action_potential.yaml"


def _ctx(peak_T=15e-12, **coll):
    raw = yaml.safe_load(CONFIG.read_text())
    ens = EnsembleConfig(**raw["ensemble"])
    small = dict(n_spins=6, steps=40, restarts=1, eta_values=[0.9])
    small.update(coll)
    ens = ens.model_copy(update={"collective": ens.collective.model_copy(update=small)})
    cfg = types.SimpleNamespace(ensemble=ens, signal=types.SimpleNamespace(kind="action_potential",
                                                                          peak_field_T=peak_T, width_s=3e-4),
                                execution=types.SimpleNamespace(shots=20000))
    return AnalysisContext(config=cfg, backend=get_backend("local"), seed=3)


def test_shipped_config_sections_validate():
    raw = yaml.safe_load(CONFIG.read_text())
    ens = EnsembleConfig(**raw["ensemble"])
    assert ens.sensor.spins == pytest.approx(3.9e10)  # 3e23 m^-3 x 1.3e-13 m^3 (Barry et al. 2016 layer)
    for section in ("sensor", "signal", "protocol", "optimizer", "execution"):
        assert section in raw  # the current ExperimentConfig's sections are still there


def test_analysis_report(tmp_path):
    res = analyse_ensemble(_ctx())
    assert res.key == "ensemble"
    d = res.data
    assert d["dc_sensitivity"]["unit"] == "T/sqrt(Hz)" and d["dc_sensitivity"]["value"] > 0
    snr = d["snr_one_event"]["value"]
    z = stats.norm.ppf(0.99) + stats.norm.ppf(0.95)
    assert d["events_needed"]["value"] == math.ceil((z / snr) ** 2)
    # two approximations of one quantity (closed form, ceiled; binned Gaussians through hyptest); at the
    # shipped N = 3.9e10 they differ by 1.3 % (612 vs 604), not yet explained (closing note of issue 11)
    assert d["events_needed_hyptest"]["value"] == pytest.approx(d["events_needed"]["value"], rel=0.02)
    assert d["scale"]["asymptotic_bound"]["kind"] == "bound"
    assert d["scale"]["collective_exact"]["n_spins"] == 6
    assert any("sigma_R" in w for w in res.warnings)  # optical readout: collective gains caveat
    assert d["execution"]["status"] == "run" and d["execution"]["backend"] == "local"
    for name, plot in res.plots.items():
        plot(tmp_path / name)
        assert (tmp_path / name).stat().st_size > 1000


def test_snr_is_linear_in_field():
    a = analyse_ensemble(_ctx(peak_T=15e-12)).data["snr_one_event"]["value"]
    b = analyse_ensemble(_ctx(peak_T=30e-12)).data["snr_one_event"]["value"]
    assert b == pytest.approx(2 * a, rel=1e-9)


def test_strong_field_warns_nonlinear():
    res = analyse_ensemble(_ctx(peak_T=1e-6))
    assert any("linear" in w for w in res.warnings)


def test_analysis_errors():
    ctx = _ctx()
    with pytest.raises(ValueError, match="ensemble"):
        analyse_ensemble(AnalysisContext(config=types.SimpleNamespace(ensemble=None, signal=None), backend=None,
                                         seed=0))
    bad = types.SimpleNamespace(ensemble=ctx.config.ensemble, signal=types.SimpleNamespace(kind="constant"))
    with pytest.raises(ValueError, match="signal.kind"):
        analyse_ensemble(AnalysisContext(config=bad, backend=None, seed=0))


def test_config_errors_name_the_field():
    base = dict(n_spins=1e9, a0_photons=0.03, a1_photons=0.021, t2_star_s=2e-6, t2_s=1e-4)
    EnsembleSensorConfig(**base)
    with pytest.raises(ValidationError, match="n_spins"):
        CollectiveEngineConfig(n_spins=1001)
    with pytest.raises(ValidationError, match="a1_photons"):
        EnsembleSensorConfig(**{**base, "a1_photons": 0.04})
    with pytest.raises(ValidationError, match="t2_star_s"):
        EnsembleSensorConfig(**{**base, "t2_star_s": -1e-6})
    with pytest.raises(ValidationError, match="overhead_s"):
        EnsembleSensorConfig(**{**base, "overhead_s": -1e-6})
    with pytest.raises(ValidationError, match="a1_photons"):
        EnsembleSensorConfig(**{**base, "a1_photons": -0.01})
    with pytest.raises(ValidationError, match="n_spins"):
        EnsembleSensorConfig(**{**base, "density_per_m3": 1e23})
    with pytest.raises(ValidationError, match="a0_photons"):
        EnsembleSensorConfig(**{**base, "contrast": 0.1})
    with pytest.raises(ValidationError, match="t2_s"):
        EnsembleSensorConfig(**{**base, "t2_s": 1e-7})
    with pytest.raises(ValidationError, match="extra"):
        EnsembleSensorConfig(**{**base, "t2_star": 1e-6})


@pytest.mark.parametrize("backend", ["local", "aer"])
def test_optimized_collective_circuit_runs_on_circuit_backends(backend):
    """Issue 11 part 6: N <= 12 compiles to a register circuit; its counts fit the collective model."""
    cc = _ctx(n_spins=4).config.ensemble.collective
    _, params, spec, cp = _collective_opt(cc, 0.9, 5)
    out = run_collective_on_backend(spec, cp, params, get_backend(backend), 40000, 11)
    assert out["status"] == "run" and out["counts"].sum() == 40000
    assert out["gof"]["p_value"] > 1e-3
    # a wrong model is detected: compare the counts with the undephased engine's probabilities
    from qlearn_sense.collective import compile_collective
    from qlearn_sense.experiments import goodness_of_fit

    import dataclasses

    import numpy as np

    ideal = compile_collective(dataclasses.replace(spec, eta=1.0))
    p_ideal = np.clip(np.asarray(ideal.probs(params, 0.0)), 0, None)
    assert goodness_of_fit(out["counts"], p_ideal / p_ideal.sum())["p_value"] < 1e-3


def test_large_collective_protocol_says_local_engine_only():
    cc = _ctx(n_spins=14, steps=2).config.ensemble.collective
    _, params, spec, cp = _collective_opt(cc, 0.9, 5)
    out = run_collective_on_backend(spec, cp, params, get_backend("local"), 1000, 1)
    assert out["status"] == "local engine only" and "local collective engine" in out["reason"]
