"""Checks of a validated config that need physics or arithmetic, not just field ranges.

* :func:`physics_checks`: the coherence floor (eta) and the phase window, the
  two ways a config that is valid field by field gives a wrong answer.
* :func:`estimate_run_memory_bytes` and :func:`memory_checks`: refuse a run that
  would ask the machine for more memory than :func:`memory_limit_bytes`.

Each check returns ``(field_path, value, accepted)`` triples, the format of
:class:`qlearn_sense.config.ConfigError`. :mod:`qlearn_sense.physics` is
imported only when a check runs; nothing here imports JAX or qiskit.
"""

from __future__ import annotations

import math
import os
from typing import Any

from qlearn_sense.config._models import ExperimentConfig

ETA_FLOOR = 1e-3
"""Smallest accepted coherence factor per qubit, eta = exp(-(t/T2*)^p) (times sqrt(1 - gamma) with T1).

Below it the signal's contrast is under 0.1 %: the Fisher information per shot
scales as eta^(2n) (under 1e-6 for one qubit), the optimizer's gradients vanish
and at eta ~ 1e-218 (the issue's t = 1 ms, T2* = 2 us) the Fisher information
underflows to zero."""

MEMORY_LIMIT_ENV = "QLEARN_SENSE_MAX_MEMORY_GB"
"""Environment variable overriding :data:`DEFAULT_MEMORY_LIMIT_BYTES`, in GiB (2**30 bytes)."""

DEFAULT_MEMORY_LIMIT_BYTES = 8 * 2**30
"""Default memory limit of one run: 8 GiB."""

_COMPLEX = 16  # bytes of a complex128
_SIM_COPIES = 2  # density-sized arrays per batch element when computing probabilities (XLA memory_analysis)


def phase_window_rad(n_qubits: int) -> float:
    r"""Half-width of the phase window (per qubit) that any design of ``n_qubits`` resolves, rad.

    The outcome probabilities of an n-qubit register under
    ``exp(-i phi sum_j Z_j / 2)`` are trigonometric polynomials in phi of degree
    up to n (a GHZ/parity measurement, or the joint outcomes of n local
    measurements, oscillate as cos(n phi)): period 2 pi / n, and each period
    holds two mirror-image branches. The runner's estimator searches the
    identifiable window ``phi0 +- pi / (2 n_eff)`` around ``phi0 = 0``
    (:func:`qlearn_sense.estimation.identifiable_window`), half a fringe period,
    where the likelihood is monotone. So the true phase must satisfy
    ``|phi| < pi / (2 n)``; outside it the estimate lands on the window edge or
    on an alias (e.g. 8.6e-7 T reported for a true 1e-3 T). This is stricter
    than the pi / n of a sign-symmetric GHZ fringe because the estimator centres
    its window at phi = 0 and does not know the sign of the field.

    Args:
      n_qubits: register size n >= 1.

    Returns:
      pi / (2 n), rad.
    """
    return math.pi / (2 * n_qubits)


def _signal(config: ExperimentConfig):
    from qlearn_sense.physics import ActionPotentialField, ConstantField, SinusoidalRhythm

    s = config.signal
    if s.kind == "constant":
        return ConstantField(s.field_T), "signal.field_T"
    if s.kind == "action_potential":
        return ActionPotentialField(s.peak_field_T, width_s=s.width_s), "signal.peak_field_T"
    return SinusoidalRhythm(s.amplitude_T, s.frequency_Hz, s.phase_rad), "signal.amplitude_T"


def _eta_check(config: ExperimentConfig, floor: float) -> list[tuple[str, Any, str]]:
    from qlearn_sense.physics import QubitSensor

    sc = config.sensor
    if sc.eta is not None and sc.eta < floor:
        return [("sensor.eta", sc.eta, f"below the coherence floor: under 0.1 % contrast the Fisher information "
                                       f"vanishes; accepted: eta >= {floor:g}")]
    if sc.from_backend is not None:  # the calibration (qiskit, or the network) is read at run time, not here
        return []
    sensor = QubitSensor(
        gyromagnetic_ratio_Hz_per_T=sc.gyromagnetic_ratio_Hz_per_T or 1.0, t2_star_s=sc.t2_star_s or 1.0,
        t2_s=sc.t2_s, stretch_exponent=sc.stretch_exponent, t1_s=sc.t1_s, readout_fidelity=sc.readout_fidelity,
        overhead_time_s=sc.overhead_time_s, name=sc.kind)
    t = sc.interrogation_time_s
    params = sensor.noise(t, sc.sequence)
    eta = params.eta if sc.eta is None else min(sc.eta, math.sqrt(1.0 - params.gamma))
    if eta >= floor:
        return []
    coherence = sensor.coherence_time(sc.sequence)
    name = "T2*" if sc.sequence == "ramsey" else "T2"
    t_max = coherence * math.log(1.0 / floor) ** (1.0 / sc.stretch_exponent) if sc.eta is None else math.inf
    if sc.t1_s is not None:
        t_max = min(t_max, 2.0 * sc.t1_s * math.log(1.0 / floor))  # sqrt(1 - gamma) = exp(-t / (2 T1))
    t1 = f", T1 = {sc.t1_s:.3g} s" if sc.t1_s is not None else ""
    return [("sensor.interrogation_time_s", t,
             f"eta = {eta:.3g} at {name} = {coherence:.3g} s{t1} ({sc.sequence}) is below the coherence floor "
             f"{floor:g}; accepted: interrogation_time_s <= {t_max:.3g} s")]


def _phase_check(config: ExperimentConfig) -> list[tuple[str, Any, str]]:
    from qlearn_sense.physics import NV_GYROMAGNETIC_RATIO_HZ_PER_T

    if getattr(config, "adaptive", None) is not None:  # an adaptive phase-unwrapping schedule handles it
        return []
    sc = config.sensor
    gamma = sc.gyromagnetic_ratio_Hz_per_T or NV_GYROMAGNETIC_RATIO_HZ_PER_T
    t = sc.interrogation_time_s
    signal, path = _signal(config)
    amplitude = float(signal.amplitude_T)
    phase = amplitude * float(signal.dphi_dA(gamma, t, sequence=sc.sequence))
    n = config.protocol.sensors
    window = phase_window_rad(n)
    if abs(phase) < window:
        return []
    # |phi| <= 2 pi gamma |A| t for every unit-peak signal shape: this t always fits (exact for a constant field)
    t_fit = window / (2 * math.pi * gamma * abs(amplitude))
    field_max = abs(amplitude) * window / abs(phase)
    return [(path, amplitude,
             f"phase per qubit {phase:.4g} rad at interrogation_time_s = {t:g} s is outside the window "
             f"|phi| < pi / (2 n) = {window:.4g} rad that the estimator resolves for n = {n} {_unit(config)} "
             f"(larger phases alias); accepted: |{path.split('.')[-1]}| < {field_max:.3g} T at this time; or a "
             f"shorter sensor.interrogation_time_s <= {t_fit:.3g} s, or an adaptive phase-unwrapping schedule "
             "(the adaptive: section)")]


def eta_and_phase(config: ExperimentConfig) -> tuple[float | None, float, float]:
    """The design's coherence factor, true phase per qubit and phase per tesla, without building a protocol.

    The same physics as ``qlearn_sense.experiments.make_design`` (no JAX import), for fast validation.

    Returns:
      ``(eta, phase_rad, dphi_dA_rad_per_T)``; ``eta`` is None for ``from_backend`` sensors (read at run
      time); ``dphi_dA`` is exactly 0.0 when the sequence cancels the signal (e.g. an echo on a static field).
    """
    from qlearn_sense.physics import NV_GYROMAGNETIC_RATIO_HZ_PER_T, QubitSensor

    sc = config.sensor
    gamma = sc.gyromagnetic_ratio_Hz_per_T or NV_GYROMAGNETIC_RATIO_HZ_PER_T
    t = sc.interrogation_time_s
    signal, _ = _signal(config)
    dphi = float(signal.dphi_dA(gamma, t, sequence=sc.sequence))
    if abs(dphi) < 1e-12 * 2 * math.pi * gamma * t:  # the sequence cancels the signal (make_design's criterion)
        dphi = 0.0
    eta = None
    if sc.from_backend is None:
        sensor = QubitSensor(
            gyromagnetic_ratio_Hz_per_T=gamma, t2_star_s=sc.t2_star_s or 1.0, t2_s=sc.t2_s,
            stretch_exponent=sc.stretch_exponent, t1_s=sc.t1_s, readout_fidelity=sc.readout_fidelity,
            overhead_time_s=sc.overhead_time_s, name=sc.kind)
        params = sensor.noise(t, sc.sequence)
        eta = params.eta if sc.eta is None else min(sc.eta, math.sqrt(1.0 - params.gamma))
    return eta, float(signal.amplitude_T) * dphi, dphi


def physics_checks(config: ExperimentConfig, *, eta_floor: float = ETA_FLOOR) -> list[tuple[str, Any, str]]:
    """Physics problems of a config that is valid field by field.

    (a) Coherence floor: the coherence factor per qubit after the interrogation,
    ``eta = exp(-(t / T2*)^p)`` (T2 for a Hahn echo; capped by ``sqrt(1 - gamma)``
    with ``gamma = 1 - exp(-t / T1)``, as
    :meth:`qlearn_sense.physics.QubitSensor.noise`), must be at least
    ``eta_floor``; the error names the largest interrogation time that meets it,
    ``T2* ln(1 / floor)^(1/p)``. Skipped for ``sensor.from_backend`` (the
    calibration is read at run time).

    (b) Phase window: the true phase per qubit ``phi = A dphi/dA`` (``2 pi gamma
    B t`` for a static field; :meth:`dphi_dA` of the signal in
    :mod:`qlearn_sense.physics`) must satisfy ``|phi| < pi / (2 n)``
    (:func:`phase_window_rad`). The error gives the largest field at this time
    and the longest interrogation time ``pi / (2 n) / (2 pi gamma |A|)`` that
    fits. Skipped when the config has an ``adaptive`` section.

    Args:
      config: a validated config.
      eta_floor: the coherence floor, in (0, 1).

    Returns:
      ``(field_path, value, accepted)`` triples; empty when the config passes.
    """
    return _eta_check(config, eta_floor) + _phase_check(config) + _collective_table_check(config)


def _gradient_copies(config: ExperimentConfig) -> float:
    """Density-sized arrays XLA keeps per restart in one optimizer step (fitted to ``memory_analysis``).

    The QFI objective keeps about 8 (state, noisy state, eigenvectors,
    cotangents), whatever the measurement. Reverse mode through an entangling
    measurement stores every intermediate density matrix: about 3.5 per gate of
    an ``hea`` measurement (``2 n + layers (3 n - 1)`` gates) and 12 for
    ``ghz_parity``. Measured with jax 0.10 on CPU at n = 6 and 8.
    """
    n = config.protocol.n_qubits
    meas = config.protocol.measurement
    if config.optimizer.objective == "cfi" and meas.ansatz == "hea":
        return max(8.0, 3.5 * (2 * n + meas.layers * (3 * n - 1)))
    if config.optimizer.objective == "cfi" and meas.ansatz == "ghz_parity":
        return 12.0
    return 8.0


def _unit(config: ExperimentConfig) -> str:
    return "spins" if config.protocol.engine == "collective" else "qubits"


COLLECTIVE_TABLE_LIMIT = 40_000_000
"""``qlearn_sense.collective.MAX_BLOCK_TABLE``: largest rotated-block table (blocks x (N+1)^2)."""


def _collective_blocks(config: ExperimentConfig) -> int:
    """Total-spin blocks the collective engine keeps (its dephasing flip-count cut, ``flips_needed``)."""
    from scipy import stats

    n = config.protocol.n_spins
    eta, _, _ = eta_and_phase(config)
    p = (1.0 - (eta if eta is not None else 1.0)) / 2.0
    if p <= 0.0:
        return 1
    tail = stats.binom.sf(range(n + 1), n, p)
    below = [s for s, t in enumerate(tail) if t < 1e-20]
    return (below[0] if below else n) + 1


def _collective_stages(config: ExperimentConfig) -> list[tuple[int, str, str, Any]]:
    """Collective engine: per state, ``blocks`` factor matrices of (N+1) x blocks complex entries.

    No 4**n density matrix: the dephased state is ``sum_i B_i B_i^dag`` over the kept total-spin
    blocks (``qlearn_sense.collective``); the optimizer keeps about 8 such states per restart.
    """
    n = config.protocol.n_spins
    blocks = _collective_blocks(config)
    state = _COMPLEX * blocks * (n + 1) * blocks
    restarts = config.optimizer.restarts
    return [(int(restarts * 8 * state), "optimization", "optimizer.restarts", restarts),
            (_SIM_COPIES * state, "estimation", "protocol.n_spins", n)]


def _collective_table_check(config: ExperimentConfig) -> list[tuple[str, Any, str]]:
    pc = config.protocol
    if not pc.collective_only:
        return []
    rotates = pc.measurement.ansatz != "none" or pc.readout == "jy"
    blocks = _collective_blocks(config)
    if not rotates or blocks * (pc.n_spins + 1) ** 2 <= COLLECTIVE_TABLE_LIMIT:
        return []
    return [("protocol.measurement.ansatz", pc.measurement.ansatz,
             f"with n_spins = {pc.n_spins} and this coherence the dephased state spans {blocks} total-spin blocks; "
             f"rotating every block needs {blocks * (pc.n_spins + 1) ** 2:.3g} entries (limit "
             f"{COLLECTIVE_TABLE_LIMIT:.3g}); accepted: measurement 'none' with readout 'jz' or 'parity', fewer "
             "spins, or a shorter interrogation time")]


def _stages(config: ExperimentConfig) -> list[tuple[int, str, str, Any]]:
    """``(bytes, stage, field path, value)`` of each stage of a run."""
    if config.protocol.collective_only:
        return _collective_stages(config)
    n = config.protocol.n_qubits
    dim = 2**n
    rho = _COMPLEX * dim * dim
    reps = config.execution.repetitions
    restarts = config.optimizer.restarts
    out = [
        (_SIM_COPIES * reps * rho + 2 * reps * dim * 8, "sampling", "execution.repetitions", reps),
        (int(restarts * _gradient_copies(config) * rho), "optimization", "optimizer.restarts", restarts),
        (_SIM_COPIES * (2 * n + 1) * rho, "phase model", "protocol.n_qubits", n),
    ]
    sh = config.shadows
    if sh is not None:
        snaps = sh.snapshots + (sh.calibration_snapshots if sh.robust else 0)
        out.append((_SIM_COPIES * snaps * rho + snaps * n, "shadows", "shadows.snapshots", sh.snapshots))
    return out


def estimate_run_memory_bytes(config: ExperimentConfig) -> int:
    """Peak memory of a run's largest stage, estimated from the config alone (bytes).

    The density-matrix engine holds a (2**n, 2**n) complex128 state (16 * 4**n
    bytes), and every stage vmaps it over a batch:

    * sampling: ``repetitions`` parameter sets at once (the backend's exact
      probabilities, :func:`qlearn_sense.protocol.exact_probs`), 2 density
      matrices each (XLA's ``memory_analysis``: 1.5 for a product measurement,
      2 for an entangling one), plus the probabilities (float64) and counts
      (int64) of shape (repetitions, 2**n);
    * optimization: ``restarts`` vmapped gradient steps, 8 density matrices
      each, or about 3.5 per gate of an ``hea`` measurement under the CFI
      objective (reverse mode stores every intermediate state);
    * phase model: 2 n + 1 phases, 2 density matrices each;
    * shadows: 2 density matrices per snapshot (plus calibration snapshots
      when robust).

    Stages run one after the other, so the estimate is the largest of them.
    n = 10 with 1e5 repetitions gives 3.4e12 bytes (the issue's run asked JAX
    for a 1.7e12-byte array, the first of the two).

    Args:
      config: a validated config.

    Returns:
      Estimated peak bytes (int).
    """
    return int(max(b for b, _, _, _ in _stages(config)))


def memory_limit_bytes() -> int:
    """The memory limit of one run: ``$QLEARN_SENSE_MAX_MEMORY_GB`` GiB, else 8 GiB.

    Raises:
      ValueError: the environment variable is not a positive number.
    """
    raw = os.environ.get(MEMORY_LIMIT_ENV)
    if raw is None or not raw.strip():
        return DEFAULT_MEMORY_LIMIT_BYTES
    try:
        gib = float(raw)
    except ValueError:
        gib = math.nan
    if not (math.isfinite(gib) and gib > 0):
        raise ValueError(f"{MEMORY_LIMIT_ENV} = {raw[:40]!r}; accepted: a positive number of GiB, e.g. 16")
    return int(gib * 2**30)


def memory_checks(config: ExperimentConfig) -> list[tuple[str, Any, str]]:
    """Refuse a config whose :func:`estimate_run_memory_bytes` exceeds :func:`memory_limit_bytes`.

    Returns:
      One ``(field_path, value, accepted)`` triple naming the field of the
      largest stage (``execution.repetitions``, ``optimizer.restarts`` or
      ``shadows.snapshots``), or an empty list.

    Raises:
      ValueError: :data:`MEMORY_LIMIT_ENV` is set to something other than a positive number.
    """
    need, stage, path, value = max(_stages(config), key=lambda s: s[0])
    limit = memory_limit_bytes()
    if need <= limit:
        return []
    n = config.protocol.sensors
    held = ("total-spin block factors of (N+1) x blocks complex128 entries" if config.protocol.collective_only
            else "4**n complex128 density matrices")
    return [(path, value,
             f"the run needs about {need:.3g} bytes ({need / 2**30:.4g} GiB in its {stage} stage, which holds "
             f"{held} per item, n = {n}), above the limit of {limit / 2**30:.4g} GiB; "
             f"accepted: fewer items or qubits, or raise the limit with {MEMORY_LIMIT_ENV}")]
