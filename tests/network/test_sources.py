"""Source models: magnetic dipole and Sarvas current dipole against closed forms and MNE."""

import numpy as np
import pytest

from qlearn_sense.network import MU0, Source, current_dipole_field_sphere, lead_field, magnetic_dipole_field


def _dipole_closed_form(m, r0, r):
    d = r - r0
    n = np.linalg.norm(d, axis=1, keepdims=True)
    u = d / n
    return MU0 / (4 * np.pi) * (3 * u * (u @ m)[:, None] - m) / n**3


def test_magnetic_dipole_matches_closed_form(rng):
    m, r0 = np.array([0.3, -0.2, 1.1]), np.array([0.01, 0.02, -0.03])
    obs = rng.normal(size=(7, 3)) * 0.1
    np.testing.assert_allclose(magnetic_dipole_field(m, r0, obs), _dipole_closed_form(m, r0, obs), rtol=1e-6)
    # on the axis at 1 m: mu0 m / (2 pi) = 2e-7 T for 1 A m^2
    np.testing.assert_allclose(magnetic_dipole_field([0, 0, 1], [0, 0, 0], [[0, 0, 1.0]])[0, 2], 2e-7, rtol=1e-6)


def test_magnetic_dipole_at_its_position_raises():
    with pytest.raises(ValueError, match="diverges"):
        magnetic_dipole_field([0, 0, 1], [0, 0, 0], [[0, 0, 0.0]])


def test_sarvas_radial_dipole_is_silent_and_radial_component_is_biot_savart(rng):
    r0 = np.array([0.0, 0.02, 0.06])
    obs = rng.normal(size=(6, 3))
    obs = 0.11 * obs / np.linalg.norm(obs, axis=1, keepdims=True)
    # a radial dipole produces no field outside a spherically symmetric conductor (Sarvas 1987)
    b = current_dipole_field_sphere(r0 / np.linalg.norm(r0) * 1e-8, r0, obs)
    assert np.max(np.abs(b)) < 1e-30
    # the radial component equals that of the primary current alone (Biot-Savart):
    # B0 = mu0/4pi Q x (r - r0) / |r - r0|^3
    q = np.array([1e-8, -2e-8, 0.5e-8])
    b = current_dipole_field_sphere(q, r0, obs)
    a = np.linalg.norm(obs - r0, axis=1)
    b0 = MU0 / (4 * np.pi) * np.cross(q, obs - r0) / a[:, None] ** 3
    br_expected = np.sum(b0 * obs, axis=1)
    np.testing.assert_allclose(np.sum(b * obs, axis=1), br_expected, rtol=1e-9, atol=1e-30)


def test_sarvas_matches_mne_sphere_field(rng):
    numba_mod = pytest.importorskip("mne.forward._compute_forward_numba")
    r0 = np.array([0.01, -0.02, 0.05])
    obs = rng.normal(size=(5, 3))
    obs = 0.12 * obs / np.linalg.norm(obs, axis=1, keepdims=True)
    cos = np.tile(np.eye(3), (len(obs), 1))  # three orthogonal point coils per observer
    rm = np.repeat(obs, 3, axis=0)
    ref = numba_mod._do_sphere_field(r0[None], rm, cos, np.ones(len(rm)), np.arange(len(rm)), np.zeros(3))
    for j, qdir in enumerate(np.eye(3)):  # rows of ref: unit dipole along x, y, z
        ours = current_dipole_field_sphere(qdir, r0, obs).reshape(-1)
        np.testing.assert_allclose(ours, ref[j], rtol=1e-9, atol=1e-25)


def test_sarvas_observer_inside_raises():
    with pytest.raises(ValueError, match="farther from the sphere centre"):
        current_dipole_field_sphere([1, 0, 0], [0, 0, 0.05], [[0, 0, 0.01]])


def test_lead_field_columns():
    pos = np.array([[0, 0, 0.1], [0.05, 0, 0.1]])
    channels = [(0, "z"), (1, "z"), (1, "x")]
    srcs = [Source("node_field", 1e-9, node=1, axis="x"),
            Source("magnetic_dipole", 1.0, position_m=(0, 0, 0), direction=(0, 0, 2.0))]
    lf = lead_field(srcs, pos, channels)
    np.testing.assert_array_equal(lf[:, 0], [0, 0, 1])
    np.testing.assert_allclose(lf[:, 1], magnetic_dipole_field([0, 0, 1], [0, 0, 0], pos)[[0, 1, 1], [2, 2, 0]])
    with pytest.raises(ValueError, match="outside"):
        lead_field([Source("node_field", 1.0, node=5)], pos, channels)
