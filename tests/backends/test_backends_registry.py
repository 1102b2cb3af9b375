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


# -- capabilities are classes (issue 10, runner restructure) --------------------------------------


@pytest.mark.parametrize("name, device, asynchronous", [
    ("local", False, False), ("aer", False, False), ("pennylane:default.mixed", False, False),
    ("aer:fake_manila", True, False), ("ibm-local:fake_manila", True, False), ("ibm:ibm_fez", True, True),
])
def test_capabilities_are_abstract_classes(name, device, asynchronous, ledger_path):
    from qlearn_sense.backends import AbstractAsyncBackend, AbstractBackend, AbstractDeviceBackend

    be = get_backend(name)
    assert isinstance(be, AbstractBackend)
    assert isinstance(be, AbstractDeviceBackend) is device
    assert isinstance(be, AbstractAsyncBackend) is asynchronous
    assert be.asynchronous is asynchronous  # the old flag, kept as a property
    assert be.noise_from_protocol is not device


def test_abstract_methods_are_enforced():
    from qlearn_sense.backends import AbstractAsyncBackend, AbstractDeviceBackend

    class NoCompile(AbstractDeviceBackend):
        device = None

        def run(self, *args, **kwargs):
            return None

    class NoLedger(AbstractAsyncBackend):
        def run(self, *args, **kwargs):
            return None

    with pytest.raises(TypeError, match="compile"):
        NoCompile()
    with pytest.raises(TypeError, match="ledger"):
        NoLedger()


def test_require_async_is_a_one_line_error_for_synchronous_backends(ledger_path):
    from qlearn_sense.backends import BackendError, require_async

    with pytest.raises(BackendError) as info:
        require_async(get_backend("local"), "resubmit", run_dir="experiments/q/r1")
    assert str(info.value) == ("run experiments/q/r1 used backend 'local', which runs synchronously; "
                               "nothing to resubmit")
    be = get_backend("ibm:ibm_fez")
    assert require_async(be, "fetch") is be


# -- what a backend can run, known before any optimization ----------------------------------------

def _protocols():
    from qlearn_sense.protocol import Noise, build_protocol

    ideal = build_protocol(2, "ghz", "ghz_parity")
    return ideal, ideal.with_noise(Noise.uniform(2, eta=0.9)), build_protocol(6, "ghz", "ghz_parity")


def test_supports_says_why_a_backend_cannot_run_a_protocol(fake_service):
    ideal, noisy, six = _protocols()
    reason = get_backend("pennylane:default.qubit").supports(noisy)
    assert "pennylane:default.qubit" in reason and "default.mixed" in reason
    assert get_backend("pennylane:default.qubit").supports(ideal) is None
    assert get_backend("pennylane:default.mixed").supports(noisy) is None
    assert get_backend("local").supports(noisy) is None and get_backend("aer").supports(noisy) is None
    assert "5 qubits" in get_backend("aer:fake_manila").supports(six)
    assert get_backend("aer:fake_manila").supports(noisy) is None  # device noise replaces the protocol's
    assert "initial layout" in get_backend("aer:fake_manila").configure(initial_layout=[0, 1, 2]).supports(ideal)
    assert "outside" in get_backend("aer:fake_manila").configure(initial_layout=[0, 9]).supports(ideal)
    be = get_backend("ibm:ibm_fez")
    assert be.supports(six) is None and be._device is None  # no service call just to check
    assert "5 qubits" in be.connect().supports(six)  # the double serves fake_manila


@pytest.mark.parametrize("name, noisy, n, match", [
    ("local", True, 3, None), ("aer", True, 3, None), ("pennylane:default.mixed", True, 3, None),
    ("pennylane:default.qubit", False, 3, None), ("pennylane:lightning.qubit", True, 3, "pure states"),
    ("pennylane:default.qubit", True, 3, "pennylane:default.mixed"), ("pennylane", False, 3, "accepted"),
    ("aer:fake_fez", True, 3, None), ("aer:FakeManilaV2", False, 5, None), ("aer:fake_manila", False, 6, "5 qubits"),
    ("ibm-local:fake_nowhere", False, 2, "fake_fez"), ("ibm-local", False, 2, "needs a fake device"),
    ("ibm:ibm_fez", True, 20, None), ("ibm", False, 2, "needs a device name"), ("local:x", False, 2, "no argument"),
    ("warp:9", False, 2, "fake_manila"),
])
def test_check_backend_for_config(name, noisy, n, match):
    from qlearn_sense.backends import check_backend_for_config

    reason = check_backend_for_config(name, noisy=noisy, n_qubits=n)
    if match is None:
        assert reason is None
    else:
        assert match in reason and "\n" not in reason


def test_names_for_the_validator():
    import qiskit_ibm_runtime.fake_provider as provider
    from qiskit_ibm_runtime.fake_provider.fake_backend import FakeBackendV2

    from qlearn_sense.backends import backend_names, fake_backend, fake_device_names, fake_device_qubits

    names = backend_names()
    for expected in ("local", "aer", "aer:<fake-device>", "ibm-local:<fake-device>", "ibm:<device>",
                     "pennylane:default.mixed", "pennylane:default.qubit", "pennylane:lightning.qubit"):
        assert expected in names
    # the reference: the provider's device classes (read from the files, the names must be the same)
    classes = {c.backend_name for c in vars(provider).values()
               if isinstance(c, type) and issubclass(c, FakeBackendV2) and isinstance(getattr(c, "backend_name", None),
                                                                                     str)}
    assert len(classes) > 50 and fake_device_names() == sorted(classes)
    for name in ("fake_manila", "fake_fez"):
        assert fake_device_qubits(name) == fake_backend(name).num_qubits
    assert fake_device_qubits("FakeFez") == 156 and fake_device_qubits("fake_nowhere") is None


def test_unknown_name_lists_fake_devices_too():
    with pytest.raises(ValueError) as info:
        get_backend("aer-gpu:fake_fez")
    msg = str(info.value)
    assert "aer:<fake-device>" in msg and "fake_fez" in msg and "fake_manila" in msg


def test_injection_and_overrides(ledger_path):
    from qlearn_sense.backends import IBMRuntimeBackend, RetryPolicy, available_backends, override_backend

    policy = RetryPolicy(attempts=2, sleep=lambda s: None)
    service = object()
    be = get_backend("ibm:ibm_fez", service=service, retry=policy)
    assert be.service is service and be.retry is policy
    assert get_backend("local", service=service).name == "local"  # synchronous backends ignore them
    with pytest.raises(TypeError, match="servce"):
        get_backend("ibm:ibm_fez", servce=service)
    with pytest.raises(ValueError, match="attempts"):
        RetryPolicy(attempts=0)
    before = available_backends()
    with override_backend("ibm", lambda arg, **kw: IBMRuntimeBackend(arg, service=service, **kw)):
        assert get_backend("ibm:ibm_x").service is service
        with override_backend("extra", lambda arg: get_backend("local"), "'extra' (test)"):
            assert get_backend("extra").name == "local"
    assert available_backends() == before
    assert get_backend("ibm:ibm_fez")._service is None


def test_importing_the_package_loads_neither_aer_nor_the_runtime():
    """Lazy imports (issue 10): validation and --help do not pay for qiskit, qiskit-aer or qiskit-ibm-runtime."""
    import subprocess
    import sys

    heavy = "('qiskit', 'qiskit_aer', 'qiskit_ibm_runtime', 'pennylane')"
    code = ("import sys, qlearn_sense.backends as b\n"
            f"print(sorted(m for m in {heavy} if m in sys.modules))\n"
            "b.backend_names(); b.fake_device_names(); b.fake_device_qubits('fake_fez')\n"
            "b.check_backend_for_config('aer:fake_fez', noisy=True, n_qubits=3)\n"
            "b.check_backend_for_config('pennylane:default.qubit', noisy=True, n_qubits=3)\n"
            f"print(sorted(m for m in {heavy} if m in sys.modules))\n"
            "b.get_backend('local'); b.get_backend('aer'); b.get_backend('ibm:ibm_fez')\n"
            "print(sorted(m for m in ('qiskit_aer', 'qiskit_ibm_runtime') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split("\n")[:3] == ["[]", "[]", "[]"], out.stdout


def test_backend_modules_import_without_cycles():
    """No import cycle inside the package (the registry and the runtime used to import each other)."""
    import ast
    from pathlib import Path

    import qlearn_sense.backends as pkg

    root = Path(pkg.__file__).parent
    modules = {p.stem: p for p in root.glob("*.py") if p.stem != "__init__"}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges = set()
        tree = ast.parse(path.read_text())
        type_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                     and ast.unparse(node.test) == "TYPE_CHECKING" for n in ast.walk(node)}
        for node in ast.walk(tree):
            if id(node) in type_only or not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module.startswith("qlearn_sense.backends."):
                    edges.add(node.module.rsplit(".", 1)[1])
                elif node.module == "qlearn_sense.backends":
                    edges.update(a.name for a in node.names if a.name in modules)
        graph[name] = edges & set(modules)

    def reach(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in graph[todo.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    cycles = sorted(m for m in graph if m in reach(m))
    assert cycles == [], {m: sorted(graph[m]) for m in cycles}
    assert "_registry" not in reach("_runtime") and "_runtime" in graph["_registry"]
