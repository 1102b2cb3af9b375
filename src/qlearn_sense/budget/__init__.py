"""Shot-budget sweeps: how many shots each protocol needs, on Dask, resumable and lossless.

A sweep is a base experiment plus a grid (tasks x protocols x n x noise x
backends x shots x seeds). :func:`run_budget` evaluates every grid point as a
Dask task (designs optimized once per protocol, n and noise), stores each
point's row the moment it arrives, and, once complete, writes a tidy table,
the derived shots-to-target figures, a Markdown summary and plots. The package
sits beside the runner (:mod:`qlearn_sense.experiments`), whose design helpers
it uses.
"""

from qlearn_sense.budget._config import (
    BudgetConfig,
    GridPoint,
    budget_config_from_dict,
    budget_config_to_yaml,
    expand_grid,
    load_budget_config,
)
from qlearn_sense.budget._report import derive_budget, write_budget_report
from qlearn_sense.budget._store import (
    COLUMNS,
    STATES,
    TIMING_COLUMNS,
    BudgetError,
    CorruptPart,
    StatusFile,
)
from qlearn_sense.budget._sweep import (
    BudgetInterrupted,
    BudgetOutcome,
    load_budget_table,
    resume_command,
    run_budget,
)

__all__ = [
    "COLUMNS",
    "STATES",
    "TIMING_COLUMNS",
    "BudgetConfig",
    "BudgetError",
    "BudgetInterrupted",
    "BudgetOutcome",
    "CorruptPart",
    "GridPoint",
    "StatusFile",
    "budget_config_from_dict",
    "budget_config_to_yaml",
    "derive_budget",
    "expand_grid",
    "load_budget_config",
    "load_budget_table",
    "resume_command",
    "run_budget",
    "write_budget_report",
]
