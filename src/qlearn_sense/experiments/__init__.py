"""Experiments: the prepared design, the runner, registered analyses, hardware runs, results I/O and plots.

The runner (:func:`run_experiment`) prepares one design per run
(:class:`PreparedDesign`: the protocol compiled once, per-stage seeds), optimizes
it, executes it on a backend and calls every registered analysis
(:func:`register_analysis`) that applies to the config; each returns an
:class:`AnalysisResult` that the runner writes through one atomic writer.
Shot-budget sweeps live beside the runner in :mod:`qlearn_sense.budget`.
"""

from qlearn_sense.experiments._analysis import (
    AnalysisContext,
    AnalysisResult,
    Quantity,
    analyses_for,
    register_analysis,
    registered_analyses,
)
from qlearn_sense.experiments._design import Design, DesignError, make_design, make_signal
from qlearn_sense.experiments._estimation_run import (
    GOF_P_WARN,
    Z_IMPLAUSIBLE,
    analyse,
    bound_applicability,
    cfi_check,
    fisher_summary,
    goodness_of_fit,
)
from qlearn_sense.experiments._prepared import STAGES, OperatingPoint, PreparedDesign, derive_seeds, prepare_design
from qlearn_sense.experiments._results import (
    REQUIRED_KEYS,
    ResultsError,
    atomic_write_bytes,
    atomic_write_text,
    dumps,
    load_results,
    save_results,
    versions,
)
from qlearn_sense.experiments._rundir import RunDirError, new_run_id
from qlearn_sense.experiments._runner import (
    RunOutcome,
    backend_noise,
    backend_options,
    execute,
    optimize_design,
    protocol_spec,
    run_config_file,
    run_experiment,
)
from qlearn_sense.experiments._hardware import fetch_run, finish_run, resubmit_run  # noqa: E402

__all__ = [
    "GOF_P_WARN",
    "REQUIRED_KEYS",
    "STAGES",
    "Z_IMPLAUSIBLE",
    "AnalysisContext",
    "AnalysisResult",
    "Design",
    "DesignError",
    "OperatingPoint",
    "PreparedDesign",
    "Quantity",
    "ResultsError",
    "RunDirError",
    "RunOutcome",
    "analyse",
    "analyses_for",
    "atomic_write_bytes",
    "atomic_write_text",
    "backend_noise",
    "backend_options",
    "bound_applicability",
    "cfi_check",
    "derive_seeds",
    "dumps",
    "execute",
    "fetch_run",
    "finish_run",
    "fisher_summary",
    "goodness_of_fit",
    "load_results",
    "make_design",
    "make_signal",
    "new_run_id",
    "optimize_design",
    "prepare_design",
    "protocol_spec",
    "register_analysis",
    "registered_analyses",
    "resubmit_run",
    "run_config_file",
    "run_experiment",
    "save_results",
    "versions",
]

# The circuits/ library (OpenQASM 3)
from qlearn_sense.experiments._circuits import (  # noqa: E402
    LibraryFile,
    load_library_circuit,
    read_library_file,
    write_circuit_library,
)

__all__ += ["LibraryFile", "load_library_circuit", "read_library_file", "write_circuit_library"]
