"""Build the network model of a ``network:`` config section (nodes, links, sources, estimand)."""

from __future__ import annotations

import math

from qlearn_sense.config._network import NetworkConfig
from qlearn_sense.network import Estimand, Link, Network, Node, Source, rad_per_T
from qlearn_sense.physics import NV_GYROMAGNETIC_RATIO_HZ_PER_T


def network_from_config(cfg: NetworkConfig, default_sensor) -> tuple[Network, Estimand]:
    """Build the :class:`Network` and :class:`Estimand` of a ``network:`` section.

    Args:
      cfg: the network section.
      default_sensor: the experiment's ``sensor`` section (for nodes without one).

    Returns:
      ``(network, estimand)``.

    Raises:
      NotImplementedError: a node of kind ``ensemble`` or ``nv_ensemble`` (named by field).
    """
    names = [n.name for n in cfg.nodes]
    nodes = []
    for i, n in enumerate(cfg.nodes):
        if n.kind != "register":
            raise NotImplementedError(f"network.nodes[{i}].kind = {n.kind!r}: collective-ensemble nodes are not "
                                      "simulated yet; use kind 'register'")
        s = n.sensor or default_sensor
        gamma = NV_GYROMAGNETIC_RATIO_HZ_PER_T if s.kind == "nv_center" else s.gyromagnetic_ratio_Hz_per_T
        t = s.interrogation_time_s
        eta = s.eta if s.eta is not None else math.exp(-((t / s.t2_star_s) ** s.stretch_exponent))
        nodes.append(Node(n.name, tuple(n.position_m), n.qubits, rad_per_T(gamma, t), eta, tuple(n.axes)))
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
                      names.index(cfg.hub) if cfg.hub else 0)
    w = cfg.weights()
    label = cfg.estimand.named or ("w . theta" if w is not None else "tr(W Cov)")
    if w is not None:
        return network, Estimand(weights=tuple(w), label=label)
    return network, Estimand(matrix=tuple(map(tuple, cfg.estimand.weight_matrix)), label=label)
