"""Fisher information: QFI via the SLD (custom VJP), CFI, and closed-form limits.

Pure, jit-able and differentiable. Units: rad^-2 for a phase per qubit.
"""

from qlearn_sense.fisher._bounds import (
    asymptotic_bound,
    bounds_table,
    channel_extension_bound,
    crb_field_std,
    crb_phase_std,
    frequency_optimum,
    ghz_dephased,
    heisenberg_limit,
    sensitivity,
    sql,
    two_qubit_optimum,
)
from qlearn_sense.fisher._sld import cfi, pure_state_qfi, qfi, qfi_dephased, qfi_generator
from qlearn_sense.fisher._qfim import (
    cfim,
    compatibility,
    linear_function_fisher,
    qfim,
    qfim_pure,
    sld,
    sld_bound,
)
from qlearn_sense.fisher._holevo import holevo_bound, rld_bound

__all__ = [
    "asymptotic_bound",
    "bounds_table",
    "cfi",
    "channel_extension_bound",
    "crb_field_std",
    "crb_phase_std",
    "frequency_optimum",
    "ghz_dephased",
    "heisenberg_limit",
    "pure_state_qfi",
    "qfi",
    "qfi_dephased",
    "qfi_generator",
    "sensitivity",
    "sql",
    "two_qubit_optimum",
    "cfim",
    "compatibility",
    "holevo_bound",
    "linear_function_fisher",
    "qfim",
    "qfim_pure",
    "rld_bound",
    "sld",
    "sld_bound",
]
