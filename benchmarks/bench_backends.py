"""Benchmark: aer:<fake> (restricted noise model) vs qiskit-ibm-runtime local testing mode.

Workload: a 3-qubit GHZ-Ramsey sweep (GHZ preparation, RZ(phi) on every qubit,
parity readout) over ``--phases`` phases with ``--shots`` shots each, as one PUB,
on FakeFez qubits 3-4-5 (optimization level 1, transpiler seed 0). Both paths
start cold, as a user's run does: ``ibm-local`` builds the noise model of all
156 qubits in every job; ``aer:fake_fez`` builds it for the 3 used qubits. The
outcome distributions (counts pooled over the repeats, each with its own seed)
are compared by chi-square homogeneity tests.

The speed-up target (``aer:<fake>`` at least 5x faster than local testing mode)
lives here, not in the unit tests (timings are not unit tests; the
distributions' agreement is tested in tests/backends/test_backends_devices.py).

Usage:
  python benchmarks/bench_backends.py            # 20 phases x 4000 shots, 3 repeats
  python benchmarks/bench_backends.py --quick    # 6 phases x 1000 shots, 1 repeat
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

TARGET_SPEEDUP = 5.0
"""aer:<fake> must be at least this many times faster than ibm-local:<fake> (cold start, median)."""


def _chi2_homogeneity(a: np.ndarray, b: np.ndarray) -> tuple[float, int]:
    keep = (a + b) > 0
    na, nb = a.sum(), b.sum()
    pooled = (a + b)[keep] / (na + nb)
    chi2 = float(np.sum((a[keep] - na * pooled) ** 2 / (na * pooled) + (b[keep] - nb * pooled) ** 2 / (nb * pooled)))
    return chi2, int(keep.sum()) - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="fake_fez")
    parser.add_argument("--qubits", default="3,4,5", help="physical qubits of the GHZ chain")
    parser.add_argument("--phases", type=int, default=20)
    parser.add_argument("--shots", type=int, default=4000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.phases, args.shots, args.repeat = 6, 1000, 1

    from scipy.stats import chi2 as chi2_dist

    from qlearn_sense.backends import _aer, get_backend
    from qlearn_sense.protocol import build_protocol

    qubits = [int(q) for q in args.qubits.split(",")]
    protocol = build_protocol(len(qubits), "ghz", "ghz_parity")
    phis = np.linspace(0.0, np.pi / len(qubits), args.phases)
    params = np.zeros((args.phases, protocol.n_params))

    t_aer, t_local = [], []
    fast_counts = slow_counts = 0
    for r in range(args.repeat):
        _aer._cached_noise_model.cache_clear()  # cold start: the noise model is built inside the timing
        aer = get_backend(f"aer:{args.device}").configure(initial_layout=qubits)
        t0 = time.perf_counter()
        fast = aer.run(protocol, params, phis, args.shots, seed=100 + r)
        t_aer.append(time.perf_counter() - t0)
        local = get_backend(f"ibm-local:{args.device}").configure(initial_layout=qubits)
        t0 = time.perf_counter()
        slow = local.run(protocol, params, phis, args.shots, seed=200 + r)
        t_local.append(time.perf_counter() - t0)
        fast_counts, slow_counts = fast_counts + fast.counts, slow_counts + slow.counts

    pvals, total, total_dof = [], 0.0, 0
    for a, b in zip(fast_counts, slow_counts):
        stat, dof = _chi2_homogeneity(a, b)
        total, total_dof = total + stat, total_dof + dof
        pvals.append(float(chi2_dist.sf(stat, dof)) if dof > 0 else 1.0)
    ta, tl = float(np.median(t_aer)), float(np.median(t_local))
    print(f"machine: {platform.machine()} {platform.processor() or ''} python {platform.python_version()}")
    print(f"workload: {len(qubits)}-qubit GHZ-Ramsey on {args.device} qubits {qubits}, {args.phases} phases x "
          f"{args.shots} shots (one PUB), cold start, median of {args.repeat}")
    print(f"aer:{args.device}        {ta:8.3f} s   (restricted noise model, {len(qubits)} qubits)")
    print(f"ibm-local:{args.device}  {tl:8.3f} s   (qiskit-ibm-runtime local testing mode)")
    speedup = tl / ta
    verdict = "met" if speedup >= TARGET_SPEEDUP else "NOT met"
    print(f"speed-up: {speedup:.1f}x  (target >= {TARGET_SPEEDUP:g}x: {verdict})")
    worst = int(np.argmin(pvals))
    print(f"agreement (chi-square homogeneity, counts of all repeats): chi2 = {total:.1f} on {total_dof} dof, "
          f"p = {chi2_dist.sf(total, total_dof):.3f}; worst phase {phis[worst]:.3f} rad, Bonferroni "
          f"p = {min(1.0, min(pvals) * len(pvals)):.3f}; median per-phase p = {np.median(pvals):.3f}")


if __name__ == "__main__":
    main()
