"""Distribution of the log-likelihood-ratio sum of m i.i.d. shots under H0 and H1.

S = sum_{i=1}^m log(p1[x_i] / p0[x_i]) in nats. Outcomes with p0 = 0 < p1 give
S = +inf, outcomes with p1 = 0 < p0 give S = -inf; outcomes with equal LLR are
merged into one group (the sum only depends on the group counts). Engines:

* ``"binomial"``: at most two finite LLR groups, exact binomial law.
* ``"lattice"``: the LLR differences are integer multiples of one step
  (checked by rational approximation to 1e-9 relative); exact dynamic
  programming over the m-fold convolution on that lattice.
* ``"multinomial"``: exact enumeration of all group-count vectors (types) when
  there are at most ``MAX_TYPES`` of them.
* ``"saddlepoint"``: Lugannani-Rice tail approximation (Lugannani & Rice, Adv.
  Appl. Prob. 12, 475 (1980); Daniels, Int. Stat. Rev. 55, 37 (1987), eq. (3.1))
  of the finite part, with the infinite atoms kept exact. Approximate.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from scipy.optimize import brentq
from scipy.special import gammaln, logsumexp
from scipy.stats import norm

#: Largest number of multinomial types enumerated exactly.
MAX_TYPES = 2_000_000
#: Largest number of elementary operations spent on the exact lattice convolution.
MAX_LATTICE_OPS = 2e8
#: Largest lattice denominator tried when looking for commensurate LLR values.
MAX_DENOMINATOR = 64

METHODS = ("auto", "exact", "saddlepoint")


class ExactLLR:
    """Exact law: support ``values`` (ascending, may hold -inf/+inf), masses ``pmf0``, ``pmf1``."""

    approximate = False

    def __init__(self, values, pmf0, pmf1, method):
        keep = (pmf0 > 0) | (pmf1 > 0)
        self.values, self.pmf0, self.pmf1 = values[keep], pmf0[keep], pmf1[keep]
        self.method = method

    def np_test(self, alpha):
        """(threshold, randomization, power) of the most powerful level-alpha test."""
        ge0 = np.cumsum(self.pmf0[::-1])[::-1]
        gt0 = ge0 - self.pmf0
        gt1 = np.cumsum(self.pmf1[::-1])[::-1] - self.pmf1
        idx = np.nonzero(ge0 > alpha)[0]
        i = int(idx[-1]) if idx.size else 0
        gamma = 0.0 if self.pmf0[i] == 0 else (alpha - gt0[i]) / self.pmf0[i]
        gamma = float(min(max(gamma, 0.0), 1.0))
        power = float(min(max(gt1[i] + gamma * self.pmf1[i], 0.0), 1.0))
        return float(self.values[i]), gamma, power

    def roc(self):
        fa = np.concatenate([[0.0], np.cumsum(self.pmf0[::-1])])
        de = np.concatenate([[0.0], np.cumsum(self.pmf1[::-1])])
        fa, de = np.clip(fa, 0.0, 1.0), np.clip(de, 0.0, 1.0)
        fa[-1] = de[-1] = 1.0
        return np.maximum.accumulate(fa), np.maximum.accumulate(de)

    def bayes_error(self, pi0):
        return float(np.sum(np.minimum(pi0 * self.pmf0, (1.0 - pi0) * self.pmf1)))


class SaddlepointLLR:
    """Approximate law: exact infinite atoms, Lugannani-Rice tail of the finite part."""

    approximate = True
    method = "saddlepoint"

    def __init__(self, l, q0, q1, m, mass0, mass1):
        self.l, self.m = l, m
        self.logq = (np.log(q0 / q0.sum()), np.log(q1 / q1.sum()))
        self.mass = (mass0, mass1)  # probability that all m shots have finite LLR

    def _tail_finite(self, t, h):
        """P_h(S_finite >= t) for the sum of m i.i.d. finite LLR values."""
        l, m, logq = self.l, self.m, self.logq[h]
        lo, hi = m * l[0], m * l[-1]
        if t <= lo:
            return 1.0
        if t >= hi:
            return 0.0

        def cumulants(s):
            w = np.exp(s * l + logq - logsumexp(s * l + logq))
            k1 = float(w @ l)
            return k1, float(w @ (l - k1) ** 2), float(w @ (l - k1) ** 3)

        x = t / m
        a, b = -1.0, 1.0
        while cumulants(a)[0] > x and a > -1e6:
            a *= 2.0
        while cumulants(b)[0] < x and b < 1e6:
            b *= 2.0
        s = brentq(lambda z: cumulants(z)[0] - x, a, b, xtol=1e-14, rtol=1e-12)
        k0 = float(logsumexp(s * l + logq))
        _, k2, k3 = cumulants(s)
        w2 = 2.0 * m * (s * x - k0)
        w = math.copysign(math.sqrt(max(w2, 0.0)), s)
        if abs(w) < 1e-4:
            k1m, k2m, k3m = cumulants(0.0)
            corr = -m * k3m / (6.0 * (m * k2m) ** 1.5)
            return float(np.clip(norm.sf(w) + norm.pdf(w) * corr, 0.0, 1.0))
        u = s * math.sqrt(m * k2)
        return float(np.clip(norm.sf(w) + norm.pdf(w) * (1.0 / u - 1.0 / w), 0.0, 1.0))

    def sf(self, t, h):
        """P_h(S > t) (continuous approximation, so > and >= agree)."""
        if h == 0:
            return self.mass[0] * self._tail_finite(t, 0)
        return (1.0 - self.mass[1]) + self.mass[1] * self._tail_finite(t, 1)

    def np_test(self, alpha):
        c = alpha / self.mass[0]
        if c >= 1.0:  # reject every finite sum, randomize on the -inf atom
            gamma = (alpha - self.mass[0]) / (1.0 - self.mass[0])
            return -math.inf, float(gamma), 1.0
        lo, hi = self.m * self.l[0], self.m * self.l[-1]
        t = brentq(lambda z: self._tail_finite(z, 0) - c, lo, hi, xtol=1e-12, rtol=1e-12)
        return float(t), 0.0, float(self.sf(t, 1))

    def _grid(self, n=1001):
        sd = [math.sqrt(self.m * np.exp(lq) @ (self.l - np.exp(lq) @ self.l) ** 2)
              for lq in self.logq]
        mu = [self.m * float(np.exp(lq) @ self.l) for lq in self.logq]
        lo = max(mu[0] - 10 * sd[0], self.m * self.l[0])
        hi = min(mu[1] + 10 * sd[1], self.m * self.l[-1])
        return np.linspace(hi, lo, n)

    def roc(self):
        t = self._grid()
        fa = [0.0, 0.0] + [self.sf(z, 0) for z in t] + [self.mass[0], 1.0]
        de = [0.0, 1.0 - self.mass[1]] + [self.sf(z, 1) for z in t] + [1.0, 1.0]
        return np.maximum.accumulate(fa), np.maximum.accumulate(de)

    def bayes_error(self, pi0):
        if pi0 in (0.0, 1.0):
            return 0.0
        tau = math.log(pi0 / (1.0 - pi0))
        return float(pi0 * self.sf(tau, 0) + (1.0 - pi0) * (1.0 - self.sf(tau, 1)))


def _groups(p0, p1):
    """Finite LLR groups (l ascending, q0, q1) and the masses on +-inf outcomes."""
    fin = (p0 > 0) & (p1 > 0)
    l = np.log(p1[fin]) - np.log(p0[fin])
    order = np.argsort(l)
    l, q0, q1 = l[order], p0[fin][order], p1[fin][order]
    if l.size:
        new = np.concatenate([[True], np.diff(l) > 1e-10 * (1.0 + np.abs(l[1:]))])
        starts = np.nonzero(new)[0]
        counts = np.diff(np.concatenate([starts, [l.size]]))
        l = np.add.reduceat(l, starts) / counts
        q0, q1 = np.add.reduceat(q0, starts), np.add.reduceat(q1, starts)
    neg = float(np.sum(p0[(p1 == 0) & (p0 > 0)]))  # H0 mass on LLR = -inf
    pos = float(np.sum(p1[(p0 == 0) & (p1 > 0)]))  # H1 mass on LLR = +inf
    return l, q0, q1, neg, pos


def _lattice(l):
    """(step, integer offsets n_g, denominator) if LLR differences are commensurate."""
    dif = l - l[0]
    span = dif[-1]
    den = 1
    for r in dif[1:-1] / span:
        f = Fraction(float(r)).limit_denominator(MAX_DENOMINATOR)
        if abs(float(f) - r) > 1e-9:
            return None
        den = den * f.denominator // math.gcd(den, f.denominator)
    n = np.rint(dif / span * den).astype(np.int64)
    return span / den, n, den


def _compositions(m, g):
    """All count vectors (N, g) of non-negative integers summing to m."""
    rows = np.zeros((1, 0), dtype=np.int64)
    rem = np.array([m], dtype=np.int64)
    for _ in range(g - 1):
        reps = rem + 1
        parent = np.repeat(np.arange(rows.shape[0]), reps)
        offsets = np.repeat(np.cumsum(reps) - reps, reps)
        val = np.arange(parent.size) - offsets
        rows = np.column_stack([rows[parent], val])
        rem = rem[parent] - val
    return np.column_stack([rows, rem])


def _with_atoms(vals, f0, f1, neg, pos, m, method):
    mass_neg = -math.expm1(m * math.log1p(-neg)) if neg < 1 else 1.0
    mass_pos = -math.expm1(m * math.log1p(-pos)) if pos < 1 else 1.0
    values = np.concatenate([[-np.inf], vals, [np.inf]])
    pmf0 = np.concatenate([[mass_neg], f0, [0.0]])
    pmf1 = np.concatenate([[0.0], f1, [mass_pos]])
    return ExactLLR(values, pmf0, pmf1, method)


def llr_law(p0: np.ndarray, p1: np.ndarray, m: int, method: str = "auto"):
    """Law of the LLR sum of m shots; ``method`` in ``METHODS`` (validated by caller).

    Raises:
      ValueError: method "exact" requested but no exact engine is feasible.
    """
    l, q0, q1, neg, pos = _groups(p0, p1)
    g = l.size
    if method == "saddlepoint" and g >= 2:
        mass0 = math.exp(m * math.log1p(-neg)) if neg < 1 else 0.0
        mass1 = math.exp(m * math.log1p(-pos)) if pos < 1 else 0.0
        return SaddlepointLLR(l, q0, q1, m, mass0, mass1)
    lq = np.log(np.stack([q0, q1])) if g else np.zeros((2, 0))
    if g <= 2:
        if g == 0:
            return _with_atoms(np.zeros(0), np.zeros(0), np.zeros(0), neg, pos, m, "exact")
        if g == 1:
            vals = np.array([m * l[0]])
            return _with_atoms(vals, np.exp(m * lq[0]), np.exp(m * lq[1]), neg, pos, m, "exact")
        n = np.arange(m + 1)
        logc = gammaln(m + 1) - gammaln(n + 1) - gammaln(m - n + 1)
        f = np.exp(logc + (m - n) * lq[:, :1] + n * lq[:, 1:])
        return _with_atoms((m - n) * l[0] + n * l[1], f[0], f[1], neg, pos, m, "binomial")
    lat = _lattice(l)
    if lat is not None and g * lat[2] * m * m / 2 <= MAX_LATTICE_OPS:
        step, offs, den = lat
        q = np.stack([q0, q1])
        f = np.zeros((2, m * den + 1))
        f[:, 0] = 1.0
        for j in range(m):
            size = j * den + 1
            new = np.zeros((2, size + den))
            for k in range(g):
                new[:, offs[k]:offs[k] + size] += q[:, k:k + 1] * f[:, :size]
            f[:, : size + den] = new
        vals = m * l[0] + step * np.arange(m * den + 1)
        return _with_atoms(vals, f[0], f[1], neg, pos, m, "lattice")
    if math.comb(m + g - 1, g - 1) <= MAX_TYPES:
        n = _compositions(m, g)
        logc = gammaln(m + 1) - np.sum(gammaln(n + 1), axis=1)
        s = n @ l
        order = np.argsort(s, kind="stable")
        s, logp = s[order], (logc[:, None] + n @ lq.T)[order]
        new = np.concatenate([[True], np.diff(s) > 1e-9 * (1.0 + np.abs(s[1:]))])
        starts = np.nonzero(new)[0]
        f = np.add.reduceat(np.exp(logp), starts, axis=0)
        return _with_atoms(s[starts], f[:, 0], f[:, 1], neg, pos, m, "multinomial")
    if method == "exact":
        raise ValueError(
            f"method='exact' is infeasible for shots={m} with {g} incommensurate LLR "
            f"groups ({math.comb(m + g - 1, g - 1)} types > {MAX_TYPES}); "
            "accepted: method='auto' or 'saddlepoint', or fewer shots"
        )
    return llr_law(p0, p1, m, "saddlepoint")
