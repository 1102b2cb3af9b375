"""Fake devices, restricted noise models and calibration-derived protocol noise.

``NoiseModel.from_backend`` on a whole 156-qubit device takes seconds (it builds
relaxation and depolarizing errors for every gate on every qubit). The models
here keep only the physical qubits a circuit uses: the target is reduced to
those qubits (renumbered), and the same ``from_backend`` construction runs on
it, so the errors on the kept qubits are exactly the full model's.
"""

from __future__ import annotations

import math
import warnings
from functools import lru_cache
from typing import Any

from qiskit.providers import BackendV2, Options
from qiskit.transpiler import Target

from qlearn_sense.backends._names import fake_device_names, fake_device_qubits, normalize_fake_name
from qlearn_sense.protocol import Noise

__all__ = ["calibrated_noise", "device_target", "fake_backend", "fake_backend_names", "fake_device_names",
           "fake_device_qubits", "noise_from_target", "normalize_fake_name", "reduced_target",
           "restricted_noise_model"]


def fake_backend_names() -> list[str]:
    """Names of the qiskit-ibm-runtime fake backends (``fake_fez``, ``fake_manila``, ...).

    Read from the installed package's files (qiskit-ibm-runtime is not imported);
    the same list as :func:`fake_device_names`.
    """
    return fake_device_names()


@lru_cache(maxsize=16)
def fake_backend(name: str) -> BackendV2:
    """A qiskit-ibm-runtime fake backend by name (``fake_fez`` or ``FakeFez``).

    Raises:
      ValueError: unknown name (the message lists the valid ones).
    """
    from qiskit_ibm_runtime.fake_provider import FakeProviderForBackendV2

    key = normalize_fake_name(name)
    valid = fake_backend_names()
    if key not in valid:
        raise ValueError(f"fake backend {name!r} is unknown; accepted: {', '.join(valid)}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return FakeProviderForBackendV2().backend(key)


class _ReducedBackend(BackendV2):
    """A device restricted to some of its qubits (only for building noise models)."""

    def __init__(self, target: Target, name: str):
        super().__init__(name=name)
        self._target = target

    @property
    def target(self) -> Target:
        return self._target

    @property
    def max_circuits(self):
        return None

    @classmethod
    def _default_options(cls):
        return Options()

    def run(self, run_input, **options):  # pragma: no cover - never run
        raise NotImplementedError("a reduced backend only carries a target")


def reduced_target(target: Target, qubits: list[int] | tuple[int, ...]) -> Target:
    """The target on ``qubits`` only, renumbered ``qubits[i] -> i``.

    Instruction properties (durations, errors) and qubit properties (T1, T2)
    of the kept qubits are copied unchanged; instructions touching any other
    qubit are dropped; global instructions (control flow) are kept.
    """
    qubits = [int(q) for q in qubits]
    index = {q: i for i, q in enumerate(qubits)}
    props = target.qubit_properties
    new = Target(num_qubits=len(qubits), dt=target.dt, granularity=target.granularity,
                 min_length=target.min_length, pulse_alignment=target.pulse_alignment,
                 acquire_alignment=target.acquire_alignment,
                 qubit_properties=[props[q] for q in qubits] if props else None)
    for name in target.operation_names:
        op = target.operation_from_name(name)
        qmap = target[name]
        if qmap is None or list(qmap) == [None]:
            new.add_instruction(op, name=name)
            continue
        kept = {}
        for qargs, prop in qmap.items():
            if qargs is not None and all(q in index for q in qargs):
                kept[tuple(index[q] for q in qargs)] = prop
        if kept:
            new.add_instruction(op, kept, name=name)
    return new


def restricted_noise_model(backend: BackendV2, qubits: list[int] | tuple[int, ...]):
    """``NoiseModel.from_backend`` for the given physical qubits only (renumbered 0..k-1).

    Args:
      backend: a BackendV2 with a calibrated target (a fake backend or a device).
      qubits: the physical qubits to keep, e.g. :func:`active_qubits` of an ISA circuit.

    Returns:
      ``qiskit_aer.noise.NoiseModel`` on ``len(qubits)`` qubits, equal to the
      full device model on the kept qubits.
    """
    from qiskit_aer.noise import NoiseModel

    small = _ReducedBackend(reduced_target(backend.target, qubits), name=f"{backend.name}-reduced")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return NoiseModel.from_backend(small)


def _qubit_calibration(target: Target, q: int) -> tuple[float | None, float | None, float, float]:
    props = target.qubit_properties[q] if target.qubit_properties else None
    t1 = getattr(props, "t1", None)
    t2 = getattr(props, "t2", None)
    p01 = p10 = 0.0
    if "measure" in target.operation_names:
        mp = target["measure"].get((q,))
        if mp is not None:
            if getattr(mp, "prob_meas1_prep0", None) is not None:
                p01, p10 = float(mp.prob_meas1_prep0), float(mp.prob_meas0_prep1)
            elif mp.error is not None:
                p01 = p10 = float(mp.error)
    return t1, t2, p01, p10


def noise_from_target(target: Target, qubits: list[int] | tuple[int, ...], interrogation_time_s: float) -> Noise:
    """Protocol noise of ``qubits`` during ``interrogation_time_s`` from a device target.

    Per qubit: ``gamma = 1 - exp(-t/T1)`` (amplitude damping), coherence
    ``eta = exp(-t/T2)`` with ``T2`` capped at ``2 T1`` (a reported T2 above
    2 T1 is unphysical), readout ``p01 = P(1|0)``, ``p10 = P(0|1)`` from the
    measurement calibration (the symmetric ``error`` when the asymmetric
    probabilities are absent), capped below 0.5.

    Raises:
      ValueError: a qubit outside the device, or a negative interrogation time.
    """
    if interrogation_time_s < 0:
        raise ValueError(f"interrogation_time_s = {interrogation_time_s}; accepted: >= 0")
    etas, gammas, p01s, p10s = [], [], [], []
    for q in qubits:
        if not 0 <= q < target.num_qubits:
            raise ValueError(f"qubit {q} is outside the device (0..{target.num_qubits - 1})")
        t1, t2, p01, p10 = _qubit_calibration(target, int(q))
        gamma = 0.0 if not t1 else 1.0 - math.exp(-interrogation_time_s / t1)
        if t2 and t1:
            t2 = min(t2, 2.0 * t1)
        eta = 1.0 if not t2 else math.exp(-interrogation_time_s / t2)
        eta = min(eta, math.sqrt(1.0 - gamma))
        etas.append(max(eta, 1e-12))
        gammas.append(min(gamma, 1.0 - 1e-12))
        p01s.append(min(max(p01, 0.0), 0.499))
        p10s.append(min(max(p10, 0.0), 0.499))
    return Noise(eta=tuple(etas), gamma=tuple(gammas), p01=tuple(p01s), p10=tuple(p10s))


def device_target(backend_name: str, *, service: Any | None = None) -> Target:
    """The calibrated target of a device by name.

    ``fake_*`` names (optionally prefixed ``aer:`` or ``ibm-local:``) load the
    qiskit-ibm-runtime snapshot offline; ``ibm:<name>`` or a bare IBM name
    (``ibm_fez``) asks IBM Quantum through ``service`` (default: the
    account's service, :func:`qlearn_sense.backends.ibm.get_service`).
    """
    prefix, _, arg = backend_name.partition(":")
    if not arg:
        prefix, arg = "", prefix
    if prefix in ("aer", "ibm-local") or arg.lower().startswith("fake"):
        return fake_backend(arg).target
    from qlearn_sense.backends import ibm as _ibm

    return _ibm.service_backend(arg, service=service).target


def calibrated_noise(backend_name: str, qubits: list[int] | tuple[int, ...] | None,
                     interrogation_time_s: float, *, n_qubits: int | None = None,
                     service: Any | None = None) -> Noise:
    """Protocol noise derived from a backend's calibration (T1, T2, readout errors).

    Args:
      backend_name: ``fake_fez`` (offline snapshot), ``aer:fake_fez``,
        ``ibm-local:fake_fez``, or ``ibm_fez`` / ``ibm:ibm_fez`` (live
        calibration through IBM Quantum).
      qubits: physical qubits, one per sensor qubit; None means ``0..n_qubits-1``.
      interrogation_time_s: free-evolution time per shot, s.
      n_qubits: register size when ``qubits`` is None.
      service: the ``QiskitRuntimeService`` for IBM names (default: the account's).

    Returns:
      :class:`qlearn_sense.protocol.Noise` with one entry per sensor qubit.

    Raises:
      ValueError: unknown fake backend, qubits outside the device, or neither
        ``qubits`` nor ``n_qubits`` given.
      qlearn_sense.backends.ibm.AccountError: an IBM name without a usable account.
    """
    if qubits is None:
        if n_qubits is None:
            raise ValueError("give the physical qubits or n_qubits")
        qubits = list(range(n_qubits))
    return noise_from_target(device_target(backend_name, service=service), list(qubits), interrogation_time_s)
