"""Backend registry: every documented name builds; unknown names list the valid ones."""

from __future__ import annotations

import pytest

from qlearn_sense.backends import (
    AerBackend,
    AerDeviceBackend,
    IBMLocalBackend,
    IBMRuntimeBackend,
    LocalBackend,
    PennyLaneBackend,
    available_backends,
    get_backend,
)


@pytest.mark.parametrize("name, cls", [
    ("local", LocalBackend), ("aer", AerBackend), ("aer:fake_fez", AerDeviceBackend),
    ("aer:FakeManilaV2", AerDeviceBackend), ("ibm-local:fake_fez", IBMLocalBackend),
    ("ibm:ibm_fez", IBMRuntimeBackend), ("pennylane:default.qubit", PennyLaneBackend),
    ("pennylane:default.mixed", PennyLaneBackend), ("pennylane:lightning.qubit", PennyLaneBackend),
])
def test_names_build_backends(name, cls):
    be = get_backend(name)
    assert isinstance(be, cls)
    assert be.name.split(":")[0] == name.split(":")[0]


def test_ibm_backend_is_asynchronous_and_lazy(ledger_path):
    be = get_backend("ibm:ibm_fez")
    assert be.asynchronous and not get_backend("aer").asynchronous
    assert be._service is None  # no account needed just to build it


def test_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError) as info:
        get_backend("qpu:nowhere")
    for prefix in ("local", "pennylane:<device>", "aer:<fake-backend>", "ibm-local:<fake-backend>", "ibm:<backend>"):
        assert prefix in str(info.value)
    assert set(available_backends()) == {"local", "pennylane", "aer", "ibm-local", "ibm"}


@pytest.mark.parametrize("name, match", [
    ("pennylane", "needs a device"), ("pennylane:default.gaussian", "default.mixed"),
    ("ibm-local", "needs a fake device"), ("ibm", "needs a device name"),
    ("aer:fake_nowhere", "fake_fez"), ("ibm-local:fake_nowhere", "fake_fez"), ("local:x", "no argument"),
])
def test_bad_arguments_say_what_is_accepted(name, match):
    with pytest.raises(ValueError, match=match):
        get_backend(name)


def test_configure_rejects_unknown_options():
    with pytest.raises(ValueError, match="optimization_level"):
        get_backend("aer:fake_fez").configure(optimisation=2)
    # simulators accept and ignore compilation options
    assert get_backend("local").configure(optimization_level=3).name == "local"
