"""Strategies on one network: optimize each variational circuit for a linear function or tr(W F^-1).

Fisher matrices are computed in normalized source coordinates (each column of
the phase Jacobian scaled to unit norm) so the optimizer sees O(1) numbers, and
reported in the sources' SI units. The objective maximized is the logarithm of
the precision (``F_q`` or ``1 / tr(W F^-1)``), which is invariant to units.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Sequence

from qlearn_sense import _jax  # noqa: F401
import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import brentq

from qlearn_sense.fisher import linear_function_fisher
from qlearn_sense.network._model import Network, Strategy
from qlearn_sense.network._sim import NetworkCircuit, compile_network
from qlearn_sense.optimize import make_optimizer, make_step, random_init

RIDGE = 1e-9
"""Ridge added to normalized Fisher matrices inside objectives (keeps singular F finite)."""


@dataclass(frozen=True)
class Estimand:
    """What the network estimates: a linear function ``q = w . theta`` or a weighted cost ``tr(W Cov)``.

    Attributes:
      weights: w, shape (k,), or None.
      matrix: W, shape (k, k), symmetric positive definite, or None.
      label: description.

    Raises:
      ValueError: neither or both given, wrong shapes, zero w, or a W that is
        not symmetric positive definite (singular).
    """

    weights: tuple[float, ...] | None = None
    matrix: tuple[tuple[float, ...], ...] | None = None
    label: str = "q"

    def __post_init__(self) -> None:
        if (self.weights is None) == (self.matrix is None):
            raise ValueError("estimand: give exactly one of weights (linear function) or weight_matrix")
        if self.weights is not None and not np.any(np.asarray(self.weights) != 0):
            raise ValueError(f"estimand.weights = {self.weights}; accepted: a nonzero vector")
        if self.matrix is not None:
            w = np.asarray(self.matrix, dtype=float)
            if w.ndim != 2 or w.shape[0] != w.shape[1] or not np.allclose(w, w.T):
                raise ValueError(f"estimand.weight_matrix = {self.matrix}; accepted: a symmetric (k, k) matrix")
            ev = np.linalg.eigvalsh(w)
            if ev[0] <= 1e-12 * max(abs(ev[-1]), 1e-300):
                raise ValueError(f"estimand.weight_matrix is singular or not positive definite (eigenvalues "
                                 f"{ev.tolist()}); accepted: positive definite")

    @property
    def k(self) -> int:
        """Number of parameters."""
        return len(self.weights) if self.weights is not None else len(self.matrix)

    def precision(self, fisher, ridge: float = 0.0):
        """``F_q = 1 / (w^T F^-1 w)`` or ``1 / tr(W F^-1)`` per shot; jit-able and differentiable.

        With ``ridge = 0`` a linear estimand goes through
        :func:`qlearn_sense.fisher.linear_function_fisher` (pseudo-inverse: exact
        for singular F such as a GHZ state's). With ``ridge > 0`` (inside
        objectives) ``F + ridge I`` is solved directly: smooth, finite for singular
        F, and about five times faster to compile than the pseudo-inverse.
        """
        f = jnp.asarray(fisher) + ridge * jnp.eye(self.k)
        if self.weights is not None:
            w = jnp.asarray(self.weights)
            if ridge == 0.0:
                return linear_function_fisher(f, w)
            return 1.0 / (w @ jnp.linalg.solve(f, w))
        return 1.0 / jnp.trace(jnp.linalg.solve(f, jnp.asarray(self.matrix)))

    def scaled(self, d: np.ndarray) -> "Estimand":
        """The estimand in coordinates ``theta_n = d * theta`` (w / d, W / (d d^T): same precision value)."""
        if self.weights is not None:
            return Estimand(weights=tuple(np.asarray(self.weights) / d), label=self.label)
        w = np.asarray(self.matrix) / np.outer(d, d)
        return Estimand(matrix=tuple(map(tuple, w)), label=self.label)


@dataclass
class StrategyResult:
    """One optimized strategy.

    Attributes:
      strategy: name.
      circuit: the circuit.
      params: optimized parameters, shape (P,).
      qfim: QFIM of the sources, shape (k, k), 1/unit^2 per shot.
      cfim: CFIM of the optimized measurement, shape (k, k), 1/unit^2 per shot.
      precision_quantum: precision of the estimand from the QFIM (1/unit(q)^2 per shot).
      precision_measured: the same from the CFIM.
      trace: objective (log precision) per step.
      fusion: ``classical`` only: the weighted-least-squares fusion of the nodes'
        own estimates (:class:`qlearn_sense.network.ClassicalFusion`, Fisher part;
        :func:`qlearn_sense.network.classical_fusion` with counts adds the estimates).
      local_fisher: Fisher matrix (k, k) contributed by sensing-only (ensemble)
        nodes, included in ``qfim`` and ``cfim``; they share no entanglement.
    """

    strategy: str
    circuit: NetworkCircuit
    params: np.ndarray
    qfim: np.ndarray
    cfim: np.ndarray
    precision_quantum: float
    precision_measured: float
    trace: np.ndarray
    fusion: object | None = None
    local_fisher: np.ndarray | None = None


def normalization(network: Network) -> tuple[np.ndarray, np.ndarray]:
    """``(jac_n, d)``: the phase Jacobian with unit-norm columns and the column norms d, shape (k,).

    Raises:
      ValueError: a source no channel senses (zero column).
    """
    jac = network.jacobian()
    d = np.linalg.norm(jac, axis=0)
    for k, s in enumerate(network.sources):
        if d[k] == 0:
            raise ValueError(f"source {s.name!r} produces no field along any node axis; it cannot be estimated")
    return jac / d, d


def _key(network: Network, circuit: NetworkCircuit, estimand: Estimand):
    """Hashable compilation key: circuit, register phases, normalized register Jacobian, estimand, local Fisher."""
    jn, d = normalization(network)
    reg = network.register_channels
    extra = network.local_fisher() / np.outer(d, d)
    return (circuit, tuple(network.circuit_phases()), tuple(map(tuple, jn[reg])), estimand.scaled(d),
            tuple(map(tuple, extra)))


@lru_cache(maxsize=64)
def _compiled(circuit: NetworkCircuit, phis: tuple, jn: tuple, est_n: Estimand, extra: tuple = ()):
    """Jitted evaluation and ascent step of one circuit (cached: compiled once per structure).

    A row is ``[theta (P), T, stage]``: the link efficiency T and the stage flag
    are frozen coordinates (stop_gradient, so Adam never moves them). Stage 1
    maximizes log precision of the QFIM with the measurement parameters frozen;
    stage 0 maximizes log precision of the CFIM over all circuit parameters.
    ``extra`` (k, k), normalized, is the sensing-only nodes' Fisher matrix, added to both.
    """
    nj = compile_network(circuit)
    phis_j, jn_j = jnp.asarray(phis), jnp.asarray(jn)
    ex = jnp.asarray(extra, dtype=jnp.float64) if extra else jnp.zeros((est_n.k, est_n.k))
    travel = jnp.asarray(circuit.travelling, dtype=jnp.float64)
    npp, npar = circuit.n_prep_params, circuit.n_params
    prep_mask = jnp.arange(npar) < npp

    default = jnp.asarray(circuit.link_gamma, dtype=jnp.float64)

    def gammas(t):  # t < 0: the circuit's own links; else every link at efficiency t
        return jnp.where(t < 0, default, travel * (1.0 - t))

    def objective(row):
        frozen = jax.lax.stop_gradient(row)
        theta, t, stage = row[:npar], frozen[npar], frozen[npar + 1]
        g = gammas(t)
        th_q = jnp.where(prep_mask, theta, frozen[:npar])
        q = jnp.log(est_n.precision(nj.qfim(th_q, phis_j, jn_j, g) + ex, RIDGE))
        c = jnp.log(est_n.precision(nj.cfim(theta, phis_j, jn_j, g) + ex, RIDGE))
        return jnp.where(stage > 0.5, q, c)

    @jax.jit
    def evaluate(theta, t):
        g = gammas(t)
        return nj.qfim(theta, phis_j, jn_j, g) + ex, nj.cfim(theta, phis_j, jn_j, g) + ex

    return objective, evaluate, nj


def _ascend(step, init, rows: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run ``steps`` of a compiled step from ``rows``; return (best rows, their values (R,), trace (R, steps)).

    The best iterate of each row is kept (the step reports the objective at its
    input), not the last: the QFIM is discontinuous where the rank of the state
    changes, and Adam can step off a rank-deficient optimum onto a much lower value.
    """
    params = jnp.asarray(rows)
    state = init(params)
    trace = np.zeros((rows.shape[0], steps))
    best_rows, best = np.array(rows, dtype=float), np.full(rows.shape[0], -np.inf)
    for i in range(steps):
        prev = params
        params, state, values = step(params, state)
        v = np.asarray(values)
        trace[:, i] = v
        better = np.isfinite(v) & (v > best)
        if better.any():
            best_rows[better] = np.asarray(prev)[better]
            best[better] = v[better]
    if steps == 0:
        return best_rows, best, trace
    last = np.asarray(params)  # the final update is not scored by the step: keep it only where nothing was
    best_rows[~np.isfinite(best)] = last[~np.isfinite(best)]
    return best_rows, best, trace


@lru_cache(maxsize=64)
def _step(objective, learning_rate: float):
    opt = make_optimizer("adam", learning_rate)
    return make_step(objective, opt), jax.jit(jax.vmap(opt.init))


def fisher_matrices(network: Network, circuit: NetworkCircuit, params, efficiency: float | None = None,
                    estimand: Estimand | None = None) -> tuple[np.ndarray, np.ndarray]:
    """QFIM and CFIM of the sources at the true phases, both (k, k), 1/unit^2 per shot.

    Both include the sensing-only nodes' Fisher matrix :meth:`Network.local_fisher`.

    Args:
      network: the network.
      circuit: one of its strategy circuits.
      params: circuit parameters, shape (P,).
      efficiency: efficiency T of every link (default: the circuit's own links).
      estimand: only used as part of the compilation cache key.
    """
    est = estimand or Estimand(weights=(1.0,) * len(network.sources))
    _, evaluate, _ = _compiled(*_key(network, circuit, est))
    _, d = normalization(network)
    efficiency = -1.0 if efficiency is None else efficiency
    fq, fc = (np.asarray(f) for f in evaluate(jnp.asarray(params), float(efficiency)))
    return d[:, None] * fq * d[None, :], d[:, None] * fc * d[None, :]


def optimize_rows(network: Network, circuit: NetworkCircuit, estimand: Estimand, init: np.ndarray,
                  efficiencies: np.ndarray, *, steps: int, learning_rate: float = 0.05,
                  batch: int | None = None, objective: str = "cfim") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Optimize one circuit from several starts, each at its own link efficiency (one compiled step).

    Args:
      network: the network.
      circuit: the strategy circuit.
      estimand: the estimand.
      init: starting parameters, shape (R, P).
      efficiencies: efficiency of every link per row, shape (R,) (-1: the circuit's own links).
      steps: total steps (half QFIM stage, half CFIM stage).
      learning_rate: Adam learning rate.
      batch: rows per compiled call (default R); the rows run in chunks of this
        size (the last padded), so calls with other R reuse the compiled step.
      objective: ``cfim`` (staged: QFIM over the preparation, then CFIM over all) or
        ``qfim`` (all steps on the QFIM over the preparation: the best state for the
        best measurement).

    Returns:
      ``(params (R, P), log precision of the CFIM (or QFIM) (R,), trace (R, steps))``.

    Raises:
      ValueError: an unknown objective.
    """
    if objective not in ("cfim", "qfim"):
        raise ValueError(f"objective = {objective!r}; accepted: cfim, qfim")
    qfim_only = objective == "qfim"
    fn, evaluate, _ = _compiled(*_key(network, circuit, estimand))
    step, init_state = _step(fn, float(learning_rate))
    npar = circuit.n_params
    rows = np.concatenate([np.asarray(init, dtype=float), np.asarray(efficiencies, dtype=float)[:, None],
                           np.ones((len(init), 1))], axis=1)
    r = len(rows)
    batch = batch or r
    pad = (-r) % batch
    rows = np.concatenate([rows, np.repeat(rows[-1:], pad, axis=0)])
    first = (steps if qfim_only else steps // 2) if circuit.n_prep_params else 0
    out, traces = [], []
    for i in range(0, len(rows), batch):
        chunk, _, tr1 = _ascend(step, init_state, rows[i:i + batch], first)
        chunk[:, -1] = 0.0
        chunk, _, tr2 = _ascend(step, init_state, chunk, steps - first)
        out.append(chunk)
        traces.append(np.concatenate([tr1, tr2], axis=1))
    rows, trace = np.concatenate(out)[:r], np.concatenate(traces)[:r]
    est_n = estimand.scaled(normalization(network)[1])
    which = 0 if qfim_only else 1
    final = np.array([np.log(max(float(est_n.precision(
        np.asarray(evaluate(jnp.asarray(x[:npar]), float(x[npar]))[which]), RIDGE)), 1e-300)) for x in rows])
    final = np.where(np.isfinite(final), final, -np.inf)
    return rows[:, :npar], final, trace


def optimize_strategy(network: Network, strategy: Strategy, estimand: Estimand, *, key, layers: int = 2,
                      steps: int = 200, restarts: int = 2, learning_rate: float = 0.05,
                      init: np.ndarray | None = None) -> StrategyResult:
    """Optimize a strategy's circuit with the optax loop for the estimand.

    Stage 1 (half the steps) maximizes log precision of the QFIM over the
    preparation; stage 2 maximizes log precision of the CFIM over all parameters
    (as :func:`qlearn_sense.optimize.optimize_protocol`). The step is
    :func:`qlearn_sense.optimize.make_step` compiled once per circuit structure
    and reused (efficiency sweeps, crossover search), which
    :func:`~qlearn_sense.optimize.maximize` (one compilation per call) would not.

    Args:
      network: the network.
      strategy: ``classical``, ``local`` or ``distributed``.
      estimand: the estimand, k = number of sources.
      key: JAX PRNG key for the starting points.
      layers: entangling layers of the preparation.
      steps: total optimizer steps.
      restarts: seeded restarts, >= 1.
      learning_rate: Adam learning rate.
      init: optional starting parameters, shape (P,), for restart 0 (warm start).

    Returns:
      :class:`StrategyResult` (the best restart by final CFIM precision).

    Raises:
      ValueError: the estimand has the wrong number of parameters, or restarts < 1.
    """
    if estimand.k != len(network.sources):
        raise ValueError(f"estimand has {estimand.k} parameters; the network has {len(network.sources)} sources")
    if restarts < 1:
        raise ValueError(f"restarts = {restarts}; accepted: >= 1")
    circuit = network.circuit(strategy, layers)
    start = np.array(random_init(key, restarts, circuit.n_params))
    if init is not None:
        start[0] = np.asarray(init)
    effs = np.full(restarts, -1.0)  # the circuit's own links
    params, final, trace = optimize_rows(network, circuit, estimand, start, effs, steps=steps,
                                         learning_rate=learning_rate)
    best = int(np.argmax(final))
    fq, fc = fisher_matrices(network, circuit, params[best], None, estimand)
    fusion = None
    if strategy == "classical":
        from qlearn_sense.network._fusion import classical_fusion

        fusion = classical_fusion(network, circuit, params[best], estimand)
    return StrategyResult(strategy, circuit, params[best], fq, fc, precision(estimand, fq), precision(estimand, fc),
                          trace[best], fusion, network.local_fisher())


def precision(estimand: Estimand, fisher: np.ndarray) -> float:
    """Precision of the estimand from a Fisher matrix in SI units (0 where not identifiable).

    Computed in scaled coordinates (unit diagonal where possible) with the
    pseudo-inverse, so that singular matrices (GHZ states) are handled.
    """
    f = np.asarray(fisher, dtype=float)
    s = np.sqrt(np.clip(np.diag(f), 1e-300, None))
    if estimand.matrix is not None:  # tr(W F^-1) needs every direction (W positive definite)
        ev = np.linalg.eigvalsh(f / np.outer(s, s))
        if ev[0] <= 1e-10 * max(ev[-1], 0.0):
            return 0.0
    try:
        return float(estimand.scaled(s).precision(f / np.outer(s, s)))
    except ValueError:  # w outside the range of F: not identifiable
        return 0.0


def wls_fusion(design: np.ndarray, variances: np.ndarray | None = None, *,
               information: np.ndarray | None = None) -> np.ndarray:
    """Covariance of the weighted-least-squares fusion of independent node estimates.

    Node estimates y = A theta + e with independent errors of variance v give
    theta_hat = (A^T V^-1 A)^-1 A^T V^-1 y with covariance (A^T V^-1 A)^-1
    (Aitken 1935; Kay, Fundamentals of Statistical Signal Processing I, eq. 6.12).
    A node that estimates several channels at once has a block of V^-1: pass the
    information matrix ``information`` = V^-1 (block diagonal across nodes, may be
    singular inside a block) instead of ``variances``. A pseudo-inverse is used,
    so unidentified directions get zero (not infinite) variance: check the rank.

    Args:
      design: A, shape (C, k).
      variances: v, shape (C,), > 0 (exactly one of ``variances``, ``information``).
      information: V^-1, shape (C, C), symmetric positive semidefinite.

    Returns:
      Covariance, shape (k, k).

    Raises:
      ValueError: a non-positive variance, shape mismatch, or not exactly one of
        ``variances`` and ``information``.
    """
    a = np.asarray(design, dtype=float)
    if (variances is None) == (information is None):
        raise ValueError("wls_fusion: give exactly one of variances or information")
    if variances is not None:
        v = np.asarray(variances, dtype=float)
        if v.shape != (a.shape[0],) or np.any(v <= 0):
            raise ValueError(f"variances must be {a.shape[0]} positive numbers, got {v}")
        info = np.diag(1.0 / v)
    else:
        info = np.asarray(information, dtype=float)
        if info.shape != (a.shape[0], a.shape[0]):
            raise ValueError(f"information has shape {info.shape}; expected ({a.shape[0]}, {a.shape[0]})")
    m = a.T @ info @ a
    sc = np.sqrt(np.diag(m))
    sc = np.where(sc > 0, sc, 1.0)  # equilibrate (sources in different units), then pseudo-invert
    return np.linalg.pinv(m / np.outer(sc, sc), hermitian=True, rtol=1e-12) / np.outer(sc, sc)


def crossover_efficiency(value: Callable[[float], float], reference: float, efficiencies: Sequence[float],
                         values: Sequence[float], *, xtol: float = 1e-3) -> float | None:
    """Transduction efficiency at which a strategy's precision equals ``reference``.

    Finds the bracketing pair in the sweep (``values`` at ``efficiencies``), then
    refines with :func:`scipy.optimize.brentq` on ``value(T) - reference``.

    Args:
      value: precision as a function of the efficiency T in (0, 1].
      reference: precision to beat (classical fusion).
      efficiencies: the sweep, increasing, shape (n,).
      values: ``value`` on the sweep, shape (n,).
      xtol: absolute tolerance on T.

    Returns:
      The crossover T, or None when the sweep does not change sign.
    """
    t = np.asarray(efficiencies, dtype=float)
    g = np.asarray(values, dtype=float) - reference
    for i in range(len(t) - 1):
        if g[i] == 0:
            return float(t[i])
        if np.sign(g[i]) != np.sign(g[i + 1]):
            return float(brentq(lambda x: value(x) - reference, t[i], t[i + 1], xtol=xtol))
    return float(t[-1]) if len(t) and g[-1] == 0 else None


@dataclass
class Crossover:
    """The transduction efficiency at which the re-optimized distributed strategy meets a reference.

    Attributes:
      efficiency: the crossover T* (midpoint of the final bracket), or None when the sweep has no sign change.
      bracket: ``(T_lo, T_hi)``: distributed loses at T_lo and wins at T_hi (re-optimized values), or None.
      iterations: bisection steps taken (each one re-optimization).
      evaluations: ``[(T, precision), ...]`` of every re-optimized point, sweep ends included.
      sweep_bound: the older estimate from the sweep's own circuits evaluated between sweep
        points (an upper bound on T*: re-optimizing can only raise the precision), or None.
      converged: the bracket is narrower than the tolerance.
    """

    efficiency: float | None
    bracket: tuple[float, float] | None
    iterations: int
    evaluations: list[tuple[float, float]]
    sweep_bound: float | None
    converged: bool

    def to_dict(self) -> dict:
        """JSON-ready record."""
        return {"efficiency": self.efficiency, "bracket": None if self.bracket is None else list(self.bracket),
                "iterations": self.iterations, "evaluations": [list(e) for e in self.evaluations],
                "sweep_bound": self.sweep_bound, "converged": self.converged}


def crossover_reoptimized(network: Network, estimand: Estimand, reference: float, efficiencies: Sequence[float],
                          values: Sequence[float], params: np.ndarray, *, which: str = "measured", layers: int = 2,
                          steps: int = 200, learning_rate: float = 0.05, xtol: float = 2e-3, max_iter: int = 12,
                          batch: int | None = None, sweep_bound: float | None = None, seed: int = 0) -> Crossover:
    """Crossover efficiency with the distributed circuit re-optimized at every bisection point.

    Finds the first sign change of ``values - reference`` on the sweep, then
    bisects the bracket: at each midpoint T the distributed circuit is
    re-optimized (:func:`optimize_rows`, the Adam loop, one compiled step for all
    T) from warm starts, the best parameters found at the two current bracket
    ends; the value at T is the best of the re-optimized rows and of the warm
    starts themselves evaluated at T, so it never falls below what the sweep's
    circuits give (hence T* <= the sweep bound). Bisection rather than brentq:
    the optimized precision is a noisy function of T, and bisection only needs
    its sign. At most ``max_iter`` re-optimizations.

    Args:
      network: the network.
      estimand: the estimand.
      reference: precision to beat (classical fusion), 1/unit(q)^2 per shot.
      efficiencies: the sweep, increasing, shape (n,).
      values: distributed precision at the sweep points, shape (n,).
      params: optimized distributed parameters at each sweep point, shape (n, P).
      which: ``measured`` (CFIM) or ``quantum`` (QFIM) precision.
      layers: entangling layers of the distributed circuit (as in the sweep).
      steps: optimizer steps per re-optimization.
      learning_rate: Adam learning rate.
      xtol: stop when the bracket is narrower than this.
      max_iter: most bisection steps, >= 0.
      batch: rows per compiled call (pass the sweep's, so the step is reused).
      sweep_bound: the sweep-bound crossover to record alongside.
      seed: seed of the perturbed copies of the warm starts filling a batch beyond two rows.

    Returns:
      :class:`Crossover`.

    Raises:
      ValueError: ``which`` unknown, shapes that disagree, or max_iter < 0.
    """
    if which not in ("measured", "quantum"):
        raise ValueError(f"which = {which!r}; accepted: measured, quantum")
    t = np.asarray(efficiencies, dtype=float)
    g = np.asarray(values, dtype=float) - reference
    params = np.asarray(params, dtype=float)
    if g.shape != t.shape or params.shape[0] != len(t):
        raise ValueError(f"efficiencies {t.shape}, values {g.shape} and params {params.shape} disagree")
    if max_iter < 0:
        raise ValueError(f"max_iter = {max_iter}; accepted: >= 0")
    circuit = network.circuit("distributed", layers)
    idx = 1 if which == "measured" else 0
    i = next((i for i in range(len(t) - 1) if np.sign(g[i]) != np.sign(g[i + 1]) or g[i] == 0), None)
    if i is None:
        return Crossover(None, None, 0, [], sweep_bound, False)
    lo, hi, p_lo, p_hi = t[i], t[i + 1], params[i], params[i + 1]
    evals = [(float(lo), float(values[i])), (float(hi), float(values[i + 1]))]
    if g[i] == 0:
        return Crossover(float(lo), (float(lo), float(lo)), 0, evals, sweep_bound, True)
    loses_low = g[i] < 0  # the usual case: distributed loses at low efficiency
    n_iter = 0
    rows = max(2, batch or 2)
    rng = np.random.default_rng(seed)
    while hi - lo > xtol and n_iter < max_iter:
        mid = 0.5 * (lo + hi)
        start = np.array([p_lo, p_hi] + [(p_lo if k % 2 else p_hi) + rng.normal(0.0, 0.3, len(p_lo))
                                          for k in range(rows - 2)])
        new, _, _ = optimize_rows(network, circuit, estimand, start, np.full(len(start), mid), steps=steps,
                                  learning_rate=learning_rate, batch=batch,
                                  objective="cfim" if which == "measured" else "qfim")
        cands = np.concatenate([new, start[:2]])
        vals = [precision(estimand, fisher_matrices(network, circuit, p, mid, estimand)[idx]) for p in cands]
        k = int(np.argmax(vals))
        v, p_mid = vals[k], cands[k]
        evals.append((float(mid), float(v)))
        n_iter += 1
        if (v < reference) == loses_low:
            lo, p_lo = mid, p_mid
        else:
            hi, p_hi = mid, p_mid
    return Crossover(float(0.5 * (lo + hi)), (float(lo), float(hi)), n_iter, evals, sweep_bound, hi - lo <= xtol)


def ghz_params(circuit: NetworkCircuit, kind: str = "sum") -> np.ndarray:
    """Parameters that make a ``distributed``/``local`` circuit prepare GHZ-type states and measure in X.

    ``kind="sum"``: (|0..0> + |1..1>)/sqrt 2 (CNOT chain after RY(pi/2) on qubit
    0); ``kind="gradient"``: the same with the last qubit flipped (for two qubits,
    (|01> + |10>)/sqrt 2). Measurement: RY(-pi/2) on every qubit (X basis).
    Requires at least one entangling layer across the qubits used.
    """
    p = np.zeros(circuit.n_params)
    first_ry = [g for g in circuit.prep if g.name == "ry"]
    p[first_ry[0].param] = np.pi / 2
    if kind == "gradient":
        last_ry = [g for g in circuit.prep if g.name == "ry" and g.wires == (circuit.n_qubits - 1,)]
        p[last_ry[-1].param] = np.pi
    for g in circuit.measure:
        if g.name == "ry":
            p[g.param] = -np.pi / 2
    return p
