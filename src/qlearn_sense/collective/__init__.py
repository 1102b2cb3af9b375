"""Permutation-symmetric (collective) spin ensembles, N = 2..1000, exact in the Dicke blocks.

Basis: Dicke amplitudes ordered m = N/2, ..., -N/2 (index n = spins in |1>; |N/2, N/2> is
every spin in |0>, Z|0> = +|0>). Local dephasing (eta per spin) splits a symmetric state into
total-spin blocks; :func:`qfi` sums the SLD formula over them with stable gradients. T1 decay
(amplitude damping toward |0>, probability ``gamma_t1`` per spin) acts exactly in the same block
form (:func:`decayed_blocks`; ``qfi(..., gamma_t1=...)``; ``CollectiveSpec(gamma_t1=...)``).
"""

from qlearn_sense.collective._decay import DecayTruncation, decay_truncation, decayed_blocks, decayed_factors
from qlearn_sense.collective._dicke import MAX_SPINS, flip_table, flips_needed, m_values
from qlearn_sense.collective._engine import (
    COLLECTIVE_MEASUREMENTS,
    COLLECTIVE_PREPARATIONS,
    READOUTS,
    CGate,
    CollectiveProtocol,
    CollectiveSpec,
    compile_collective,
)
from qlearn_sense.collective._qfi import dephased_blocks, dephased_factors, qfi
from qlearn_sense.collective._register import register_to_collective_probs, to_register_protocol
from qlearn_sense.collective._scale import ScaleValue, finite_n_bound, scale_report
from qlearn_sense.collective._states import (
    coherent_state,
    counter_twist,
    dicke_state,
    ghz_state,
    oat_state,
    rotate,
    spin_operators,
    squeezing_parameters,
    twist,
)

__all__ = [
    "COLLECTIVE_MEASUREMENTS",
    "COLLECTIVE_PREPARATIONS",
    "MAX_SPINS",
    "READOUTS",
    "CGate",
    "CollectiveProtocol",
    "CollectiveSpec",
    "DecayTruncation",
    "ScaleValue",
    "coherent_state",
    "compile_collective",
    "counter_twist",
    "decay_truncation",
    "decayed_blocks",
    "decayed_factors",
    "dephased_blocks",
    "dephased_factors",
    "dicke_state",
    "finite_n_bound",
    "flip_table",
    "flips_needed",
    "ghz_state",
    "m_values",
    "oat_state",
    "qfi",
    "register_to_collective_probs",
    "rotate",
    "scale_report",
    "spin_operators",
    "squeezing_parameters",
    "to_register_protocol",
    "twist",
]
