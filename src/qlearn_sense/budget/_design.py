"""Design cache entries of a budget sweep: one optimized protocol per (protocol, n, noise).

:func:`build_design` runs on a worker; its :class:`DesignEntry` holds only
picklable data (the protocol description, parameter and probability arrays),
never compiled JAX functions, so any worker can evaluate points from it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from qlearn_sense import _jax  # noqa: F401
import jax
import jax.numpy as jnp
import numpy as np

from qlearn_sense.budget._config import (
    STATE_PROTOCOLS,
    BudgetConfig,
    derive_seed,
    expand_grid,
)
from qlearn_sense.config import DetectionConfig, ExperimentConfig
from qlearn_sense.estimation import PhaseModel
from qlearn_sense.experiments import backend_noise, make_design
from qlearn_sense.fisher import sql
from qlearn_sense.hyptest import shots_to_decide
from qlearn_sense.optimize import make_optimizer, maximize, optimize_protocol, random_init
from qlearn_sense.protocol import Protocol, build_protocol, compile_jax, exact_probs
from qlearn_sense.shadows import PauliObservables, biomarker_observables, exact_expectations


@dataclass(frozen=True)
class DesignSpec:
    """What :func:`build_design` needs (small, picklable).

    Attributes:
      key: design key ``"<protocol>/n=<n>/<noise>"``.
      protocol: state protocol name (see ``STATE_PROTOCOLS``).
      config: base experiment config with n, noise and optimizer applied.
      seed: optimization seed.
      detection: detection section when the sweep has a detection task.
      observables: observable set name when the design is measured for observables.
    """

    key: str
    protocol: str
    config: ExperimentConfig
    seed: int
    detection: DetectionConfig | None = None
    observables: str | None = None


@dataclass(frozen=True)
class DesignEntry:
    """An optimized protocol and everything points derive from it (SI units, rad).

    Attributes:
      key: design key.
      protocol_name: state protocol name.
      protocol: the protocol (gates + noise), picklable data.
      params: optimized parameters, shape (n_params,).
      phase_rad: true phase per qubit.
      dphi_dB: phase per qubit per tesla, rad/T.
      field_T: true field, T.
      eta: mean coherence factor.
      shot_time_s: time per shot, s.
      qfi, cfi, sql: Fisher information per shot (rad^-2): state QFI, CFI of the
        measurement at the true phase, standard quantum limit ``n eta^2``.
      coeffs: exact Fourier phase model of the outcome probabilities (see
        :class:`qlearn_sense.estimation.PhaseModel`), shape (2n+1, 2**n).
      objective_value: final optimizer objective.
      optimization_s: seconds spent optimizing.
      build_s: seconds :func:`build_design` took in all (optimization, phase model, extras).
      phi_null, phi_alt, p0, p1: detection phases (rad) and outcome distributions.
      shots_to_decide: exact shots for the Neyman-Pearson test to reach
        (alpha, beta) (nan when unreachable or no detection task).
      obs_protocol: the state followed by a local-basis measurement ansatz (observables task).
      obs_truth: exact expectation values of the observable set on the state
        before readout, shape (M,).
    """

    key: str
    protocol_name: str
    protocol: Protocol
    params: np.ndarray
    phase_rad: float
    dphi_dB: float
    field_T: float
    eta: float
    shot_time_s: float
    qfi: float
    cfi: float
    sql: float
    coeffs: np.ndarray
    objective_value: float
    optimization_s: float
    build_s: float = math.nan
    phi_null: float = math.nan
    phi_alt: float = math.nan
    p0: np.ndarray | None = None
    p1: np.ndarray | None = None
    shots_to_decide: float = math.nan
    obs_protocol: Protocol | None = None
    obs_truth: np.ndarray | None = None

    @property
    def model(self) -> PhaseModel:
        """The exact phase model of the design's outcome probabilities."""
        return PhaseModel(self.coeffs, self.protocol.n_qubits)


@dataclass(frozen=True)
class DesignFailure:
    """A design that could not be built; its points record ``error`` (it is not cached, so resume retries)."""

    key: str
    error: str


def design_specs(config: BudgetConfig) -> dict[str, DesignSpec]:
    """One spec per design key used by the grid, in grid order (network points use none)."""
    needs: dict[str, set[str]] = {}
    first: dict[str, object] = {}
    for p in expand_grid(config):
        if p.task == "network":
            continue
        needs.setdefault(p.design_key, set()).add(p.task)
        first.setdefault(p.design_key, p)
    specs = {}
    base = config.base
    for key, p in first.items():
        sensor = base.sensor
        if p.noise_kind == "eta":
            sensor = sensor.model_copy(update={"eta": p.noise_value})
        elif p.noise_kind == "t2_star_s":
            sensor = sensor.model_copy(update={"t2_star_s": p.noise_value, "eta": None})
        cfg = base.model_copy(update={
            "sensor": sensor, "optimizer": config.optimizer_config,
            "protocol": base.protocol.model_copy(update={"n_qubits": p.n_qubits})})
        specs[key] = DesignSpec(
            key=key, protocol=key.split("/")[0], config=cfg, seed=derive_seed(config.seed, "design/" + key),
            detection=config.detection_config if "detection" in needs[key] else None,
            observables=config.observables.set if "observables" in needs[key] else None)
    return specs


def observable_set(name: str, n: int) -> PauliObservables:
    """Observable set by name: ``biomarker`` (X_j, Y_j, Z_iZ_j) or ``pauli_weight2`` (all weight 1 and 2)."""
    if name == "biomarker":
        return biomarker_observables(n)
    if name == "pauli_weight2":
        labels = []
        for i in range(n):
            for a in "XYZ":
                labels.append("".join(a if q == i else "I" for q in range(n)))
        for i in range(n):
            for j in range(i + 1, n):
                for a in "XYZ":
                    for b in "XYZ":
                        labels.append("".join(a if q == i else b if q == j else "I" for q in range(n)))
        return PauliObservables.from_strings(labels)
    raise ValueError(f"observable set {name!r} is unknown; accepted: biomarker, pauli_weight2")


def pauli_expectations(rho: np.ndarray, obs: PauliObservables) -> np.ndarray:
    """``c_m tr(P_m rho)`` for a little-endian density matrix (:func:`qlearn_sense.shadows.exact_expectations`)."""
    return exact_expectations(rho, obs)


def _phase_model(protocol: Protocol, params: np.ndarray) -> PhaseModel:
    """Exact phase model from one batched call of the cached local simulator."""
    m = 2 * protocol.n_qubits + 1
    phis = 2 * np.pi * np.arange(m) / m
    rows = exact_probs(protocol, np.tile(params, (m, 1)), phis)
    table = {float(p): r for p, r in zip(phis, rows)}
    return PhaseModel.from_probs_fn(lambda x: table[x], protocol.n_qubits)


def _optimize(protocol: Protocol, objective: str, phase: float, config: ExperimentConfig, seed: int):
    oc = config.optimizer
    jp = compile_jax(protocol)
    key = jax.random.PRNGKey(seed)
    opt = optimize_protocol(jp, protocol.n_params, protocol.n_prep_params, objective=objective, key=key, phi=phase,
                            optimizer=make_optimizer(oc.name, oc.learning_rate), steps=oc.steps,
                            restarts=oc.restarts, init_scale=oc.init_scale)
    params, value = np.asarray(opt.params, dtype=np.float64), float(opt.value)
    n_prep, n_meas = protocol.n_prep_params, protocol.n_params - protocol.n_prep_params
    if objective == "qfi" and n_meas:
        # keep the QFI-optimal state; fit the measurement for the CFI at the working point
        prep = jnp.asarray(params[:n_prep])
        init = jnp.concatenate([jnp.asarray(params[None, n_prep:]),
                                random_init(jax.random.fold_in(key, 2), max(oc.restarts - 1, 0), n_meas,
                                            oc.init_scale)])
        meas = maximize(lambda th: jp.cfi(jnp.concatenate([prep, th]), phase), init,
                        optimizer=make_optimizer(oc.name, oc.learning_rate), steps=oc.steps)
        params = np.concatenate([params[:n_prep], np.asarray(meas.params, dtype=np.float64)])
    return params, value


def exact_or_saddlepoint(fn, *args, **kwargs):
    """Call a :mod:`qlearn_sense.hyptest` function exactly, else with the saddle-point approximation.

    Chooses the method explicitly instead of filtering ``ApproximationWarning``:
    ``warnings.catch_warnings`` is not thread-safe and workers run points in threads.

    Raises:
      ValueError: what ``fn`` raises with ``method="saddlepoint"`` (invalid inputs, target not reached).
    """
    try:
        return fn(*args, method="exact", **kwargs)
    except ValueError:
        return fn(*args, method="saddlepoint", **kwargs)


def build_design(spec: DesignSpec) -> DesignEntry:
    """Optimize the spec's protocol and precompute what every point needs.

    Raises:
      qlearn_sense.experiments.DesignError: impossible design (e.g. an echo on a static field).
    """
    t_start = time.perf_counter()
    cfg = spec.config
    prep, meas, objective = STATE_PROTOCOLS[spec.protocol]
    prep = prep or cfg.protocol.preparation.ansatz
    meas = meas or cfg.protocol.measurement.ansatz
    design = make_design(cfg, noise=backend_noise(cfg), protocol_override=(prep, meas))
    t0 = time.perf_counter()
    params, value = _optimize(design.protocol, objective, design.phase_rad, cfg, spec.seed)
    seconds = time.perf_counter() - t0
    model = _phase_model(design.protocol, params)
    jp = compile_jax(design.protocol)
    n = design.protocol.n_qubits
    extra: dict = {}
    if spec.detection is not None:
        det = spec.detection
        phi0, phi1 = det.null_field_T * design.dphi_dA, det.alt_field_T * design.dphi_dA
        p0, p1 = (model.probs(x) for x in (phi0, phi1))
        p0, p1 = p0 / p0.sum(), p1 / p1.sum()
        try:
            needed = float(exact_or_saddlepoint(shots_to_decide, p0, p1, det.alpha, det.beta, max_shots=10**9))
        except ValueError:
            needed = math.nan
        extra.update(phi_null=phi0, phi_alt=phi1, p0=p0, p1=p1, shots_to_decide=needed)
    if spec.observables is not None:
        obs_protocol = build_protocol(n, prep, "local", prep_layers=cfg.protocol.preparation.layers,
                                      noise=design.noise, name=f"{spec.key}-observables")
        theta = np.concatenate([params[:design.protocol.n_prep_params], np.zeros(2 * n)])
        rho = np.asarray(compile_jax(obs_protocol).density_matrix(theta, design.phase_rad))
        extra.update(obs_protocol=obs_protocol,
                     obs_truth=pauli_expectations(rho, observable_set(spec.observables, n)))
    qfi = float(jax.jit(jp.qfi)(params))
    return DesignEntry(
        key=spec.key, protocol_name=spec.protocol, protocol=design.protocol, params=params,
        phase_rad=design.phase_rad, dphi_dB=design.dphi_dA, field_T=design.amplitude_T, eta=design.eta,
        shot_time_s=design.shot_time_s, qfi=qfi,
        cfi=float(model.cfi(design.phase_rad)), sql=sql(n, design.eta), coeffs=model.coeffs,
        objective_value=value, optimization_s=seconds, build_s=time.perf_counter() - t_start, **extra)


def build_design_or_failure(spec: DesignSpec) -> DesignEntry | DesignFailure:
    """:func:`build_design`, with any exception returned as a :class:`DesignFailure` (the sweep goes on)."""
    try:
        return build_design(spec)
    except Exception as exc:  # noqa: BLE001 - recorded in every point of the design
        return DesignFailure(spec.key, f"{type(exc).__name__}: {exc}")
