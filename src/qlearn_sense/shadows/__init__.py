"""Classical shadows (Huang, Kueng, Preskill, Nat. Phys. 16, 1050 (2020)).

Conventions (n qubits, S snapshots, M observables):

* recipes: int8 (S, n), measured basis of qubit j in snapshot s, 0=X, 1=Y, 2=Z
  (PennyLane ``ClassicalShadow`` convention).
* bits: uint8 (S, n), outcome of qubit j; 0 is eigenvalue +1, 1 is -1.
* observables: :class:`PauliObservables`, dense int8 (M, n) codes 0=I, 1=X, 2=Y,
  3=Z plus real coefficients (M,); the label ``"XIZY"`` has qubit j at character
  j (qiskit labels are the reverse).
* dense vectors/matrices: big-endian, qubit 0 the most significant index bit.
* randomness: only through an explicit ``numpy.random.Generator`` or integer seed.
"""

from qlearn_sense.shadows._budget import (
    SampleComplexity,
    sample_complexity_from_variance,
    shadow_norm_pauli,
    shadow_sample_complexity,
)
from qlearn_sense.shadows._clifford import estimate_clifford
from qlearn_sense.shadows._derandomize import derandomized_recipes
from qlearn_sense.shadows._estimate import ShadowEstimate, estimate_paulis, median_of_means
from qlearn_sense.shadows._observables import PauliObservables, biomarker_observables
from qlearn_sense.shadows._reconstruct import estimate_fidelity, shadow_state
from qlearn_sense.shadows._recipes import (
    basis_rotation_angles,
    random_clifford_recipes,
    random_pauli_recipes,
)
from qlearn_sense.shadows._robust import (
    RobustCalibration,
    calibrate_robust,
    estimate_paulis_robust,
)

from qlearn_sense.shadows._exact import (
    exact_expectations,
    pauli_matrix,
    qubit_wise_commuting_groups,
    to_big_endian,
    to_sparse_pauli_op,
)
from qlearn_sense.shadows._readout import readout_biased_state, readout_shadow_superoperator

__all__ = [
    "PauliObservables",
    "RobustCalibration",
    "SampleComplexity",
    "ShadowEstimate",
    "basis_rotation_angles",
    "biomarker_observables",
    "calibrate_robust",
    "derandomized_recipes",
    "estimate_clifford",
    "estimate_fidelity",
    "estimate_paulis",
    "estimate_paulis_robust",
    "exact_expectations",
    "median_of_means",
    "pauli_matrix",
    "qubit_wise_commuting_groups",
    "random_clifford_recipes",
    "random_pauli_recipes",
    "readout_biased_state",
    "readout_shadow_superoperator",
    "sample_complexity_from_variance",
    "shadow_norm_pauli",
    "shadow_sample_complexity",
    "shadow_state",
    "to_big_endian",
    "to_sparse_pauli_op",
]
