"""qlearn-sense: Gen IV quantum sensing (sensing and learning in one pipeline).

Subpackages (imports point down only):

- :mod:`qlearn_sense.config`: pydantic models of experiment configs (SI units).
- :mod:`qlearn_sense.physics`: sensors (NV centre, generic qubit) and biomedical signals.
- :mod:`qlearn_sense.protocol`: backend-neutral sensing protocols and their JAX/qiskit compilers.
- :mod:`qlearn_sense.fisher`: quantum and classical Fisher information, bounds.
- :mod:`qlearn_sense.optimize`: optax loops maximizing QFI or CFI.
- :mod:`qlearn_sense.estimation`: field estimation from counts.
- :mod:`qlearn_sense.shadows`: classical shadows.
- :mod:`qlearn_sense.hyptest`: quantum hypothesis testing.
- :mod:`qlearn_sense.backends`: local, PennyLane, qiskit-aer and IBM Quantum execution.
- :mod:`qlearn_sense.experiments`: runner, results I/O, budget sweeps.
"""

from importlib.metadata import PackageNotFoundError, version as _version

from qlearn_sense import _jax  # noqa: F401  (enables float64)

try:
    __version__ = _version("qlearn-sense")
except PackageNotFoundError:  # pragma: no cover - source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
