"""Benchmark: one noisy Fisher-information optimizer step, qlearn-sense vs PennyLane default.mixed + jax.jit.

Workload (issue 2): n sensor qubits, a 2-layer hardware-efficient preparation
(``hea``), local dephasing with coherence factor eta = 0.9 on every qubit, the
signal ``exp(-i phi sum_j Z_j / 2)``, and

* QFI objective: the QFI of the noisy state w.r.t. phi (preparation parameters);
* CFI objective: the CFI at phi = 0.3 rad of a 1-layer local measurement ansatz
  (``local``: RZ, RY per qubit) followed by computational-basis readout.

One step = value and gradient of the objective + an optax Adam update, jitted,
for both tools. The reference builds the same gates in PennyLane
``default.mixed`` (``interface="jax"``) and computes

* QFI: ``qml.density_matrix`` then the SLD formula ``2 sum (l_i - l_j)^2 / (l_i + l_j) |<i|G|j>|^2``
  with ``jnp.linalg.eigh``, gradient by plain JAX autodiff;
* CFI: ``qml.probs`` and ``jax.jacfwd`` in phi, ``sum (dp)^2 / p``, gradient by JAX.

Also timed: one jitted ``jnp.linalg.eigh`` of the workload's 2**n x 2**n noisy
density matrix, the floor of any mixed-state QFI (target: a QFI step within
1.5x of it). The two tools' objective values at
the same parameters are printed side by side (they must agree).

Usage:
  python benchmarks/bench_fisher.py                       # n = 4, 6, 8, 10, 12 (PennyLane up to 10)
  python benchmarks/bench_fisher.py --max-n 8 --pennylane-max-n 8 --steps 3
Results also go to ``benchmarks/results/bench_fisher.md`` (git-ignored).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from qlearn_sense import _jax  # noqa: F401  (x64)
import jax
import jax.numpy as jnp
import optax

PHI = 0.3
ETA = 0.9
LR = 0.05


def _protocol(n: int):
    from qlearn_sense.protocol import Noise, build_protocol

    return build_protocol(n, "hea", "local", prep_layers=2, meas_layers=1, noise=Noise.uniform(n, eta=ETA))


def _step(objective):
    opt = optax.adam(LR)

    @jax.jit
    def step(theta, state):
        value, grad = jax.value_and_grad(lambda t: -objective(t))(theta)
        updates, state = opt.update(grad, state, theta)
        return optax.apply_updates(theta, updates), state, -value

    return step, opt


class _Stepper:
    """A jitted optimizer step on one objective, compiled on construction; ``once()`` times one step."""

    def __init__(self, objective, theta0):
        self.step, opt = _step(objective)
        self.theta, self.state = theta0, opt.init(theta0)
        self.theta, self.state, value = self.step(self.theta, self.state)
        jax.block_until_ready(self.theta)
        self.value0 = float(value)

    def once(self) -> float:
        t0 = time.perf_counter()
        self.theta, self.state, _ = self.step(self.theta, self.state)
        jax.block_until_ready(self.theta)
        return time.perf_counter() - t0


def _interleaved(timers, rounds: int) -> list[float]:
    """Best time of each timer over ``rounds`` rounds, timers taking turns (robust to load drift)."""
    best = [np.inf] * len(timers)
    for _ in range(rounds):
        for i, timer in enumerate(timers):
            best[i] = min(best[i], timer())
    return best


def ours(n: int):
    from qlearn_sense.protocol import compile_jax

    jp = compile_jax(_protocol(n))
    return jp.qfi, (lambda th: jp.cfi(th, PHI))


def pennylane(n: int):
    import pennylane as qml
    from qlearn_sense.backends._pennylane import _apply_gate  # gate-name mapping only

    protocol = _protocol(n)
    dev = qml.device("default.mixed", wires=n)
    gamma = 1.0 - ETA ** 2  # PhaseDamping: off-diagonals x sqrt(1 - gamma) = eta

    def prepare(theta, phi):
        for g in protocol.prep:
            _apply_gate(qml, g, theta)
        for j in range(n):
            qml.RZ(phi, wires=j)
            qml.PhaseDamping(gamma, wires=j)

    @qml.qnode(dev, interface="jax")
    def state(theta):
        prepare(theta, 0.0)
        return qml.density_matrix(wires=range(n))

    @qml.qnode(dev, interface="jax")
    def probs(theta, phi):
        prepare(theta, phi)
        for g in protocol.measure:
            _apply_gate(qml, g, theta)
        return qml.probs(wires=range(n))

    k = np.arange(2 ** n)
    g = jnp.asarray(sum(0.5 - ((k >> (n - 1 - j)) & 1) for j in range(n)))  # sum Z_j / 2, wire 0 = MSB

    def qfi(theta):
        lam, u = jnp.linalg.eigh(state(theta))
        gij = jnp.conj(u.T) @ (g[:, None] * u)
        s = lam[:, None] + lam[None, :]
        mask = s > 1e-12
        w = jnp.where(mask, (lam[:, None] - lam[None, :]) ** 2 / jnp.where(mask, s, 1.0), 0.0)
        return 2.0 * jnp.sum(w * jnp.abs(gij) ** 2)

    def cfi(theta):
        p = probs(theta, PHI)
        dp = jax.jacfwd(lambda x: probs(theta, x))(jnp.asarray(PHI))
        mask = p > 1e-14
        return jnp.sum(jnp.where(mask, dp ** 2 / jnp.where(mask, p, 1.0), 0.0))

    return qfi, cfi


def eigh_timer(n: int, theta0):
    """Timer of one jitted ``jnp.linalg.eigh`` of the workload's noisy density matrix at theta0."""
    from qlearn_sense.protocol import compile_jax

    rho = jax.jit(compile_jax(_protocol(n)).density_matrix)(theta0, 0.0)
    f = jax.jit(jnp.linalg.eigh)
    jax.block_until_ready(f(rho))

    def once() -> float:
        t0 = time.perf_counter()
        jax.block_until_ready(f(rho))
        return time.perf_counter() - t0

    return once


def _num(x: float, fmt: str) -> str:
    return "-" if not np.isfinite(x) else format(x, fmt)


def _ms(x: float) -> str:
    return "-" if not np.isfinite(x) else (f"{x * 1e3:.2f}" if x < 0.1 else f"{x * 1e3:.0f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--min-n", type=int, default=4)
    ap.add_argument("--max-n", type=int, default=12)
    ap.add_argument("--pennylane-max-n", type=int, default=10)
    ap.add_argument("--steps", type=int, default=5, help="timing rounds per case (the best is reported)")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "bench_fisher.md"))
    args = ap.parse_args(argv)

    import pennylane as qml
    import qlearn_sense

    rows = []
    header = ("| n | QFI ours ms | QFI PL ms | QFI PL/ours | eigh ms | QFI ours/eigh | "
              "CFI ours ms | CFI PL ms | CFI PL/ours | QFI ours | QFI PL | CFI ours | CFI PL |")
    print(header)
    print("|" + "---|" * 13)
    for n in range(args.min_n, args.max_n + 1, 2):
        rounds = args.steps if n <= 10 else max(2, args.steps // 2)
        theta0 = jnp.asarray(np.random.default_rng(n).uniform(-np.pi, np.pi, _protocol(n).n_params))
        q_ours, c_ours = ours(n)
        sq, sc = _Stepper(q_ours, theta0), _Stepper(c_ours, theta0)
        tq, te, tc = _interleaved([sq.once, eigh_timer(n, theta0), sc.once], rounds)
        vq, vc = sq.value0, sc.value0
        tq_pl = tc_pl = np.nan
        vq_pl = vc_pl = np.nan
        if n <= args.pennylane_max_n:
            q_pl, c_pl = pennylane(n)
            pq, pc = _Stepper(q_pl, theta0), _Stepper(c_pl, theta0)
            tq_pl, tc_pl = _interleaved([pq.once, pc.once], rounds if n <= 8 else 2)
            vq_pl, vc_pl = pq.value0, pc.value0
        row = (f"| {n} | {_ms(tq)} | {_ms(tq_pl)} | {_num(tq_pl / tq, '.1f')} | {_ms(te)} | {tq / te:.2f} | "
               f"{_ms(tc)} | {_ms(tc_pl)} | {_num(tc_pl / tc, '.1f')} | {vq:.6f} | {_num(vq_pl, '.6f')} | {vc:.6f} | "
               f"{_num(vc_pl, '.6f')} |")
        print(row, flush=True)
        rows.append(row)

    env = (f"qlearn-sense {qlearn_sense.__version__}, jax {jax.__version__}, pennylane {qml.__version__}, "
           f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs")
    print(env)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write("\n".join([header, "|" + "---|" * 13, *rows, "", env, ""]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
