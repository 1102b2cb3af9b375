"""One prepared design per run: the protocol compiled and jitted once, seeds derived once.

A :class:`PreparedDesign` wraps a :class:`~qlearn_sense.experiments.Design`
with everything the run's stages share: the compiled JAX protocol (one
``compile_jax`` per run), its jitted QFI and batched probabilities, the exact
Fourier phase model and the Fisher values at the true phase for given
parameters (computed once and cached), and the per-stage seeds derived from the
config's one seed. The optimizer, the estimation and every analysis read it
instead of compiling their own copies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from qlearn_sense import _jax  # noqa: F401
import jax
import numpy as np

from qlearn_sense.estimation import PhaseModel
from qlearn_sense.experiments._design import Design, make_design
from qlearn_sense.protocol import JaxProtocol, compile_jax

STAGES = ("optimize", "sample", "shadows", "detection", "ensemble", "network", "adaptive", "estimation")
"""Stage names with their own seed. The order is fixed: stage ``k`` gets child ``k`` of the
config seed's ``numpy.random.SeedSequence``, so adding a stage never changes another's seed."""


def derive_seeds(seed: int) -> dict[str, int]:
    """Independent child seeds of the config seed (numpy ``SeedSequence.spawn``), by stage name.

    Args:
      seed: the config's ``seed`` (>= 0).

    Returns:
      ``{stage: uint32 seed}`` for every name in :data:`STAGES`.
    """
    children = np.random.SeedSequence(seed).spawn(len(STAGES))
    return {k: int(c.generate_state(1, dtype=np.uint32)[0]) for k, c in zip(STAGES, children)}


@dataclass(frozen=True)
class OperatingPoint:
    """The design at fixed protocol parameters: phase model and Fisher values at the true phase.

    Attributes:
      params: protocol parameters, shape (n_params,).
      model: exact Fourier phase model of the outcome probabilities.
      qfi: quantum Fisher information per shot, rad^-2 (independent of the phase).
      cfi: classical Fisher information of the measurement at the true phase, rad^-2 per shot.
      probs: outcome probabilities at the true phase, shape (2**n,), little-endian.
    """

    params: np.ndarray
    model: PhaseModel
    qfi: float
    cfi: float
    probs: np.ndarray


@dataclass(eq=False)
class PreparedDesign:
    """A design with its compiled protocol and seeds; built once per run by :func:`prepare_design`.

    Attributes:
      design: the physical design (config, sensor, phase, noise, protocol).
      jp: the compiled protocol (pure JAX functions).
      seeds: per-stage seeds (:func:`derive_seeds`).
    """

    design: Design
    jp: JaxProtocol
    seeds: dict[str, int]
    _points: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._qfi = jax.jit(self.jp.qfi)
        self._probs_batch = jax.jit(jax.vmap(self.jp.probs, in_axes=(None, 0)))

    # Design attributes read through (config, protocol, phase_rad, eta, ...)
    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.design, name)

    def key(self, stage: str) -> jax.Array:
        """The JAX PRNG key of a stage (from :attr:`seeds`)."""
        return jax.random.PRNGKey(self.seeds[stage])

    def probs(self, params: np.ndarray, phis: np.ndarray) -> np.ndarray:
        """Outcome probabilities at each phase, shape (len(phis), 2**n), with one jitted, vmapped call."""
        return np.asarray(self._probs_batch(np.asarray(params, dtype=np.float64),
                                            np.atleast_1d(np.asarray(phis, dtype=np.float64))))

    def at(self, params: np.ndarray) -> OperatingPoint:
        """The :class:`OperatingPoint` at ``params`` (computed once per parameter vector, then cached)."""
        params = np.asarray(params, dtype=np.float64)
        key = params.tobytes()
        if key not in self._points:
            n = self.design.protocol.n_qubits
            phis = 2 * np.pi * np.arange(2 * n + 1) / (2 * n + 1)
            table = self.probs(params, phis)
            model = PhaseModel.from_probs_fn(lambda x, _t=dict(zip(phis.tolist(), table)): _t[x], n)
            phase = self.design.phase_rad
            self._points[key] = OperatingPoint(
                params=params, model=model, qfi=float(self._qfi(params)), cfi=float(model.cfi(phase)),
                probs=np.asarray(model.probs(phase), dtype=np.float64).reshape(-1))
        return self._points[key]


def prepare_design(design_or_config, *, noise=None, protocol_override: tuple[str, str] | None = None
                   ) -> PreparedDesign:
    """Compile a design once: :func:`make_design` (when given a config), ``compile_jax``, seeds.

    Args:
      design_or_config: a :class:`Design`, a :class:`PreparedDesign` (returned
        as is) or a validated ``ExperimentConfig``.
      noise: calibrated noise for :func:`make_design` (configs only).
      protocol_override: ``(preparation, measurement)`` for :func:`make_design` (configs only).

    Raises:
      DesignError: see :func:`make_design`.
    """
    if isinstance(design_or_config, PreparedDesign):
        return design_or_config
    design = (design_or_config if isinstance(design_or_config, Design)
              else make_design(design_or_config, noise=noise, protocol_override=protocol_override))
    return PreparedDesign(design=design, jp=compile_jax(design.protocol), seeds=derive_seeds(design.config.seed))
