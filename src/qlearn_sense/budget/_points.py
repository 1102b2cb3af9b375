"""One point of a budget sweep: a pure function of (design entry, point, config).

Runs on any worker. The only randomness is the point's own seed; the only
side effect is the backend call (simulators compile once per process and cache).
"""

from __future__ import annotations

import math
import os
import socket
import time
import traceback

import numpy as np
from scipy import stats

from qlearn_sense.backends import get_backend
from qlearn_sense.budget._config import BudgetConfig, GridPoint
from qlearn_sense.budget._design import DesignEntry, DesignFailure, exact_or_saddlepoint, observable_set
from qlearn_sense.estimation import mle_phase
from qlearn_sense.hyptest import min_error_fixed_shots, neyman_pearson_test
from qlearn_sense.shadows import (
    PauliObservables,
    basis_rotation_angles,
    estimate_paulis,
    qubit_wise_commuting_groups,
    random_pauli_recipes,
)


def point_fields(point: GridPoint, repetitions: int) -> dict:
    """The identifying columns of a point's row."""
    return {"point_index": point.index, "key": point.key, "task": point.task, "protocol": point.protocol,
            "n_qubits": point.n_qubits, "noise": point.noise, "noise_kind": point.noise_kind,
            "noise_value": point.noise_value, "backend": point.backend, "shots": point.shots,
            "seed": point.seed, "point_seed": point.point_seed, "design_key": point.design_key,
            "repetitions": repetitions,
            **({"efficiency": point.efficiency, "correlation": point.correlation} if point.task == "network" else {})}


def error_row(point: GridPoint, repetitions: int, message: str) -> dict:
    """The row of a point that failed (``status = "error"``)."""
    return {**point_fields(point, repetitions), "status": "error", "error": message[-2000:]}


def _seeds(rng: np.random.Generator, k: int) -> list[int]:
    return [int(s) for s in rng.integers(0, 2**63, size=k)]


def _design_fields(entry: DesignEntry) -> dict:
    return {"eta": entry.eta, "phase_rad": entry.phase_rad, "dphi_dB_rad_per_T": entry.dphi_dB,
            "true_field_T": entry.field_T, "shot_time_s": entry.shot_time_s, "cfi": entry.cfi, "qfi": entry.qfi,
            "sql_fisher": entry.sql}


def _estimation(entry: DesignEntry, point: GridPoint, config: BudgetConfig, rng: np.random.Generator) -> dict:
    reps, m = config.repetitions, point.shots
    sample = get_backend(point.backend).run(entry.protocol, np.tile(entry.params, (reps, 1)), entry.phase_rad, m,
                                            seed=_seeds(rng, 1)[0])
    est = mle_phase(entry.model, sample.counts, phi0=0.0)
    err = est.phi / entry.dphi_dB - entry.field_T
    mse = float(np.mean(err**2))
    a = 1.0 - config.ci_level
    # exact interval for a Gaussian unbiased estimator: reps * mse / var ~ chi2(reps)
    lo, hi = reps * mse / stats.chi2.ppf(1 - a / 2, reps), reps * mse / stats.chi2.ppf(a / 2, reps)
    d2 = entry.dphi_dB**2
    crb = 1.0 / (m * entry.cfi * d2) if entry.cfi > 0 else math.inf
    return {"mse_T2": mse, "mse_ci_low_T2": lo, "mse_ci_high_T2": hi, "bias_T": float(np.mean(err)),
            "std_T": float(np.std(err, ddof=1)), "crb_T2": crb,
            "crb_qfi_T2": 1.0 / (m * entry.qfi * d2) if entry.qfi > 0 else math.inf,
            "crb_sql_T2": 1.0 / (m * entry.sql * d2), "mse_over_crb": mse / crb,
            "n_at_window_edge": int(np.sum(est.at_edge))}


def _llr_sums(counts: np.ndarray, p0: np.ndarray, p1: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        llr = np.log(p1) - np.log(p0)
    llr[(p0 == 0) & (p1 == 0)] = 0.0  # impossible under both hypotheses: never counted
    finite = np.isfinite(llr)
    s = counts[:, finite] @ llr[finite]
    s = np.where(counts[:, llr == np.inf].sum(axis=1) > 0, np.inf, s)
    return np.where(counts[:, llr == -np.inf].sum(axis=1) > 0, -np.inf, s)


def _detection(entry: DesignEntry, point: GridPoint, config: BudgetConfig, rng: np.random.Generator) -> dict:
    det = config.detection_config
    reps, m = config.repetitions, point.shots
    test = exact_or_saddlepoint(neyman_pearson_test, entry.p0, entry.p1, det.alpha, m)
    bayes = exact_or_saddlepoint(min_error_fixed_shots, entry.p0, entry.p1, m, det.prior_null)
    phis = np.r_[np.full(reps, entry.phi_null), np.full(reps, entry.phi_alt)]
    sample = get_backend(point.backend).run(entry.protocol, np.tile(entry.params, (2 * reps, 1)), phis, m,
                                            seed=_seeds(rng, 1)[0])
    s = _llr_sums(sample.counts, entry.p0, entry.p1)
    thr = test.threshold
    tie = np.abs(s - thr) <= 1e-9 * max(1.0, abs(thr))
    decide_h1 = (s > thr) & ~tie | tie & (rng.random(2 * reps) < test.randomization)
    alpha_hat, beta_hat = float(np.mean(decide_h1[:reps])), float(np.mean(~decide_h1[reps:]))
    return {"alpha_target": det.alpha, "alpha_achieved": alpha_hat, "beta_achieved": beta_hat,
            "error_achieved": det.prior_null * alpha_hat + (1 - det.prior_null) * beta_hat,
            "alpha_exact": test.alpha, "beta_exact": test.beta, "bayes_error_exact": float(bayes),
            "np_approximate": bool(test.approximate), "shots_to_decide": entry.shots_to_decide}


def _measurement_params(entry: DesignEntry, recipes: np.ndarray) -> np.ndarray:
    """Parameters of the observables protocol measuring each recipe row (0=X, 1=Y, 2=Z per qubit)."""
    angles = basis_rotation_angles(recipes)  # (U, n, 2): (theta for RY, phi for RZ); the ansatz is RZ then RY
    meas = angles[..., ::-1].reshape(len(recipes), -1)
    prep = entry.params[:entry.protocol.n_prep_params]
    return np.concatenate([np.tile(prep, (len(recipes), 1)), meas], axis=1)


def qwc_groups(paulis: np.ndarray) -> list[tuple[np.ndarray, list[int]]]:
    """Qubit-wise-commuting groups (:func:`qlearn_sense.shadows.qubit_wise_commuting_groups`) with their bases.

    Returns:
      ``[(recipe (n,) with 0=X, 1=Y, 2=Z, members), ...]``; qubits no member
      touches are read in Z.
    """
    obs = PauliObservables.from_strings(["".join("IXYZ"[int(c)] for c in row) for row in paulis])
    out = []
    for members in qubit_wise_commuting_groups(obs):
        basis = np.max(paulis[members], axis=0)  # members agree wherever both act: the non-identity code
        out.append((np.where(basis == 0, 2, basis - 1).astype(np.int8), sorted(members)))
    return out


def _parities(paulis: np.ndarray, n: int) -> np.ndarray:
    """(M, 2**n) eigenvalue signs of each string's support on little-endian outcomes."""
    bits = (np.arange(2**n)[:, None] >> np.arange(n)) & 1  # (K, n)
    return np.where(((bits @ (paulis != 0).T) % 2) == 1, -1.0, 1.0).T


def _shadows_once(entry, point, obs, groups, backend, rng) -> np.ndarray:
    """One shadow estimate: random recipes, one batched backend call over all 3**n recipes."""
    n, shots = point.n_qubits, point.shots
    recipes = random_pauli_recipes(n, shots, rng)
    small = np.int16 if 3**n < 2**15 else np.int64  # 16-bit keys sort by radix
    codes = (recipes.astype(np.int64) @ 3 ** np.arange(n)).astype(small)
    cnt = np.bincount(codes, minlength=3**n)
    # every recipe in every call: a fixed batch shape, so simulators compile once per n
    every = ((np.arange(3**n)[:, None] // 3 ** np.arange(n)) % 3).astype(np.int8)
    sample = backend.run(entry.obs_protocol, _measurement_params(entry, every), entry.phase_rad, int(cnt.max()),
                         seed=_seeds(rng, 1)[0], memory=True)
    outcomes = np.empty(shots, dtype=np.int64)  # snapshot s gets the next unused outcome of its recipe
    outcomes[np.argsort(codes, kind="stable")] = np.concatenate([sample.memory[u, :c] for u, c in enumerate(cnt)])
    bits = ((outcomes[:, None] >> np.arange(n)) & 1).astype(np.uint8)
    est = estimate_paulis(recipes, bits, obs, groups=None if groups is None else min(groups, shots))
    return est.estimates if groups is None else est.median_of_means


def _direct(entry, point, obs, reps, backend, rng) -> np.ndarray:
    """(reps, M) estimates; shots split evenly over the groups (groups with no shot estimate 0)."""
    groups = qwc_groups(obs.paulis)
    per = np.full(len(groups), point.shots // len(groups))
    per[: point.shots % len(groups)] += 1
    signs = _parities(obs.paulis, point.n_qubits)
    out = np.zeros((reps, len(obs)))
    for (recipe, members), shots in zip(groups, per):
        if shots == 0:
            continue
        params = np.tile(_measurement_params(entry, recipe[None, :]), (reps, 1))
        counts = backend.run(entry.obs_protocol, params, entry.phase_rad, int(shots), seed=_seeds(rng, 1)[0]).counts
        out[:, members] = counts @ signs[members].T / shots * obs.coefficients[members]
    return out


def _observables(entry: DesignEntry, point: GridPoint, config: BudgetConfig, rng: np.random.Generator) -> dict:
    reps = config.repetitions
    obs = observable_set(config.observables.set, point.n_qubits)
    backend = get_backend(point.backend)
    if point.protocol == "shadows":
        est = np.stack([_shadows_once(entry, point, obs, config.observables.groups, backend, rng)
                        for _ in range(reps)])
    else:
        est = _direct(entry, point, obs, reps, backend, rng)
    abs_err = np.abs(est - entry.obs_truth)
    worst = abs_err.max(axis=1)
    half = stats.t.ppf(0.5 + config.ci_level / 2, reps - 1) * np.std(worst, ddof=1) / math.sqrt(reps)
    return {"n_observables": len(obs), "max_error": float(worst.mean()), "max_error_ci_low": float(worst.mean() - half),
            "max_error_ci_high": float(worst.mean() + half), "mean_abs_error": float(abs_err.mean())}


def _network(entry, point: GridPoint, config: BudgetConfig, rng: np.random.Generator) -> dict:
    """One network strategy at one (efficiency, correlation): optimized circuit, per-shot precision.

    The base config's network is rebuilt with every link at ``point.efficiency``
    (nan: unchanged) and the common-mode correlation ``point.correlation``; the
    strategy's circuit is optimized (the network optimizer section, seeded from
    the point) and its QFIM and CFIM precision of the estimand reported per shot,
    with the standard error of the estimand after ``point.shots`` shots.
    Ensemble nodes, if any, add their local Fisher information (no entanglement).
    """
    import jax

    from qlearn_sense.experiments._network_config import network_from_config
    from qlearn_sense.network import fisher_matrices, precision
    from qlearn_sense.network._strategies import optimize_rows

    cfg = config.base.network
    net, est = network_from_config(cfg, config.base.sensor)
    net = net.with_correlation(point.correlation)
    eff = None if math.isnan(point.efficiency) else float(point.efficiency)
    opt = cfg.optimizer
    circuit = net.circuit(point.protocol, opt.layers)  # the base links: efficiency enters as a traced value
    from qlearn_sense.optimize import random_init

    key = jax.random.PRNGKey(int(rng.integers(2**31)))
    start = np.asarray(random_init(key, opt.restarts, circuit.n_params))
    params, final, _ = optimize_rows(net, circuit, est, start, np.full(opt.restarts, -1.0 if eff is None else eff),
                                     steps=opt.steps, learning_rate=opt.learning_rate)
    best = int(np.argmax(final))
    fq, fc = fisher_matrices(net, circuit, params[best], eff, est)
    pq, pm = precision(est, fq), precision(est, fc)
    units = {s.unit for s in net.sources}
    unit = cfg.estimand.unit or (units.pop() if len(units) == 1 and est.weights is not None else "1")
    return {"precision_quantum": pq, "precision_measured": pm,
            "estimand_std": 1.0 / math.sqrt(point.shots * pm) if pm > 0 else math.inf, "estimand_unit": unit,
            "n_ensemble_nodes": sum(not nd.is_register for nd in net.nodes)}


_TASKS = {"estimation": _estimation, "detection": _detection, "observables": _observables, "network": _network}


def run_point(entry: DesignEntry | DesignFailure, point: GridPoint, config: BudgetConfig) -> dict:
    """Evaluate one point; never raises: a failure becomes a row with ``status = "error"``.

    Args:
      entry: the design cache entry of ``point.design_key`` (a failure gives an error row;
        None for network points, which optimize their own circuit).
      point: the grid point.
      config: the sweep config (repetitions, detection, observables, CI level).

    Returns:
      A row dict (see ``qlearn_sense.budget._store.COLUMNS``); the
      metrics are a deterministic function of the arguments, ``compute_s`` and
      ``worker`` are timing information.
    """
    t0 = time.perf_counter()
    try:
        if isinstance(entry, DesignFailure):
            raise RuntimeError(f"design {entry.key} failed: {entry.error}")
        rng = np.random.default_rng(point.point_seed)
        design = _design_fields(entry) if isinstance(entry, DesignEntry) else {}
        row = {**point_fields(point, config.repetitions), "status": "ok", **design,
               **_TASKS[point.task](entry, point, config, rng)}
    except Exception as exc:  # noqa: BLE001 - recorded, the sweep goes on
        if isinstance(entry, DesignFailure):
            message = str(exc)
        else:
            tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
            message = f"{type(exc).__name__}: {exc}\n{''.join(tb[-3:])}"
        row = error_row(point, config.repetitions, message)
    row["compute_s"] = time.perf_counter() - t0
    row["worker"] = f"{socket.gethostname()}:{os.getpid()}"
    return row
