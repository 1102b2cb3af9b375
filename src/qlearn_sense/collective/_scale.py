"""From the exact collective engine to ensemble scale, labelled by kind (computed or bound)."""

from __future__ import annotations

import math
from typing import Literal, NamedTuple

ScaleKind = Literal["computed", "bound"]


class ScaleValue(NamedTuple):
    """One Fisher-information figure at ensemble scale.

    Attributes:
      value: the QFI per shot, rad^-2.
      kind: "computed" (evaluated exactly for the stated N) or "bound" (a limit no state beats).
      n_spins: the N the value refers to.
      meaning: one line saying what it is and where it comes from.
    """

    value: float
    kind: ScaleKind
    n_spins: float
    meaning: str


def scale_report(n_nv: float, eta: float, best_collective_qfi: float, exact_n: int,
                 gamma_t1: float = 0.0) -> dict[str, ScaleValue]:
    """QFI figures for an ensemble of ``n_nv`` spins beyond the exact engine.

    Reports (never extrapolating a computed value to a larger N):
    ``product``: N eta^2 at N = n_nv (computed, closed form; Huelga et al., PRL 79, 3865 (1997));
    ``collective_exact``: the best collective QFI found at ``exact_n`` (computed at that N only);
    ``collective_gain_exact``: its ratio to the product value at ``exact_n`` (computed);
    ``asymptotic_bound``: N eta^2 / (1 - eta^2) at N = n_nv (bound; Escher et al., Nat. Phys. 7,
    406 (2011); Demkowicz-Dobrzanski et al., Nat. Commun. 3, 1063 (2012)), or N^2 for eta = 1;
    ``gain_bound``: 1 / (1 - eta^2), the most any state gains over the product state (bound).
    With T1 (``gamma_t1 > 0``) the product value stays N eta^2 (eta the total coherence factor) and the
    bounds use the pure-dephasing factor ``eta_pd = eta / sqrt(1 - gamma_t1)``: the noise is
    dephasing(eta_pd) after amplitude damping, and the dephasing bound holds for any (also mixed) input,
    so ``N eta_pd^2 / (1 - eta_pd^2)`` remains a bound (not the tightest one).

    Args:
      n_nv: number of NV spins in the ensemble, >= 1 (may be 1e14).
      eta: coherence factor per spin, in (0, 1].
      best_collective_qfi: best QFI found by the exact engine at ``exact_n``, rad^-2, >= 0.
      exact_n: the N of that computation, 2..1000.
      gamma_t1: T1 decay probability per spin, ``1 - exp(-t/T1)``, in [0, 1); eta <= sqrt(1 - gamma_t1).

    Returns:
      Dict name -> :class:`ScaleValue`.

    Raises:
      ValueError: an argument outside its range (the message names it).
    """
    if not n_nv >= 1:
        raise ValueError(f"n_nv = {n_nv}; must be >= 1")
    if not 0.0 < eta <= 1.0:
        raise ValueError(f"eta = {eta}; accepted: 0 < eta <= 1")
    if not best_collective_qfi >= 0:
        raise ValueError(f"best_collective_qfi = {best_collective_qfi}; must be >= 0")
    if not 2 <= exact_n <= 1000:
        raise ValueError(f"exact_n = {exact_n}; accepted: 2..1000")
    if not 0.0 <= gamma_t1 < 1.0:
        raise ValueError(f"gamma_t1 = {gamma_t1}; accepted: 0 <= gamma_t1 < 1")
    if eta > math.sqrt(1.0 - gamma_t1) * (1 + 1e-12):
        raise ValueError(f"eta = {eta} exceeds sqrt(1 - gamma_t1) = {math.sqrt(1.0 - gamma_t1):.6g} (T2 <= 2 T1)")
    e2 = eta * eta
    product_exact = exact_n * e2
    pd2 = min(1.0, e2 / (1.0 - gamma_t1))
    if pd2 < 1.0 - 1e-14:
        bound = n_nv * pd2 / (1.0 - pd2)
        gain_bound = pd2 / (e2 * (1.0 - pd2))
        bound_text = "N eta^2 / (1 - eta^2): asymptotic bound (Escher 2011; Demkowicz-Dobrzanski 2012)"
        if gamma_t1 > 0:
            bound_text = ("N eta_pd^2 / (1 - eta_pd^2), eta_pd = eta / sqrt(1 - gamma_t1): the dephasing bound "
                          "(Escher 2011; Demkowicz-Dobrzanski 2012) of the pure-dephasing part")
    else:
        bound, gain_bound = float(n_nv) ** 2, float(n_nv) / e2
        bound_text = "N^2: Heisenberg limit (no dephasing)"
    return {
        "product": ScaleValue(n_nv * e2, "computed", n_nv, "N eta^2: coherent spin state, closed form at this N"),
        "collective_exact": ScaleValue(best_collective_qfi, "computed", exact_n,
                                       f"best collective state found by the exact engine at N = {exact_n} only"),
        "collective_gain_exact": ScaleValue(best_collective_qfi / product_exact, "computed", exact_n,
                                            f"its gain over N eta^2 at N = {exact_n} (not scaled to the ensemble)"),
        "asymptotic_bound": ScaleValue(bound, "bound", n_nv, bound_text),
        "gain_bound": ScaleValue(gain_bound, "bound", n_nv, "largest gain any state can reach over N eta^2"),
    }


def finite_n_bound(n_spins: int, eta: float) -> float:
    """Finite-N channel-extension bound ``N^2 eta^2 / (N (1 - eta^2) + eta^2)`` (REFERENCES.md; tends
    to the asymptotic bound for large N), rad^-2.

    Raises:
      ValueError: n_spins < 1 or eta outside (0, 1].
    """
    if n_spins < 1 or not 0.0 < eta <= 1.0:
        raise ValueError(f"n_spins = {n_spins}, eta = {eta}; accepted: n_spins >= 1, 0 < eta <= 1")
    e2 = eta * eta
    return n_spins ** 2 * e2 / (n_spins * (1.0 - e2) + e2) if not math.isclose(e2, 1.0) else float(n_spins) ** 2
