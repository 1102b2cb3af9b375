"""Benchmark: QFI of a dephased one-axis-twisted state, qlearn-sense's collective engine vs QuTiP PIQS.

Workload (issue 11): N spins, OAT state ``exp(-i a J_x) exp(-i mu J_z^2) |+>^N`` with mu = 0.5 N^(-2/3) and the
axis a of the largest noiseless QFI, local dephasing with coherence factor eta per spin, QFI of J_z.

* PIQS (Shammah et al., PRA 98, 063815 (2018); ``from qutip.piqs.piqs import Dicke``): build the local-
  dephasing Liouvillian (rate gamma_D, eta = exp(-gamma_D t / 2), REFERENCES.md), evolve the state for t with
  ``qutip.mesolve``, then the SLD formula on each block of ``dicke_blocks`` (a PIQS block stores the sum over
  its degenerate copies: no degeneracy factor). Its "QFI + gradient" is a central finite difference in mu
  (two more evolutions; the Liouvillian is reused).
* ours: ``qlearn_sense.collective.qfi`` of the Dicke amplitudes, jitted; the gradient w.r.t. mu by JAX through
  the state builder. The one-time flip table (per N and eta) and the jit compilation are timed separately.

T1 rows (``--gamma-t1``, default 0.01): the same workload with local emission (amplitude damping) as
well: PIQS ``Dicke(N, dephasing=gamma_D, emission=gamma_E)`` evolved for t = 1, so ``gamma_t1 = 1 - exp(-gamma_E)``
and the total coherence ``eta = exp(-(gamma_D + gamma_E)/2)``; PIQS emission lowers m, our T1 raises it (decay
to |0>, m = +1/2), so PIQS gets the mirrored state (the QFI of J_z is the same). Ours:
``qlearn_sense.collective.qfi(psi, eta, gamma_t1=...)``; the N = 1000 row is pure T1 (eta = sqrt(1 - gamma)).

Usage:
  python benchmarks/bench_ensemble.py                     # ours N = 20..1000, PIQS N = 20, 50, 100
  python benchmarks/bench_ensemble.py --piqs-max-n 50 --eta 0.95
QuTiP is a benchmark-only reference: skipped with a message when not installed.
"""

from __future__ import annotations

import argparse
import importlib
import math
import time

import numpy as np

from qlearn_sense import _jax  # noqa: F401  (x64)
import jax
import jax.numpy as jnp

from qlearn_sense import collective as col


def _mu(n: int) -> float:
    return 0.5 * n ** (-2 / 3)  # near the Kitagawa-Ueda optimum scale


def _axis(n: int, mu: float) -> float:
    f = lambda a: float(col.qfi(col.oat_state(n, mu, a), 1.0))  # noqa: E731
    grid = np.linspace(0, np.pi, 61)
    return float(grid[int(np.argmax([f(a) for a in grid]))])


def _best_of(fn, rounds=3):
    best = math.inf
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def ours(n: int, eta: float, mu: float, axis: float, rounds: int, gamma_t1: float = 0.0):
    t = time.perf_counter()
    if gamma_t1 > 0:
        col.decayed_factors(col.coherent_state(n), eta, gamma_t1)  # builds and caches the T1 tables
    else:
        col.flip_table(n, col.flips_needed(n, eta))
    t_table = time.perf_counter() - t
    f = jax.jit(lambda m: col.qfi(col.oat_state(n, m, axis), eta, gamma_t1=gamma_t1))
    vg = jax.jit(jax.value_and_grad(lambda m: col.qfi(col.oat_state(n, m, axis), eta, gamma_t1=gamma_t1)))
    t = time.perf_counter()
    value = float(f(mu))
    vg(mu)[0].block_until_ready()
    t_compile = time.perf_counter() - t
    t_q = _best_of(lambda: f(mu).block_until_ready(), rounds)
    t_g = _best_of(lambda: vg(mu)[0].block_until_ready(), rounds)
    return value, t_q, t_g, t_table, t_compile


def _piqs_qfi(qutip, piqs, n, rho_t):
    value = 0.0
    for block in piqs.dicke_blocks(rho_t):
        b = np.asarray(block.full() if hasattr(block, "full") else block)
        j = (b.shape[0] - 1) / 2
        m = j - np.arange(b.shape[0])
        lam, u = np.linalg.eigh(b)
        g = np.conj(u.T) @ (m[:, None] * u)
        s = lam[:, None] + lam[None, :]
        mask = s > 1e-12
        value += 2 * np.sum(np.where(mask, (lam[:, None] - lam[None, :]) ** 2 / np.where(mask, s, 1), 0)
                            * np.abs(g) ** 2)
    return float(value)


def piqs_run(n: int, eta: float, mu: float, axis: float, gamma_t1: float = 0.0, psi0=None):
    qutip = importlib.import_module("qutip")
    piqs = importlib.import_module("qutip.piqs.piqs")
    t0 = time.perf_counter()
    gamma_e = -math.log1p(-gamma_t1)  # gamma_t1 = 1 - exp(-gamma_E t), t = 1
    gamma_d = -2 * math.log(eta) - gamma_e  # total eta = exp(-(gamma_D + gamma_E) t / 2) with t = 1
    system = piqs.Dicke(n, dephasing=gamma_d, emission=gamma_e) if gamma_t1 > 0 else piqs.Dicke(n, dephasing=gamma_d)
    liouv = system.liouvillian()
    t_build = time.perf_counter() - t0
    nds = piqs.num_dicke_states(n)

    def state(m):
        psi = np.asarray(col.oat_state(n, m, axis) if psi0 is None else psi0)  # j = N/2 block: first N+1 Dicke states, m = N/2 ... -N/2
        if gamma_t1 > 0:
            psi = psi[::-1]  # PIQS emission lowers m; ours decays to m = +1/2: mirror (same J_z QFI)
        rho = np.zeros((nds, nds), dtype=complex)
        rho[: n + 1, : n + 1] = np.outer(psi, psi.conj())
        return qutip.Qobj(rho)

    def evolve_qfi(m):
        out = qutip.mesolve(liouv, state(m), [0.0, 1.0], options={"atol": 1e-12, "rtol": 1e-10})
        return _piqs_qfi(qutip, piqs, n, out.states[-1])

    t = time.perf_counter()
    value = evolve_qfi(mu)
    t_qfi = t_build + time.perf_counter() - t
    h = 1e-5
    t = time.perf_counter()
    grad = (evolve_qfi(mu + h) - evolve_qfi(mu - h)) / (2 * h)
    t_grad = t_qfi + time.perf_counter() - t
    return value, t_qfi, t_grad, grad


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ns", type=int, nargs="+", default=[20, 50, 100, 200, 500, 1000])
    ap.add_argument("--piqs-max-n", type=int, default=100)
    ap.add_argument("--eta", type=float, default=0.99)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--gamma-t1", type=float, default=0.01, help="T1 decay probability of the T1 rows (0: none)")
    ap.add_argument("--t1-ns", type=int, nargs="+", default=[20, 50, 1000])
    args = ap.parse_args()
    try:
        importlib.import_module("qutip.piqs.piqs")
        have_piqs = True
    except ImportError:
        have_piqs = False
        print("QuTiP (qutip.piqs) is not installed: PIQS columns skipped (pip install qutip)")
    print(f"eta = {args.eta} per spin; OAT mu = 0.5 N^(-2/3); times in s (best of {args.rounds}); jax "
          f"{jax.__version__}, devices {jax.devices()}")
    head = (f"{'N':>5} {'QFI ours':>16} {'QFI PIQS':>16} {'rel diff':>9} {'ours qfi':>9} {'ours q+g':>9} "
            f"{'PIQS qfi':>9} {'PIQS q+g':>9} {'ratio q':>8} {'ratio q+g':>9} {'table':>7} {'compile':>8}")
    print(head)
    for n in args.ns:
        mu = _mu(n)
        axis = _axis(n, mu)
        v, tq, tg, ttab, tcomp = ours(n, args.eta, mu, axis, args.rounds)
        row = f"{n:>5} {v:>16.10f}"
        if have_piqs and n <= args.piqs_max_n:
            pv, pq, pg, _ = piqs_run(n, args.eta, mu, axis)
            row += (f" {pv:>16.10f} {abs(v - pv) / abs(v):>9.1e} {tq:>9.2e} {tg:>9.2e} {pq:>9.2e} {pg:>9.2e}"
                    f" {pq / tq:>8.0f} {pg / tg:>9.0f}")
        else:
            row += f" {'-':>16} {'-':>9} {tq:>9.2e} {tg:>9.2e} {'-':>9} {'-':>9} {'-':>8} {'-':>9}"
        print(row + f" {ttab:>7.2f} {tcomp:>8.2f}", flush=True)
    if args.gamma_t1 > 0:
        g = args.gamma_t1
        print(f"\nT1 rows: gamma_t1 = {g}; total eta = {args.eta} * sqrt(1 - gamma_t1) (N = 1000: pure T1, "
              "eta = sqrt(1 - gamma_t1))")
        print(head)
        for n in args.t1_ns:
            eta_t = math.sqrt(1 - g) * (args.eta if n < 1000 else 1.0)
            mu = _mu(n)
            axis = _axis(n, mu)
            v, tq, tg, ttab, tcomp = ours(n, eta_t, mu, axis, args.rounds, g)
            row = f"{n:>5} {v:>16.10f}"
            if have_piqs and n <= args.piqs_max_n:
                pv, pq, pg, _ = piqs_run(n, eta_t, mu, axis, g)
                row += (f" {pv:>16.10f} {abs(v - pv) / abs(v):>9.1e} {tq:>9.2e} {tg:>9.2e} {pq:>9.2e} {pg:>9.2e}"
                        f" {pq / tq:>8.0f} {pg / tg:>9.0f}")
            else:
                row += f" {'-':>16} {'-':>9} {tq:>9.2e} {tg:>9.2e} {'-':>9} {'-':>9} {'-':>8} {'-':>9}"
            print(row + f" {ttab:>7.2f} {tcomp:>8.2f}", flush=True)
        if have_piqs and args.piqs_max_n >= 20:  # closed form N eta^2 of the coherent state along x, with T1
            n, eta_t = min(50, args.piqs_max_n), math.sqrt(1 - g) * args.eta
            css = col.coherent_state(n)
            pv = piqs_run(n, eta_t, 0.0, 0.0, g, psi0=css)[0]
            v = float(col.qfi(css, eta_t, gamma_t1=g))
            print(f"CSS closed form N eta^2 at N = {n}: {n * eta_t ** 2:.10f}; ours {v:.10f} (rel "
                  f"{abs(v / (n * eta_t ** 2) - 1):.1e}); PIQS {pv:.10f} (rel {abs(pv / (n * eta_t ** 2) - 1):.1e})")
    # register engine agreement (N <= 10)
    from qlearn_sense.fisher import qfi_dephased

    for n in (4, 8, 10):
        c = np.asarray(col.oat_state(n, _mu(n), 0.7))
        k = np.arange(2 ** n)
        pc = np.array([bin(x).count("1") for x in k])
        psi = c[pc] / np.sqrt([math.comb(n, x) for x in pc])
        reg = float(qfi_dephased(jnp.asarray(psi), (args.eta,) * n, (n - 2 * pc) / 2.0))
        ours_v = float(col.qfi(c, args.eta))
        print(f"register engine N = {n}: {reg:.12f} vs collective {ours_v:.12f} (rel {abs(reg - ours_v) / reg:.1e})")


if __name__ == "__main__":
    main()
