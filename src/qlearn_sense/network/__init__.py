"""Sensor networks: nodes with qubit registers, source models, transduction links, strategies.

Local networks (entanglement inside nodes) and distributed networks (entanglement
shared through transduction links) are compared with classical fusion on the same
network, for a linear function of the sources or a weighted cost tr(W F^-1).
"""

from qlearn_sense.network._estimate import NetworkEstimate, mle_network, sample_network_counts
from qlearn_sense.network._model import STRATEGIES, Link, Network, Node, rad_per_T
from qlearn_sense.network._sim import (
    MAX_NETWORK_QUBITS,
    NetworkCircuit,
    NetworkJax,
    bind_network,
    common_mode_factor,
    compile_network,
    node_charges,
    to_qiskit_network,
)
from qlearn_sense.network._sources import (
    MU0,
    Source,
    current_dipole_field_sphere,
    lead_field,
    magnetic_dipole_field,
)
from qlearn_sense.network._strategies import (
    Estimand,
    StrategyResult,
    crossover_efficiency,
    fisher_matrices,
    ghz_params,
    normalization,
    optimize_strategy,
    precision,
    wls_fusion,
)

__all__ = [
    "MAX_NETWORK_QUBITS",
    "MU0",
    "STRATEGIES",
    "Estimand",
    "Link",
    "Network",
    "NetworkCircuit",
    "NetworkEstimate",
    "NetworkJax",
    "Node",
    "Source",
    "StrategyResult",
    "bind_network",
    "common_mode_factor",
    "compile_network",
    "crossover_efficiency",
    "current_dipole_field_sphere",
    "fisher_matrices",
    "ghz_params",
    "lead_field",
    "magnetic_dipole_field",
    "mle_network",
    "node_charges",
    "normalization",
    "optimize_strategy",
    "precision",
    "rad_per_T",
    "sample_network_counts",
    "to_qiskit_network",
    "wls_fusion",
]
