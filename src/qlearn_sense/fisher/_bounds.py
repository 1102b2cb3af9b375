"""Closed-form limits for phase estimation with n qubits, generator sum_j Z_j / 2.

All Fisher informations are per shot (one run of the protocol), in rad^-2 for the
phase per qubit ``phi``. ``eta`` is the per-qubit coherence factor of local
dephasing (rho_01 -> eta rho_01).
"""

from __future__ import annotations

import math

import numpy as np


def _check_n_eta(n: int, eta: float) -> None:
    if int(n) != n or n < 1:
        raise ValueError(f"n = {n}; accepted: integer >= 1")
    if not 0.0 < eta <= 1.0:
        raise ValueError(f"eta = {eta}; accepted: 0 < eta <= 1")


def sql(n: int, eta: float = 1.0) -> float:
    """Standard quantum limit: QFI of the product state |+>^n, ``n eta^2``.

    Source: Huelga et al., PRL 79, 3865 (1997).

    Raises:
      ValueError: n < 1 or eta outside (0, 1].
    """
    _check_n_eta(n, eta)
    return float(n * eta**2)


def heisenberg_limit(n: int) -> float:
    """Heisenberg limit ``n^2`` (Giovannetti, Lloyd, Maccone, Science 306, 1330 (2004)).

    Raises:
      ValueError: n < 1.
    """
    _check_n_eta(n, 1.0)
    return float(n**2)


def ghz_dephased(n: int, eta: float) -> float:
    """QFI of the n-qubit GHZ state under local dephasing, ``n^2 eta^(2n)``.

    Source: Huelga et al., PRL 79, 3865 (1997).

    Raises:
      ValueError: n < 1 or eta outside (0, 1].
    """
    _check_n_eta(n, eta)
    return float(n**2 * eta ** (2 * n))


def asymptotic_bound(n: int, eta: float) -> float:
    """Asymptotic dephasing bound ``n eta^2 / (1 - eta^2)`` (inf at eta = 1).

    Sources: Escher et al., Nat. Phys. 7, 406 (2011); Demkowicz-Dobrzanski,
    Kolodynski, Guta, Nat. Commun. 3, 1063 (2012), eq. (6).

    Raises:
      ValueError: n < 1 or eta outside (0, 1].
    """
    _check_n_eta(n, eta)
    return math.inf if eta == 1.0 else float(n * eta**2 / (1.0 - eta**2))


def channel_extension_bound(n: int, eta: float) -> float:
    """Finite-n channel-extension bound ``n^2 eta^2 / (n (1 - eta^2) + eta^2)``.

    Tends to ``n^2`` at eta = 1 and to :func:`asymptotic_bound` for large n
    (Demkowicz-Dobrzanski, Kolodynski, Guta 2012; finite-n form as in
    Kolodynski & Demkowicz-Dobrzanski, New J. Phys. 15, 073043 (2013)).

    Raises:
      ValueError: n < 1 or eta outside (0, 1].
    """
    _check_n_eta(n, eta)
    return float(n**2 * eta**2 / (n * (1.0 - eta**2) + eta**2))


def two_qubit_optimum(eta: float) -> float:
    """Optimal QFI of two dephased qubits over all input states (closed form).

    ``4 eta^4`` if ``eta^2 >= 2/3`` (GHZ optimal), else
    ``eta^2 (2 - eta^2)^2 / (2 (1 - eta^2))``.

    Raises:
      ValueError: eta outside (0, 1].
    """
    _check_n_eta(2, eta)
    e2 = eta**2
    if e2 >= 2.0 / 3.0:
        return float(4 * e2**2)
    return float(e2 * (2 - e2) ** 2 / (2 * (1 - e2)))


def crb_phase_std(fisher: float, shots: float) -> float:
    """Cramer-Rao bound on the phase standard deviation, ``1 / sqrt(shots F)`` in rad.

    Args:
      fisher: Fisher information per shot, rad^-2, > 0.
      shots: number of independent shots, > 0.

    Raises:
      ValueError: non-positive arguments.
    """
    if fisher <= 0 or shots <= 0:
        raise ValueError(f"fisher = {fisher}, shots = {shots}; both must be > 0")
    return float(1.0 / math.sqrt(shots * fisher))


def crb_field_std(fisher: float, shots: float, dphi_dB: float) -> float:
    """Cramer-Rao bound on the field standard deviation in tesla.

    ``dB >= 1 / (sqrt(shots F) |dphi/dB|)`` with ``dphi/dB = 2 pi gamma t`` for a
    DC field (rad/T).

    Args:
      fisher: Fisher information per shot for phi, rad^-2, > 0.
      shots: number of shots, > 0.
      dphi_dB: phase per qubit per tesla, rad/T, non-zero.

    Raises:
      ValueError: non-positive fisher or shots, or zero dphi_dB.
    """
    if dphi_dB == 0:
        raise ValueError("dphi_dB = 0: the protocol is insensitive to the field")
    return crb_phase_std(fisher, shots) / abs(dphi_dB)


def sensitivity(fisher: float, dphi_dB: float, shot_time_s: float) -> float:
    """Field sensitivity in T/sqrt(Hz): ``sqrt(t_shot / F) / |dphi/dB|``.

    The field uncertainty after a total time T is ``sensitivity / sqrt(T)``.

    Args:
      fisher: Fisher information per shot, rad^-2, > 0.
      dphi_dB: rad/T, non-zero.
      shot_time_s: time per shot (interrogation plus overhead), s, > 0.

    Raises:
      ValueError: non-positive fisher or shot time, or zero dphi_dB.
    """
    if shot_time_s <= 0:
        raise ValueError(f"shot_time_s = {shot_time_s}; must be > 0")
    return crb_field_std(fisher, 1.0, dphi_dB) * math.sqrt(shot_time_s)


def frequency_optimum(n: int, gamma: float, total_time_s: float, state: str = "product") -> dict:
    """Optimal interrogation time and frequency uncertainty under exponential dephasing.

    With ``eta = exp(-gamma t)`` and total time T split into T/t shots, the
    product state is optimal at ``t* = 1/(2 gamma)`` and GHZ at ``t* = 1/(2 n gamma)``;
    both give a Fisher rate ``n / (2 e gamma)`` per second for omega; the
    asymptotic bound allows ``n / (2 gamma)``
    (Huelga et al. 1997; Escher et al. 2011).

    Args:
      n: number of qubits.
      gamma: dephasing rate in 1/s, > 0.
      total_time_s: total sensing time, s, > 0.
      state: "product" or "ghz".

    Returns:
      dict with ``t_opt_s``, ``domega_rad_per_s`` (1/sqrt(T * rate)) and
      ``bound_domega_rad_per_s``.

    Raises:
      ValueError: non-positive gamma or total time, unknown state.
    """
    if gamma <= 0 or total_time_s <= 0:
        raise ValueError(f"gamma = {gamma}, total_time_s = {total_time_s}; both must be > 0")
    if state not in ("product", "ghz"):
        raise ValueError(f"state = {state!r}; accepted: 'product', 'ghz'")
    t_opt = 1 / (2 * gamma) if state == "product" else 1 / (2 * n * gamma)
    rate = n / (2 * math.e * gamma)
    return {
        "t_opt_s": t_opt,
        "domega_rad_per_s": 1 / math.sqrt(total_time_s * rate),
        "bound_domega_rad_per_s": 1 / math.sqrt(total_time_s * n / (2 * gamma)),
    }


def bounds_table(n: int, eta: float) -> dict[str, float]:
    """All closed-form limits for (n, eta) as a dict (JSON friendly; inf -> None).

    Raises:
      ValueError: n < 1 or eta outside (0, 1].
    """
    out = {
        "sql": sql(n, eta),
        "hl": heisenberg_limit(n),
        "ghz": ghz_dephased(n, eta),
        "asymptotic_bound": asymptotic_bound(n, eta),
        "channel_extension_bound": channel_extension_bound(n, eta),
    }
    return {k: (None if not np.isfinite(v) else v) for k, v in out.items()}
