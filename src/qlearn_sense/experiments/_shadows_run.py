"""Classical shadows of the sensor output state on any backend.

Acquisition: the protocol's preparation (with its optimized parameters), the
signal encoding and the noise, followed by one parameterized basis-change layer
(the ``local`` measurement ansatz, ``RZ(phi_j)`` then ``RY(theta_j)`` on each
qubit, see :func:`qlearn_sense.shadows.basis_rotation_angles`). All snapshots go
to the backend as one batch (one PUB on IBM hardware) of S parameter sets with
one shot each; recipes and per-shot bits are returned and stored.
"""

from __future__ import annotations

import dataclasses
import numpy as np

from qlearn_sense.backends import AbstractBackend, get_backend
from qlearn_sense.config import ShadowsConfig
from qlearn_sense.experiments._design import Design
from qlearn_sense.protocol import Protocol, build_protocol, compile_jax, exact_probs
from qlearn_sense.shadows import (
    PauliObservables,
    basis_rotation_angles,
    biomarker_observables,
    calibrate_robust,
    derandomized_recipes,
    estimate_clifford,
    estimate_fidelity,
    estimate_paulis,
    estimate_paulis_robust,
    exact_expectations,
    pauli_matrix,
    to_big_endian,
    random_clifford_recipes,
    random_pauli_recipes,
    readout_biased_state,
    shadow_sample_complexity,
)

def expected_with_readout(design: Design, prep_params: np.ndarray, observables: PauliObservables) -> np.ndarray:
    """Exact mean of the plain shadow estimator for each Pauli, readout errors included; shape (M,).

    For P with support A, the estimator averages ``prod_{j in A} (-1)^{b_j}`` over
    snapshots measured in P's bases; readout errors bias it (by ``(1 - 2p)^|A|``
    for symmetric flips). Robust shadows remove that bias.
    """
    protocol = shadow_protocol(design)
    recipes = np.where(observables.paulis == 0, 2, observables.paulis - 1).astype(np.int8)
    params = np.concatenate([np.tile(prep_params[: protocol.n_prep_params], (len(recipes), 1)),
                             _layer_params(recipes)], axis=1)
    probs = exact_probs(protocol, params, design.phase_rad)  # (M, 2**n) little-endian
    n = protocol.n_qubits
    bits = (np.arange(2**n)[:, None] >> np.arange(n)) & 1  # (2**n, n)
    support = observables.paulis != 0  # (M, n)
    parity = (-1.0) ** ((bits[None, :, :] * support[:, None, :]).sum(axis=2))  # (M, 2**n)
    return np.sum(probs * parity, axis=1) * observables.coefficients


def shadow_protocol(design: Design, *, calibration: bool = False) -> Protocol:
    """The design's preparation (or nothing, for calibration on |0...0>) with a basis-change layer."""
    cfgp = design.config.protocol
    base = build_protocol(cfgp.n_qubits, cfgp.preparation.ansatz, "local", prep_layers=cfgp.preparation.layers,
                          noise=design.noise, name=f"{design.config.name}-shadows")
    if not calibration:
        return base
    shift = base.n_prep_params
    measure = tuple(dataclasses.replace(g, param=None if g.param is None else g.param - shift) for g in base.measure)
    return Protocol(base.n_qubits, (), measure, base.n_params - shift, 0, base.noise,
                    f"{design.config.name}-shadow-calibration")


def _layer_params(recipes: np.ndarray) -> np.ndarray:
    angles = basis_rotation_angles(recipes)  # (S, n, 2) = (theta, phi); local ansatz order: rz(phi), ry(theta)
    return np.stack([angles[..., 1], angles[..., 0]], axis=-1).reshape(len(recipes), -1)


def _pauli_batch(design: Design, prep_params: np.ndarray, recipes: np.ndarray,
                 calibration: bool) -> tuple[Protocol, np.ndarray]:
    """The shadow protocol and its parameter sets (S, P) for one batch of local-Pauli recipes."""
    protocol = shadow_protocol(design, calibration=calibration)
    prep = np.zeros((len(recipes), protocol.n_prep_params)) if calibration else \
        np.tile(np.asarray(prep_params)[: protocol.n_prep_params], (len(recipes), 1))
    return protocol, np.concatenate([prep, _layer_params(recipes)], axis=1)


def collect_pauli_shadows(design: Design, prep_params: np.ndarray, recipes: np.ndarray, backend: AbstractBackend,
                          *, seed: int, calibration: bool = False) -> np.ndarray:
    """Run one batch of S snapshots (one shot per recipe) and return bits, shape (S, n) uint8.

    Raises:
      ValueError: recipes of the wrong width.
    """
    n = design.protocol.n_qubits
    if recipes.ndim != 2 or recipes.shape[1] != n:
        raise ValueError(f"recipes have shape {recipes.shape}; expected (S, {n})")
    protocol, params = _pauli_batch(design, prep_params, recipes, calibration)
    res = backend.run(protocol, params, design.phase_rad, 1, seed=seed, memory=True)
    return res.bits()[:, 0, :]


def _collect_clifford(design: Design, prep_params: np.ndarray, unitaries: np.ndarray, seed: int) -> np.ndarray:
    n = design.protocol.n_qubits
    jp = compile_jax(shadow_protocol(design))
    p = shadow_protocol(design)
    rho = to_big_endian(np.asarray(jp.density_matrix(np.concatenate([prep_params[: p.n_prep_params],
                                                                        np.zeros(p.n_params - p.n_prep_params)]),
                                                     design.phase_rad)), n)
    probs = np.real(np.einsum("sab,bc,sac->sa", unitaries, rho, unitaries.conj()))
    probs = np.clip(probs, 0, None)
    probs /= probs.sum(axis=1, keepdims=True)
    rng = np.random.default_rng(seed)
    idx = np.array([rng.choice(2**n, p=row) for row in probs])
    return ((idx[:, None] >> (n - 1 - np.arange(n))) & 1).astype(np.uint8)


def _observables(cfg: ShadowsConfig, n: int) -> PauliObservables:
    if cfg.observables == "biomarker":
        return biomarker_observables(n)
    return PauliObservables.from_strings(list(cfg.observables))


CLIFFORD_LOCAL_ONLY = ("shadows.ensemble = 'clifford' runs on the 'local' backend only; "
                       "use 'pauli' or 'derandomized' on devices")


@dataclasses.dataclass(frozen=True)
class ShadowsPlan:
    """The measurement settings of a shadows run, drawn before any data (seeded).

    Attributes:
      observables: the observables to estimate.
      recipes: local-Pauli bases (S, n) int8 (0 = X, 1 = Y, 2 = Z), or None for Clifford.
      unitaries: global Clifford unitaries (S, 2**n, 2**n), or None for Pauli ensembles.
      calibration_recipes: bases of the robust-shadows calibration on |0..0>, or None.
    """

    observables: PauliObservables
    recipes: np.ndarray | None
    unitaries: np.ndarray | None
    calibration_recipes: np.ndarray | None


def plan_shadows(design: Design, *, seed: int) -> ShadowsPlan:
    """Draw the measurement settings of the config's ``shadows`` section.

    Raises:
      ValueError: no ``shadows`` section, or observable strings of the wrong length.
    """
    cfg = design.config.shadows
    if cfg is None:
        raise ValueError("the config has no 'shadows' section")
    n = design.protocol.n_qubits
    obs = _observables(cfg, n)
    if obs.n_qubits != n:
        raise ValueError(f"shadows.observables act on {obs.n_qubits} qubits; the protocol has {n}")
    rng = np.random.default_rng(seed)
    if cfg.ensemble == "clifford":
        return ShadowsPlan(obs, None, random_clifford_recipes(n, cfg.snapshots, rng), None)
    recipes = (random_pauli_recipes(n, cfg.snapshots, rng) if cfg.ensemble == "pauli"
               else derandomized_recipes(obs, cfg.snapshots))
    cal = random_pauli_recipes(n, cfg.calibration_snapshots, rng) if cfg.robust else None
    return ShadowsPlan(obs, recipes, None, cal)


def shadow_pubs(design: Design, params: np.ndarray, plan: ShadowsPlan) -> list[tuple[Protocol, np.ndarray]]:
    """The (protocol, parameter sets) batches that collect a Pauli plan: one shot per parameter set.

    The first batch is the sensor state's snapshots; with robust shadows the second
    is the calibration on |0..0>. Each batch is one PUB on a device backend.

    Raises:
      ValueError: a Clifford plan (no circuit form on devices).
    """
    if plan.recipes is None:
        raise ValueError(CLIFFORD_LOCAL_ONLY)
    prep_params = np.asarray(params)[: design.protocol.n_prep_params]
    return [_pauli_batch(design, prep_params, recipes, calibration)
            for recipes, calibration in ((plan.recipes, False), (plan.calibration_recipes, True))
            if recipes is not None]


def run_shadows(design: Design, params: np.ndarray, backend: AbstractBackend | str, *, seed: int) -> dict:
    """Collect shadows of the sensor output state on a backend and estimate the configured observables.

    :func:`plan_shadows`, then one batch per :func:`shadow_pubs` entry (seeds
    ``seed`` and ``seed + 1``), then :func:`analyse_shadows`.

    Raises:
      ValueError: the Clifford ensemble on a backend other than ``local``, or
        observable strings of the wrong length.
    """
    backend = get_backend(backend) if isinstance(backend, str) else backend
    plan = plan_shadows(design, seed=seed)
    name = getattr(backend, "name", str(backend))
    if plan.unitaries is not None:
        if name != "local":
            raise ValueError(CLIFFORD_LOCAL_ONLY)
        bits = _collect_clifford(design, np.asarray(params)[: design.protocol.n_prep_params], plan.unitaries, seed)
        return analyse_shadows(design, params, plan, bits, backend_name=name)
    batches = [backend.run(protocol, batch, design.phase_rad, 1, seed=seed + i, memory=True).bits()[:, 0, :]
               for i, (protocol, batch) in enumerate(shadow_pubs(design, params, plan))]
    return analyse_shadows(design, params, plan, batches[0], batches[1] if len(batches) > 1 else None,
                           backend_name=name)


def analyse_shadows(design: Design, params: np.ndarray, plan: ShadowsPlan, bits: np.ndarray,
                    calibration_bits: np.ndarray | None = None, *, backend_name: str = "local") -> dict:
    """Estimate the observables from collected snapshots (any backend, including fetched hardware jobs).

    Args:
      design: the run's design (its ``shadows`` section).
      params: the protocol parameters, shape (n_params,).
      plan: the plan the bits were collected with.
      bits: outcomes (S, n) uint8, 0 = eigenvalue +1 of the measured Pauli.
      calibration_bits: outcomes of the calibration batch (robust shadows), else None.
      backend_name: recorded in the output.

    Returns a JSON-ready dict: per observable its name, physical meaning, Pauli
    label, shadow estimate with standard error and median-of-means value, and the
    exact noisy and ideal (noiseless) values; the fidelity to the ideal sensor
    state (local-Pauli ensemble); the sample-complexity budget; and the raw
    recipes and bits.

    Raises:
      ValueError: bits of the wrong shape, or robust shadows without calibration bits.
    """
    cfg = design.config.shadows
    n = design.protocol.n_qubits
    obs = plan.observables
    settings = plan.recipes if plan.recipes is not None else plan.unitaries
    if bits.shape != (len(settings), n):
        raise ValueError(f"shadow bits have shape {bits.shape}; expected ({len(settings)}, {n})")
    prep_params = np.asarray(params)[: design.protocol.n_prep_params]
    sp = shadow_protocol(design)
    theta = np.concatenate([prep_params, np.zeros(sp.n_params - sp.n_prep_params)])
    noisy = np.asarray(compile_jax(sp).density_matrix(theta, design.phase_rad))
    ideal_protocol = sp.with_noise(type(sp.noise).ideal(n))
    ideal = np.asarray(compile_jax(ideal_protocol).density_matrix(theta, design.phase_rad))
    exact_noisy = exact_expectations(noisy, obs)
    exact_ideal = exact_expectations(ideal, obs)
    exact_readout = expected_with_readout(design, prep_params, obs)
    out: dict = {"ensemble": cfg.ensemble, "snapshots": cfg.snapshots, "groups": cfg.groups,
                 "backend": backend_name}
    recipes = plan.recipes
    if recipes is None:
        dense = np.stack([c * pauli_matrix(p) for p, c in zip(obs.paulis, obs.coefficients)])
        est = estimate_clifford(plan.unitaries, bits, dense, groups=cfg.groups)
    else:
        estimator = "shadow" if cfg.ensemble == "pauli" else "matching"
        if cfg.robust:
            if calibration_bits is None:
                raise ValueError("robust shadows need the calibration batch's bits")
            calibration = calibrate_robust(plan.calibration_recipes, calibration_bits,
                                           max_weight=int(obs.weights.max()))
            est = estimate_paulis_robust(recipes, bits, obs, calibration, groups=cfg.groups)
        else:
            est = estimate_paulis(recipes, bits, obs, groups=cfg.groups, estimator=estimator)
    psi = np.asarray(compile_jax(ideal_protocol).statevector(theta))
    psi = psi * np.exp(-1j * design.phase_rad * np.asarray(compile_jax(ideal_protocol).generator))
    out["fidelity_ideal_exact"] = float(np.real(np.conj(psi) @ noisy @ psi))
    if sp.noise.p01 and (any(sp.noise.p01) or any(sp.noise.p10)):
        biased = readout_biased_state(noisy, sp.noise.p01, sp.noise.p10)
        out["fidelity_ideal_with_readout"] = float(np.real(np.conj(psi) @ biased @ psi))
    else:
        out["fidelity_ideal_with_readout"] = out["fidelity_ideal_exact"]
    if recipes is not None and n <= 10:
        fid = estimate_fidelity(recipes, bits, to_big_endian(psi, n)) if cfg.ensemble == "pauli" else None
        if fid is not None:
            out["fidelity_ideal"] = {"estimate": float(fid.estimates[0]), "stderr": float(fid.standard_errors[0]),
                                     "meaning": "fidelity of the noisy sensor output to the ideal (noiseless) state"}
    budget = shadow_sample_complexity(obs, eps=0.1, delta=0.01)
    out["sample_complexity_eps0.1_delta0.01"] = {"groups": budget.groups, "per_group": budget.per_group,
                                                 "total": budget.total}
    labels = obs.to_strings()
    names = obs.names or labels
    meanings = obs.meanings or [""] * len(labels)
    rows = []
    for m in range(len(labels)):
        rows.append({"name": names[m], "pauli": labels[m], "meaning": meanings[m],
                     "estimate": float(est.estimates[m]), "stderr": float(est.standard_errors[m]),
                     "median_of_means": float(est.median_of_means[m]), "exact_noisy": float(exact_noisy[m]),
                     "exact_with_readout": float(exact_readout[m]), "exact_ideal": float(exact_ideal[m])})
    out["observables"] = rows
    # the plain estimator targets the readout-biased value; robust and Clifford shadows the state's
    target = exact_readout if (cfg.ensemble != "clifford" and not cfg.robust) else exact_noisy
    out["error_reference"] = "exact_with_readout" if target is exact_readout else "exact_noisy"
    err = np.abs(np.asarray(est.estimates) - target)
    out["max_abs_error"] = float(np.nanmax(err))
    z = err / np.maximum(np.asarray(est.standard_errors), 1e-300)
    out["max_z_score"] = float(np.nanmax(z))
    out["recipes"] = None if recipes is None else recipes.tolist()
    out["bits"] = bits.tolist()
    return out
