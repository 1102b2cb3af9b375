"""Benchmark: qlearn_sense.shadows.estimate_paulis vs PennyLane's ClassicalShadow.

Default workload: 16 qubits, 100,000 snapshots of a random product state measured
in uniformly random Pauli bases, 1,000 random Pauli observables of weight <= 4.
PennyLane's ``ClassicalShadow.expval`` (k=1, the plain mean) is timed on a subset
of the observables (its memory grows as S * M * n int64), and the per-observable
times are compared. Values on the shared subset must agree to 1e-10.

Usage:
  python benchmarks/bench_shadows.py            # full sizes
  python benchmarks/bench_shadows.py --quick    # small sizes, seconds
"""

from __future__ import annotations

import argparse
import platform
import resource
import time
import tracemalloc

import numpy as np


def _product_state_data(n, S, rng):
    """Recipes and exact bits of a random product state (Bloch vectors r_j)."""
    from qlearn_sense.shadows import random_pauli_recipes

    r = rng.normal(size=(n, 3))
    r /= np.linalg.norm(r, axis=1, keepdims=True)
    recipes = random_pauli_recipes(n, S, rng)
    p0 = 0.5 * (1.0 + r[np.arange(n)[None, :], recipes])  # P(bit 0) = (1 + r_j[basis]) / 2
    bits = (rng.random((S, n)) >= p0).astype(np.uint8)
    return recipes, bits


def _random_observables(n, M, max_weight, rng):
    from qlearn_sense.shadows import PauliObservables

    P = np.zeros((M, n), dtype=np.int8)
    for m in range(M):
        k = rng.integers(1, max_weight + 1)
        support = rng.choice(n, size=k, replace=False)
        P[m, support] = rng.integers(1, 4, size=k)
    return PauliObservables(P, np.ones(M))


def _pennylane_ops(obs):
    import pennylane as qml

    ops = []
    for row in obs.paulis:
        factors = [(qml.X, qml.Y, qml.Z)[p - 1](j) for j, p in enumerate(row) if p]
        ops.append(factors[0] if len(factors) == 1 else qml.prod(*factors))
    return ops


def _timed(fn, repeat):
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _peak_bytes(fn):
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--qubits", type=int, default=16)
    parser.add_argument("--snapshots", type=int, default=100_000)
    parser.add_argument("--observables", type=int, default=1000)
    parser.add_argument("--max-weight", type=int, default=4)
    parser.add_argument("--pennylane-subset", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3, help="best of this many timings")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="8 qubits, 5,000 snapshots, 200 observables, subset 50")
    args = parser.parse_args(argv)
    if args.quick:
        args.qubits, args.snapshots, args.observables, args.pennylane_subset = 8, 5000, 200, 50

    import pennylane as qml

    import qlearn_sense
    from qlearn_sense.shadows import estimate_paulis

    rng = np.random.default_rng(args.seed)
    recipes, bits = _product_state_data(args.qubits, args.snapshots, rng)
    obs = _random_observables(args.qubits, args.observables, args.max_weight, rng)
    sub = min(args.pennylane_subset, args.observables)
    ops = _pennylane_ops(obs)[:sub]
    bits64, recipes64 = bits.astype(np.int64), recipes.astype(np.int64)

    ours = lambda: estimate_paulis(recipes, bits, obs)  # noqa: E731
    theirs = lambda: np.asarray(qml.ClassicalShadow(bits64, recipes64).expval(ops, k=1))  # noqa: E731

    t_ours, est = _timed(ours, args.repeat)
    t_pl, pl_values = _timed(theirs, max(1, min(args.repeat, 2)))
    max_diff = float(np.max(np.abs(est.estimates[:sub] - pl_values)))
    mem_ours = _peak_bytes(ours)
    mem_pl = _peak_bytes(theirs)

    per_ours = t_ours / args.observables
    per_pl = t_pl / sub
    print(f"# classical-shadow Pauli estimation, {args.qubits} qubits, {args.snapshots} snapshots, "
          f"weight <= {args.max_weight}")
    print(f"qlearn-sense {qlearn_sense.__version__}, numpy {np.__version__}, pennylane {qml.__version__}, "
          f"python {platform.python_version()}, {platform.machine()}\n")
    print("| implementation | observables | total time (s) | time / observable (ms) | peak traced memory (MiB) |")
    print("|---|---|---|---|---|")
    print(f"| qlearn-sense `estimate_paulis` | {args.observables} | {t_ours:.3f} | {1e3 * per_ours:.4f} | "
          f"{mem_ours / 2**20:.1f} |")
    print(f"| PennyLane `ClassicalShadow.expval(k=1)` | {sub} | {t_pl:.3f} | {1e3 * per_pl:.4f} | "
          f"{mem_pl / 2**20:.1f} |")
    print()
    print(f"- per-observable speed-up: **{per_pl / per_ours:.0f}x**")
    print(f"- max |difference| on the {sub} shared observables: {max_diff:.2e} (required <= 1e-10: "
          f"{'ok' if max_diff <= 1e-10 else 'FAIL'})")
    print(f"- process max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:.0f} MiB")
    return 0 if max_diff <= 1e-10 else 1


if __name__ == "__main__":
    raise SystemExit(main())
