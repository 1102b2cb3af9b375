"""Benchmark: a shot-budget sweep on 2 local Dask workers against a serial loop.

Workload (default): 500 estimation points = 2 protocols (Ramsey, GHZ) x n in {2, 3}
x 25 log-spaced budgets (10 .. 10^6 shots) x 5 seeds, 20 repetitions per point, 4
optimized designs. Both runs start cold (the serial loop in this process, the
sweep in fresh worker processes) and do the same work: designs, then points.

Reported: wall time, points per second, the speed-up of the sweep over the
serial loop, and the per-point overhead of the sweep (wall x workers minus the
points' own compute time, per point), for the light points and for heavy points
(~1-2 s each, designs cached so only points run).

Usage:
  python benchmarks/bench_budget.py            # 500 points, 2 workers (a few minutes on 2 cores)
  python benchmarks/bench_budget.py --quick    # 60 points, seconds
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import tempfile
import time
from pathlib import Path


def _config(seeds: int, num_shots: int, repetitions: int, shots=None, name: str = "bench_budget"):
    from qlearn_sense.budget import budget_config_from_dict

    grid_shots = shots if shots is not None else {"min": 10, "max": 1_000_000, "num": num_shots}
    return budget_config_from_dict({
        "name": name, "seed": 5,
        "base": {"name": "bench_base", "seed": 1,
                 "sensor": {"kind": "nv_center", "eta": 0.9, "interrogation_time_s": 1e-6},
                 "signal": {"kind": "constant", "field_T": 1e-6},
                 "protocol": {"n_qubits": 2, "preparation": {"ansatz": "hea", "layers": 1},
                              "measurement": {"ansatz": "local"}},
                 "optimizer": {"steps": 60, "restarts": 2}},
        "tasks": ["estimation"],
        "grid": {"shots": grid_shots, "protocols": ["ramsey", "ghz"], "n_qubits": [2, 3],
                 "seeds": list(range(seeds))},
        "repetitions": repetitions,
    })


def serial(config) -> tuple[float, float, float]:
    """Designs then points in one loop in this process: (design s, points s, sum of point compute s)."""
    from qlearn_sense.budget import expand_grid
    from qlearn_sense.budget._design import build_design, design_specs
    from qlearn_sense.budget._points import run_point

    t0 = time.perf_counter()
    entries = {k: build_design(s) for k, s in design_specs(config).items()}
    t1 = time.perf_counter()
    rows = [run_point(entries[p.design_key], p, config) for p in expand_grid(config)]
    t2 = time.perf_counter()
    assert all(r["status"] == "ok" for r in rows), [r["error"] for r in rows if r["status"] != "ok"][:3]
    return t1 - t0, t2 - t1, sum(r["compute_s"] for r in rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="60 points instead of 500")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    from distributed import Client, LocalCluster

    from qlearn_sense.budget import expand_grid, run_budget
    from qlearn_sense.budget._design import build_design, design_specs
    from qlearn_sense.budget._store import DesignStore

    seeds, num = (3, 5) if args.quick else (5, 25)
    config = _config(seeds, num, 20)
    n = len(expand_grid(config))
    out = Path(tempfile.mkdtemp(prefix="bench_budget_"))

    t_design, t_points, _ = serial(config)
    t_serial = t_design + t_points

    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=logging.ERROR)
    client = Client(cluster)
    client.run(lambda: __import__("qlearn_sense.budget._points"))  # imports, as in this process
    t_start = time.perf_counter() - t0

    t0 = time.perf_counter()
    sweep = run_budget(config, client=client, out_root=out, run_id="light", report=False)
    t_sweep = time.perf_counter() - t0
    assert sweep.complete and sweep.n_errors == 0
    light_compute = sweep.table["compute_s"].sum()
    design_compute = sum(DesignStore(sweep.run_dir).load(k).build_s for k in design_specs(config))

    # heavy points (~1.5 s): designs computed here and cached in the run folder, so the sweep runs only points
    heavy_cfg = _config(1, 0, 5000, shots=[10_000, 30_000, 100_000, 300_000], name="bench_budget_heavy")
    folder = run_budget(heavy_cfg, client=client, out_root=out, run_id="heavy", max_points=0).run_dir
    entries = {}
    for key, spec in design_specs(heavy_cfg).items():
        entries[key] = build_design(spec)
        DesignStore(folder).save(entries[key])
    heavy = run_budget(resume=folder, client=client, report=False)
    new = heavy.table
    heavy_overhead = (heavy.wall_s * args.workers - new["compute_s"].sum()) / len(new)
    from qlearn_sense.budget._points import run_point

    t0 = time.perf_counter()
    for p in expand_grid(heavy_cfg):
        run_point(entries[p.design_key], p, heavy_cfg)
    t_heavy_serial = time.perf_counter() - t0
    client.close()
    cluster.close()

    light_overhead = (sweep.wall_s * args.workers - light_compute - design_compute) / n
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; workers: {args.workers} processes x 1 thread")
    print(f"workload: {n} estimation points (2 protocols x n in {{2, 3}} x {num} budgets x {seeds} seeds), "
          f"20 repetitions each, 4 designs; cluster start-up and imports {t_start:.1f} s (not counted)\n")
    print("| run | wall (s) | points/s | speed-up |")
    print("|---|---|---|---|")
    print(f"| light: serial loop, {n} points (designs {t_design:.1f} s + points {t_points:.1f} s) | {t_serial:.1f} | "
          f"{n / t_serial:.1f} | 1.00 |")
    print(f"| light: Dask sweep, {args.workers} workers (designs + points, rows written) | {t_sweep:.1f} | "
          f"{n / t_sweep:.1f} | {t_serial / t_sweep:.2f} |")
    print(f"| heavy: serial loop, {len(new)} points of ~{new['compute_s'].mean():.1f} s (designs cached) | "
          f"{t_heavy_serial:.1f} | {len(new) / t_heavy_serial:.2f} | 1.00 |")
    print(f"| heavy: Dask sweep, {args.workers} workers | {heavy.wall_s:.1f} | {len(new) / heavy.wall_s:.2f} | "
          f"{t_heavy_serial / heavy.wall_s:.2f} |")
    print()
    print("| points | mean compute per point (s) | overhead per point (s) | overhead / compute |")
    print("|---|---|---|---|")
    print(f"| light ({n}; wall minus designs' {design_compute:.1f} s) | {light_compute / n:.3f} | "
          f"{light_overhead:.3f} | "
          f"{light_overhead / (light_compute / n):.1%} |")
    mean_heavy = new["compute_s"].mean()
    print(f"| heavy ({len(new)}, designs cached) | {mean_heavy:.2f} | {heavy_overhead:.3f} | "
          f"{heavy_overhead / mean_heavy:.1%} |")


if __name__ == "__main__":
    main()
