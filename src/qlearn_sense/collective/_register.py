"""Collective protocols on qubit registers (N <= 12): every backend can run them.

A global rotation is the same-parameter rotation on every qubit; one-axis twisting
``exp(-i mu J_z^2)`` is RZZ(mu) on every pair (``prod_{a<b} exp(-i mu Z_a Z_b / 2)
= exp(-i mu J_z^2) exp(i mu N / 4)``, a global phase); the GHZ preparation is H plus a CNOT
chain. Two-axis counter-twisting is not a product of commuting two-qubit gates and is not
compiled (:func:`to_register_protocol` raises).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from qlearn_sense.collective._engine import CollectiveSpec
from qlearn_sense.protocol import MAX_QUBITS, Gate, Noise, Protocol


def _gates(cgates, n: int) -> list[Gate]:
    out: list[Gate] = []
    for g in cgates:
        if g.kind in ("rx", "ry", "rz"):
            out += [Gate(g.kind, (q,), param=g.param, offset=g.offset) for q in range(n)]
        elif g.kind == "twist":
            out += [Gate("rzz", (a, b), param=g.param, offset=g.offset) for a in range(n) for b in range(a + 1, n)]
        else:
            raise ValueError(
                "two-axis counter-twisting (preparation 'tact') has no exact compilation to the register's "
                "gates (its terms do not commute pairwise): it runs on the collective engine only")
    return out


def to_register_protocol(spec: CollectiveSpec) -> Protocol:
    """The register :class:`qlearn_sense.protocol.Protocol` of a collective protocol (N <= 12).

    The parameter layout is the same (``theta`` carries over unchanged); the noise is local
    dephasing with the same total eta and amplitude damping with the same gamma_t1 on every qubit. Register outcome probabilities map to the
    collective ones with :func:`register_to_collective_probs`.

    Args:
      spec: the collective protocol.

    Returns:
      The register protocol (``qlearn_sense.protocol.compile_jax`` / ``to_qiskit`` apply).

    Raises:
      ValueError: ``n_spins > 12`` (only the local collective engine applies), or the
        preparation is 'tact' (not compilable).
    """
    n = spec.n_spins
    if n > MAX_QUBITS:
        raise ValueError(
            f"n_spins = {n} exceeds the register limit of {MAX_QUBITS} qubits: this collective protocol runs "
            "on the local collective engine only (no circuit backends)")
    prep, meas, n_params, n_prep = spec.gates()
    gates = _gates(prep, n)
    if spec.preparation == "ghz":
        gates = [Gate("h", (0,))] + [Gate("cnot", (j, j + 1)) for j in range(n - 1)] + gates
    return Protocol(n_qubits=n, prep=tuple(gates), measure=tuple(_gates(meas, n)), n_params=n_params,
                    n_prep_params=n_prep, noise=Noise.uniform(n, eta=spec.eta, gamma=spec.gamma_t1),
                    name=f"collective-{spec.preparation}-{spec.measurement}-n{n}",
                    meta=(("engine", "collective"), ("readout", spec.readout)))


def register_to_collective_probs(p_register, n_spins: int, readout: str = "jz"):
    """Sum register outcome probabilities (2^N, little-endian) into collective outcomes.

    Args:
      p_register: shape (..., 2^N).
      n_spins: N.
      readout: "jz"/"jy" (outcome n = number of qubits read 1, N+1 values) or "parity"
        (even, odd).

    Returns:
      Shape (..., N+1) or (..., 2); numpy or JAX as given.

    Raises:
      ValueError: last axis is not 2^N long, or unknown readout.
    """
    if p_register.shape[-1] != 2 ** n_spins:
        raise ValueError(f"p_register has {p_register.shape[-1]} outcomes; expected 2^{n_spins}")
    if readout not in ("jz", "jy", "parity"):
        raise ValueError(f"readout = {readout!r}; accepted: 'jz', 'jy', 'parity'")
    k = np.arange(2 ** n_spins)
    ones = np.array([bin(x).count("1") for x in k])
    labels = ones % 2 if readout == "parity" else ones
    size = 2 if readout == "parity" else n_spins + 1
    onehot = (labels[:, None] == np.arange(size)[None, :]).astype(float)
    xp = jnp if not isinstance(p_register, np.ndarray) else np
    return xp.asarray(p_register) @ xp.asarray(onehot)
