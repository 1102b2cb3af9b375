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
    derive_seeds,
    execute,
    fisher_summary,
    optimize_design,
    protocol_spec,
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
    "derive_seeds",
    "dumps",
    "execute",
    "fisher_summary",
    "load_results",
    "make_design",
    "make_signal",
    "optimize_design",
    "protocol_spec",
    "run_config_file",
    "run_experiment",
    "save_results",
    "versions",
]
