"""analyse_network end to end on a tiny two-node config with the local backend."""

import json

import numpy as np
import pytest

from qlearn_sense.backends import LocalBackend
from qlearn_sense.experiments import AnalysisContext
from qlearn_sense.experiments._network_run import analyse_network
from qlearn_sense.experiments._results import dumps

from network_helpers import network_config, tiny_network


@pytest.fixture(scope="module")
def result():
    cfg = network_config(tiny_network(strategies=["classical", "distributed"], efficiency_sweep=[0.1, 0.5, 1.0],
                                      optimizer={"layers": 1, "steps": 120, "restarts": 2, "learning_rate": 0.1},
                                      shots=20000))
    return analyse_network(AnalysisContext(config=cfg, backend=LocalBackend(), seed=5))


def test_network_result_contract(result, tmp_path):
    assert result.key == "network"
    data = result.data
    assert set(data["strategies"]) == {"classical", "distributed"}
    kappa = 2 * np.pi * 28.024e9 * 1e-6  # rad/T of an NV node with t = 1 us
    cl, di = data["strategies"]["classical"], data["strategies"]["distributed"]
    # classical fusion of two noiseless one-qubit nodes: 1/sum w^2 = 2 rad^-2 -> 2 kappa^2 T^-2
    assert cl["precision_quantum"]["value"] == pytest.approx(2 * kappa**2, rel=1e-3)
    # distributed GHZ through a T = 0.9 link: at least 8T/(1+T) (closed form, see test_strategies)
    assert di["precision_quantum"]["value"] >= 8 * 0.9 / 1.9 * kappa**2 * 0.97
    for entry in (cl, di):
        assert entry["precision_measured"]["value"] <= entry["precision_quantum"]["value"] * (1 + 1e-6)
        assert abs(entry["estimate"]["z"]) < 4
    assert di["gain_over_classical"] > 1.5
    sweep = data["sweep"]
    # QFIM: re-optimized at each bisection point, the best state cos a|00> + sin a|11> through the damping
    # link gives F = 16 T / (1 + sqrt T)^2, crossing classical fusion (F = 2) at T* = 1 / (9 - 4 sqrt 2)
    # (below GHZ's 1/3; closed form in test_crossover); the sweep-point value is an upper bound
    assert sweep["crossover_efficiency_quantum"] == pytest.approx(1 / (9 - 4 * np.sqrt(2)), abs=0.01)
    assert sweep["crossover_efficiency_quantum_sweep_bound"] >= sweep["crossover_efficiency_quantum"] - 2e-3
    # local X measurements on the damped GHZ state give F_q = 4T (parity <XX> = sqrt(T) cos phi_sum:
    # CFI T sin^2/(1 - T cos^2) <= T per phase), so the measured crossover sits near T = 1/2
    assert 1 / 3 - 0.03 < sweep["crossover_efficiency"] < 0.5 + 0.02
    assert not result.warnings
    json.loads(dumps({"network": data}))  # JSON-able through the runner's writer
    for name, plot in result.plots.items():
        plot(tmp_path / name)
        assert (tmp_path / name).stat().st_size > 1000


def test_missing_network_section_raises():
    from network_helpers import BASE, network_config as nc

    cfg = nc(dict(BASE))
    with pytest.raises(ValueError, match="no 'network' section"):
        analyse_network(AnalysisContext(config=cfg, backend=LocalBackend(), seed=1))


def test_network_runs_on_aer():
    from qlearn_sense.backends import AerBackend

    cfg = network_config(tiny_network(strategies=["classical", "distributed"],
                                      optimizer={"layers": 1, "steps": 120, "restarts": 2, "learning_rate": 0.1},
                                      shots=20000))
    res = analyse_network(AnalysisContext(config=cfg, backend=AerBackend(), seed=5))
    assert "aer" in res.data["executed_on"] and not res.flags["network_not_on_backend"]
    for entry in res.data["strategies"].values():
        assert abs(entry["estimate"]["z"]) < 4
