"""Build the network model of a ``network:`` config section (nodes, links, sources, estimand)."""

from __future__ import annotations

import math

from qlearn_sense.config._network import NetworkConfig, NodeConfig
from qlearn_sense.network import (
    Estimand,
    Link,
    Network,
    Node,
    Source,
    ensemble_phase_fisher,
    nv_ensemble_phase_fisher,
    rad_per_T,
)
from qlearn_sense.physics import NV_GYROMAGNETIC_RATIO_HZ_PER_T, NVEnsembleSensor


def node_from_config(n: NodeConfig, default_sensor) -> Node:
    """Build one :class:`Node` (register, collective ensemble or NV ensemble) from its config.

    Phase per tesla ``2 pi gamma t`` (times ``delta_ms`` for an NV ensemble),
    eta from the sensor (``eta`` or ``exp(-(t/T2*)^p)``). An ``ensemble`` node's
    Fisher information is its best collective state's QFI under eta
    (:func:`qlearn_sense.network.ensemble_phase_fisher`); an ``nv_ensemble``
    node's is ``N eta^2 / sigma_R^2`` (:meth:`qlearn_sense.physics.NVEnsembleSensor.phase_fisher_per_shot`
    when T2* is given, else with the sensor's eta).
    """
    s = n.sensor or default_sensor
    gamma = NV_GYROMAGNETIC_RATIO_HZ_PER_T if s.kind == "nv_center" else s.gyromagnetic_ratio_Hz_per_T
    t = s.interrogation_time_s
    eta = s.eta if s.eta is not None else math.exp(-((t / s.t2_star_s) ** s.stretch_exponent))
    base = dict(name=n.name, position_m=tuple(n.position_m), axes=tuple(n.axes), eta=eta)
    if n.kind == "register":
        return Node(n_qubits=n.qubits, rad_per_T=rad_per_T(gamma, t), **base)
    if n.kind == "ensemble":
        fisher, _ = ensemble_phase_fisher(int(n.n_spins), float(eta))
        return Node(n_qubits=0, rad_per_T=rad_per_T(gamma, t), kind="ensemble", phase_fisher=fisher,
                    n_spins=float(n.n_spins), **base)
    if s.eta is None:
        sensor = NVEnsembleSensor(n_spins=n.n_spins, a0=n.a0, a1=n.a1, t2_star_s=s.t2_star_s,
                                  t2_s=s.t2_s or s.t2_star_s, stretch_exponent=s.stretch_exponent,
                                  delta_ms=n.delta_ms, gyromagnetic_ratio_Hz_per_T=gamma)
        fisher = sensor.phase_fisher_per_shot(t)
    else:
        fisher = nv_ensemble_phase_fisher(n.n_spins, n.a0, n.a1, float(eta))
    return Node(n_qubits=0, rad_per_T=n.delta_ms * rad_per_T(gamma, t), kind="nv_ensemble", phase_fisher=fisher,
                n_spins=float(n.n_spins), **base)


def network_from_config(cfg: NetworkConfig, default_sensor) -> tuple[Network, Estimand]:
    """Build the :class:`Network` and :class:`Estimand` of a ``network:`` section.

    Args:
      cfg: the network section.
      default_sensor: the experiment's ``sensor`` section (for nodes without one).

    Returns:
      ``(network, estimand)``.

    Ensemble nodes (``ensemble``, ``nv_ensemble``) become sensing-only nodes
    (see :func:`node_from_config`): they sense locally, share no entanglement,
    and add their Fisher information to every strategy.
    """
    names = [n.name for n in cfg.nodes]
    nodes = [node_from_config(n, default_sensor) for n in cfg.nodes]
    links = tuple(Link(names.index(ln.nodes[0]), names.index(ln.nodes[1]), ln.efficiency, ln.depolarizing_p)
                  for ln in cfg.links)
    sources = []
    for s in cfg.sources:
        if s.kind == "node_field":
            sources.append(Source("node_field", s.value_T, s.name, node=names.index(s.node), axis=s.axis))
        elif s.kind == "magnetic_dipole":
            sources.append(Source("magnetic_dipole", s.moment_Am2, s.name, position_m=s.position_m,
                                  direction=s.direction))
        else:
            sources.append(Source("current_dipole", s.moment_Am, s.name, position_m=s.position_m,
                                  direction=s.direction, center_m=s.sphere_center_m))
    network = Network(tuple(nodes), links, tuple(sources), cfg.common_mode.std_T, cfg.common_mode.correlation,
                      names.index(cfg.hub or next(n.name for n in cfg.nodes if n.kind == "register")))
    w = cfg.weights()
    label = cfg.estimand.named or ("w . theta" if w is not None else "tr(W Cov)")
    if w is not None:
        return network, Estimand(weights=tuple(w), label=label)
    return network, Estimand(matrix=tuple(map(tuple, cfg.estimand.weight_matrix)), label=label)
