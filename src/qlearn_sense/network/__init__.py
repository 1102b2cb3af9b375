"""Sensor networks: nodes with qubit registers, source models, transduction links, strategies.

Local networks (entanglement inside nodes) and distributed networks (entanglement
shared through transduction links) are compared with classical fusion on the same
network, for a linear function of the sources or a weighted cost tr(W F^-1).
Nodes are qubit registers (in the strategy circuits) or sensing-only ensembles
(collective spins, NV ensembles) that add their local Fisher information to every
strategy without sharing entanglement. Classical fusion reports each node's
estimate and the weighted-least-squares fusion (:func:`classical_fusion`); the
crossover efficiency re-optimizes the distributed circuit at every bisection
point (:func:`crossover_reoptimized`).
"""

from qlearn_sense.network._estimate import NetworkEstimate, mle_network, sample_network_counts
from qlearn_sense.network._fusion import ClassicalFusion, NodeEstimate, classical_fusion
from qlearn_sense.network._model import NODE_KINDS, STRATEGIES, Link, Network, Node, rad_per_T
from qlearn_sense.network._nodes import MAX_ENSEMBLE_SPINS, ensemble_phase_fisher, nv_ensemble_phase_fisher
from qlearn_sense.network._sim import (
    MAX_NETWORK_QUBITS,
    NetworkCircuit,
    NetworkJax,
    bind_network,
    common_mode_factor,
    compile_network,
    device_network_circuit,
    node_charges,
    to_qiskit_network,
    without_channels,
)
from qlearn_sense.network._sources import (
    MU0,
    Source,
    current_dipole_field_sphere,
    lead_field,
    magnetic_dipole_field,
)
from qlearn_sense.network._strategies import (
    Crossover,
    Estimand,
    StrategyResult,
    crossover_efficiency,
    crossover_reoptimized,
    fisher_matrices,
    ghz_params,
    normalization,
    optimize_strategy,
    precision,
    wls_fusion,
)

__all__ = [
    "device_network_circuit",
    "without_channels",
    "MAX_ENSEMBLE_SPINS",
    "MAX_NETWORK_QUBITS",
    "MU0",
    "NODE_KINDS",
    "STRATEGIES",
    "ClassicalFusion",
    "Crossover",
    "Estimand",
    "Link",
    "Network",
    "NetworkCircuit",
    "NetworkEstimate",
    "NetworkJax",
    "Node",
    "NodeEstimate",
    "Source",
    "StrategyResult",
    "bind_network",
    "classical_fusion",
    "common_mode_factor",
    "compile_network",
    "crossover_efficiency",
    "crossover_reoptimized",
    "current_dipole_field_sphere",
    "ensemble_phase_fisher",
    "fisher_matrices",
    "ghz_params",
    "lead_field",
    "magnetic_dipole_field",
    "mle_network",
    "node_charges",
    "normalization",
    "nv_ensemble_phase_fisher",
    "optimize_strategy",
    "precision",
    "rad_per_T",
    "sample_network_counts",
    "to_qiskit_network",
    "wls_fusion",
]
