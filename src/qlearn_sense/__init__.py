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
- :mod:`qlearn_sense.experiments`: prepared design, runner, registered analyses, results I/O.
- :mod:`qlearn_sense.budget`: shot-budget sweeps on Dask (resumable).
- :mod:`qlearn_sense.collective`: permutation-symmetric ensembles of up to 1,000 spins.
- :mod:`qlearn_sense.network`: multi-node sensor networks, source models, transduction links.
- :mod:`qlearn_sense.adaptive`: sequential Bayesian estimation, design policies, tracking.

JAX (with float64 enabled) is imported by the numerical subpackages, not by this
module, so the command line and config validation start fast.
"""

import os as _os
import sys as _sys
from importlib.metadata import PackageNotFoundError, version as _version

if "jax" not in _sys.modules:  # float64 for users who import jax after us (honoured by jax at import)
    _os.environ.setdefault("JAX_ENABLE_X64", "1")


try:
    __version__ = _version("qlearn-sense")
except PackageNotFoundError:  # pragma: no cover - source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
