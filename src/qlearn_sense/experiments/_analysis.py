"""The analysis contract: pure steps the runner sequences, each returning a typed result.

An analysis is a function ``analysis(ctx: AnalysisContext) -> AnalysisResult``
registered by name with :func:`register_analysis`. The runner builds one
:class:`AnalysisContext` per run (the prepared design, the optimized
parameters, the counts, the backend, a seed per stage) and calls every
registered analysis whose ``applies(config)`` is true, in registration order.
Analyses never write files themselves: they return the data for
``results.json`` (under ``AnalysisResult.key``), the summary lines the CLI
prints, warnings (printed loudly and flagged in ``results.json``), extra files
and plot functions. The runner writes everything through one atomic writer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal

if TYPE_CHECKING:  # pragma: no cover - typing only
    import numpy as np

    from qlearn_sense.backends import AbstractBackend, SampleResult
    from qlearn_sense.config import ExperimentConfig

Progress = Callable[[str, int, int], None]
"""``progress(task, completed, total)``: called while long stages run."""

QuantityKind = Literal["computed", "measured", "bound", "extrapolation", "model"]


@dataclass(frozen=True)
class Quantity:
    """One reported number with its unit, meaning and provenance.

    Attributes:
      value: the number, in ``unit``.
      unit: SI unit text (``"T"``, ``"T/sqrt(Hz)"``, ``"rad^-2"``, ``"1"`` for dimensionless).
      meaning: one line saying what it is.
      stderr: its standard error in ``unit``, None where it has none.
      kind: ``computed`` (exact from the model), ``measured`` (from data),
        ``bound`` (a limit no protocol can beat under stated assumptions),
        ``extrapolation`` (scaled beyond what was computed), ``model``
        (the design model's prediction, e.g. a Cramer-Rao bound).
    """

    value: float
    unit: str
    meaning: str
    stderr: float | None = None
    kind: QuantityKind = "computed"

    def to_dict(self) -> dict:
        """JSON form: ``{"value", "stderr", "unit", "meaning", "kind"}``."""
        return {"value": self.value, "stderr": self.stderr, "unit": self.unit, "meaning": self.meaning,
                "kind": self.kind}


@dataclass
class AnalysisResult:
    """What one analysis returns; the runner writes it.

    Attributes:
      key: top-level key of ``results.json`` the data go under (e.g. ``"network"``).
      data: JSON-able dict (numpy arrays and scalars allowed; :class:`Quantity`
        values are stored through ``to_dict``).
      summary: lines the CLI prints for this section (plain text, no markup).
      warnings: problems with the numbers (model misfit, assumption violated,
        implausible estimate). Printed loudly and collected in
        ``results["warnings"]`` with ``results["flags"]``.
      flags: machine-readable flags, e.g. ``{"implausible_estimate": True}``.
      files: extra run-folder files, relative path -> text or bytes (or a
        numpy array, saved as ``.npy``).
      plots: ``plots/<name>`` -> function writing that PNG to the given path.
    """

    key: str
    data: dict
    summary: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    flags: dict[str, Any] = field(default_factory=dict)
    files: dict[str, Any] = field(default_factory=dict)
    plots: dict[str, Callable[[Path], None]] = field(default_factory=dict)


@dataclass(frozen=True)
class AnalysisContext:
    """Everything an analysis may read: nothing here is mutated.

    Attributes:
      config: the validated experiment config.
      design: the prepared design of the run (compiled protocol, phase model,
        Fisher values at the true phase), or None for configs without a
        register design (e.g. network-only runs).
      params: optimized protocol parameters, shape (n_params,), or None.
      sample: the counts of the main PUB, or None before execution.
      backend: the backend the run uses.
      seed: this analysis's own seed (from the run's seed, by stage name).
      progress: progress callback or None.
      run_dir: the run folder (the job-ledger key of PUBs an analysis submits itself: adaptive
        rounds at PUB 1000+, network circuits at 2000+), or None.
    """

    config: "ExperimentConfig"
    backend: "AbstractBackend"
    seed: int
    design: Any = None
    params: "np.ndarray | None" = None
    sample: "SampleResult | None" = None
    progress: Progress | None = None
    run_dir: Any = None

    def report(self, task: str, done: int, total: int) -> None:
        """Forward progress to the callback, if any."""
        if self.progress is not None:
            self.progress(task, done, total)


Analysis = Callable[[AnalysisContext], AnalysisResult]


@dataclass(frozen=True)
class _Entry:
    name: str
    fn: Analysis
    applies: Callable[["ExperimentConfig"], bool]


_ANALYSES: dict[str, _Entry] = {}


def register_analysis(name: str, fn: Analysis, applies: Callable[["ExperimentConfig"], bool]) -> None:
    """Register an analysis by name (re-registering a name replaces it).

    Args:
      name: registry name; also its seed's stage name.
      fn: the analysis.
      applies: predicate on the config; the runner calls ``fn`` only when true.
    """
    _ANALYSES[name] = _Entry(name, fn, applies)


def registered_analyses() -> list[str]:
    """Names of the registered analyses, in the order the runner calls them."""
    return list(_ANALYSES)


def analyses_for(config: "ExperimentConfig") -> list[tuple[str, Analysis]]:
    """``(name, fn)`` of the registered analyses that apply to ``config``, in order."""
    return [(e.name, e.fn) for e in _ANALYSES.values() if e.applies(config)]
