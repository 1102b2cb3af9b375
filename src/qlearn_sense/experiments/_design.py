"""From a validated config to the physical design: sensor, signal, phase, noise, protocol."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from qlearn_sense.config import ExperimentConfig
from qlearn_sense.physics import (
    NV_GYROMAGNETIC_RATIO_HZ_PER_T,
    ActionPotentialField,
    ConstantField,
    QubitSensor,
    SinusoidalRhythm,
)
from qlearn_sense.protocol import Noise, Protocol, build_protocol


class DesignError(ValueError):
    """A config that validates field by field but describes an impossible experiment."""


@dataclass(frozen=True)
class Design:
    """Everything physical about one experiment.

    Attributes:
      config: the validated config.
      sensor: the sensor model (None when the noise comes from a backend calibration).
      signal: the signal source (amplitude in T).
      gyromagnetic_ratio_Hz_per_T: gamma/2pi, Hz/T.
      interrogation_time_s: t, s.
      shot_time_s: interrogation plus overhead, s.
      dphi_dA: phase per qubit per tesla of signal amplitude, rad/T.
      amplitude_T: true signal amplitude, T.
      phase_rad: true phase per qubit, rad (``amplitude_T * dphi_dA``).
      noise: the protocol's noise channel.
      protocol: the protocol to optimize and run.
    """

    config: ExperimentConfig
    sensor: QubitSensor | None
    signal: object
    gyromagnetic_ratio_Hz_per_T: float
    interrogation_time_s: float
    shot_time_s: float
    dphi_dA: float
    amplitude_T: float
    phase_rad: float
    noise: Noise
    protocol: Protocol

    @property
    def eta(self) -> float:
        """Mean coherence factor over the qubits."""
        return float(sum(self.noise.eta) / len(self.noise.eta))


def make_signal(config: ExperimentConfig):
    """The signal source of a config (see :mod:`qlearn_sense.physics`)."""
    s = config.signal
    if s.kind == "constant":
        return ConstantField(s.field_T)
    if s.kind == "action_potential":
        return ActionPotentialField(s.peak_field_T, width_s=s.width_s)
    return SinusoidalRhythm(s.amplitude_T, s.frequency_Hz, s.phase_rad)


def make_design(config: ExperimentConfig, *, noise: Noise | None = None,
                protocol_override: tuple[str, str] | None = None) -> Design:
    """Derive phase, coherence and the protocol from a config.

    Args:
      config: validated config.
      noise: use this noise instead of deriving it (e.g. from a backend's
        calibration, see ``qlearn_sense.backends.calibrated_noise``).
      protocol_override: ``(preparation, measurement)`` ansatz names replacing
        the config's (used to compare Ramsey and GHZ against the optimized design).

    Raises:
      DesignError: the sequence cancels the signal (e.g. a Hahn echo on a static
        field), or ``from_backend`` is set and no ``noise`` was given.
    """
    if config.protocol.collective_only:
        raise DesignError(f"protocol.n_spins = {config.protocol.n_spins}: no register form; the collective "
                          "engine runs it (qlearn_sense.experiments.run_collective_experiment)")
    n = config.protocol.n_qubits
    sensor, noise, signal, gamma, t, dphi_dA = design_physics(config, n, noise=noise)
    if protocol_override is None and config.protocol.engine == "collective":
        protocol = collective_register_protocol(config, noise)
    else:
        prep, meas = protocol_override or (config.protocol.preparation.ansatz, config.protocol.measurement.ansatz)
        protocol = build_protocol(n, prep, meas, prep_layers=config.protocol.preparation.layers,
                                  meas_layers=config.protocol.measurement.layers, noise=noise,
                                  name=f"{config.name}-{prep}-{meas}")
    amplitude = float(signal.amplitude_T)
    return Design(config=config, sensor=sensor, signal=signal, gyromagnetic_ratio_Hz_per_T=gamma,
                  interrogation_time_s=t, shot_time_s=t + config.sensor.overhead_time_s, dphi_dA=float(dphi_dA),
                  amplitude_T=amplitude, phase_rad=amplitude * float(dphi_dA), noise=noise, protocol=protocol)


def collective_spec(config: ExperimentConfig, eta: float, readout: str | None = None, gamma_t1: float = 0.0):
    """The :class:`qlearn_sense.collective.CollectiveSpec` of a ``protocol.engine: collective`` config.

    Args:
      config: validated config with ``protocol.engine = "collective"``.
      eta: coherence factor per spin during the interrogation, in (0, 1].
      readout: override of ``protocol.readout`` (default: the config's, else "jz").
      gamma_t1: T1 decay probability per spin ``1 - exp(-t / T1)``, in [0, 1); ``eta`` is then the
        total coherence factor (including T1's ``sqrt(1 - gamma_t1)``).
    """
    from qlearn_sense.collective import CollectiveSpec

    pc = config.protocol
    return CollectiveSpec(pc.n_spins, pc.preparation.ansatz, pc.measurement.ansatz, pc.preparation.layers,
                          pc.measurement.layers, readout or pc.readout or "jz", eta=float(eta),
                          gamma_t1=float(gamma_t1))


def collective_register_protocol(config: ExperimentConfig, noise: Noise) -> Protocol:
    """A collective protocol (n_spins <= 12) compiled to the register, with the design's full noise.

    The gates come from :func:`qlearn_sense.collective.to_register_protocol` (global rotations on
    every qubit, one-axis twisting as RZZ on every pair); the noise is the design's (dephasing, T1,
    readout errors), so the register engine computes the same physics exactly and every backend
    runs it. The register reads every qubit: its outcomes refine the collective readout (J_z counts
    are sums of them), so its CFI is at least the collective readout's.

    Raises:
      DesignError: the preparation has no register form ('tact').
    """
    from dataclasses import replace

    from qlearn_sense.collective import to_register_protocol

    spec = collective_spec(config, float(np.mean(noise.eta)))
    try:
        protocol = to_register_protocol(spec)
    except ValueError as exc:
        raise DesignError(f"protocol.preparation.ansatz = {spec.preparation!r}: {exc}") from None
    return replace(protocol, noise=noise, name=f"{config.name}-collective-{spec.preparation}-{spec.measurement}")


def design_physics(config: ExperimentConfig, n: int, *, noise: Noise | None = None):
    """Sensor model, noise, signal and phase per tesla of a config (shared by both engines).

    Args:
      config: validated config.
      n: qubits or spins the noise covers.
      noise: calibrated noise to use instead of the sensor model's.

    Returns:
      ``(sensor, noise, signal, gamma_Hz_per_T, interrogation_time_s, dphi_dA_rad_per_T)``.

    Raises:
      DesignError: see :func:`make_design`.
    """
    sc = config.sensor
    t = sc.interrogation_time_s
    gamma = sc.gyromagnetic_ratio_Hz_per_T or NV_GYROMAGNETIC_RATIO_HZ_PER_T
    sensor = None
    if sc.from_backend is None:
        sensor = QubitSensor(
            gyromagnetic_ratio_Hz_per_T=gamma, t2_star_s=sc.t2_star_s or 1.0, t2_s=sc.t2_s,
            stretch_exponent=sc.stretch_exponent, t1_s=sc.t1_s, readout_fidelity=sc.readout_fidelity,
            overhead_time_s=sc.overhead_time_s, name=sc.kind)
        if noise is None:
            params = sensor.noise(t, sc.sequence)
            eta = params.eta if sc.eta is None else min(sc.eta, math.sqrt(1 - params.gamma))
            noise = Noise.uniform(n, eta=eta, gamma=params.gamma, p01=params.p01, p10=params.p10)
    elif noise is None:
        raise DesignError(f"sensor.from_backend = {sc.from_backend!r}: pass the backend's calibrated noise")
    signal = make_signal(config)
    dphi_dA = signal.dphi_dA(gamma, t, sequence=sc.sequence)
    if abs(dphi_dA) < 1e-12 * 2 * math.pi * gamma * t:
        raise DesignError(
            f"sensor.sequence = {sc.sequence!r} cancels the {config.signal.kind} signal "
            "(zero phase per tesla); use 'ramsey' for static fields or match the echo to the rhythm")
    return sensor, noise, signal, gamma, t, dphi_dA
