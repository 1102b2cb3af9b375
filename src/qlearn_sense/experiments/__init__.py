"""Experiments: design, runner, results I/O and plots."""

from qlearn_sense.experiments._design import Design, DesignError, make_design, make_signal
from qlearn_sense.experiments._results import (
    REQUIRED_KEYS,
    ResultsError,
    dumps,
    load_results,
    save_results,
    versions,
)
from qlearn_sense.experiments._runner import (
    RunOutcome,
    analyse,
    backend_noise,
    cfi_check,
    derive_seeds,
    execute,
    fetch_run,
    finish_run,
    fisher_summary,
    optimize_design,
    protocol_spec,
    resubmit_run,
    run_config_file,
    run_experiment,
)

__all__ = [
    "REQUIRED_KEYS",
    "Design",
    "DesignError",
    "ResultsError",
    "RunOutcome",
    "analyse",
    "backend_noise",
    "cfi_check",
    "derive_seeds",
    "dumps",
    "execute",
    "fetch_run",
    "finish_run",
    "fisher_summary",
    "load_results",
    "make_design",
    "make_signal",
    "optimize_design",
    "protocol_spec",
    "resubmit_run",
    "run_config_file",
    "run_experiment",
    "save_results",
    "versions",
]

# Shot-budget sweeps (issue 6)
from qlearn_sense.experiments._budget import (  # noqa: E402
    BudgetError,
    BudgetOutcome,
    load_budget_table,
    run_budget,
)
from qlearn_sense.experiments._budget_config import (  # noqa: E402
    BudgetConfig,
    GridPoint,
    budget_config_from_dict,
    budget_config_to_yaml,
    expand_grid,
    load_budget_config,
)
from qlearn_sense.experiments._budget_report import derive_budget, write_budget_report  # noqa: E402
from qlearn_sense.experiments._budget_store import COLUMNS as BUDGET_COLUMNS  # noqa: E402
from qlearn_sense.experiments._budget_store import TIMING_COLUMNS as BUDGET_TIMING_COLUMNS  # noqa: E402

__all__ += [
    "BUDGET_COLUMNS",
    "BUDGET_TIMING_COLUMNS",
    "BudgetConfig",
    "BudgetError",
    "BudgetOutcome",
    "GridPoint",
    "budget_config_from_dict",
    "budget_config_to_yaml",
    "derive_budget",
    "expand_grid",
    "load_budget_config",
    "load_budget_table",
    "run_budget",
    "write_budget_report",
]

# The circuits/ library (OpenQASM 3)
from qlearn_sense.experiments._circuits import (  # noqa: E402
    LibraryFile,
    load_library_circuit,
    read_library_file,
    write_circuit_library,
)

__all__ += ["LibraryFile", "load_library_circuit", "read_library_file", "write_circuit_library"]
