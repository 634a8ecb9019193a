"""The engine seam: a small core every backend implements, capabilities declared and
kept, one NotSupported wording, no import cycles, and an import name of its own.

These need no engine: they read the code, or run ocitool on the oci store.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ocitool import capabilities as can
from ocitool.backends import registry
from ocitool.config import Config
from ocitool.engine import Engine
from ocitool.runner import Runner
from tests.test_cli import ocitool, one_error_line

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "ocitool"  # ocitool/backends links to ../backends


def _members(protocol: type) -> set[str]:
    return {
        name
        for name in {*vars(protocol), *getattr(protocol, "__annotations__", {})}
        if not name.startswith("_")
    }


@pytest.mark.parametrize("name", registry.NAMES)
def test_every_backend_has_the_whole_core(name: str, tmp_path: Path) -> None:
    backend = registry.load(name, Runner(), Config(), store=tmp_path / "store")
    missing = [m for m in sorted(_members(Engine)) if not hasattr(backend, m)]
    assert missing == []
    assert backend.capabilities == registry.declared(name)


@pytest.mark.parametrize("name", registry.NAMES)
def test_a_backend_has_exactly_the_capabilities_it_declares(name: str, tmp_path: Path) -> None:
    """Declared means implemented; not declared means absent, never a stub that raises."""
    backend = registry.load(name, Runner(), Config(), store=tmp_path / "store")
    for capability in can.ALL:
        if capability.protocol is None:
            continue
        present = {m for m in _members(capability.protocol) if hasattr(backend, m)}
        if capability.name in backend.capabilities:
            assert present == _members(capability.protocol), capability
        else:
            assert present == set(), f"{name} has {present} of {capability} undeclared"


def test_the_core_is_small() -> None:
    assert len(_members(Engine)) <= 22


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["search", "busybox"], "the oci backend cannot search Docker Hub"),
        (
            ["run", "-d", "-t", "ocitool-test/none:1", "sh"],
            "the oci backend cannot give a detached container a terminal (run -d -t)",
        ),
        (
            ["run", "--pull", "always", "ocitool-test/none:1", "sh"],
            "the oci backend cannot pull an image when a container is run (--pull always)",
        ),
        (
            ["run", "-p", "8080:80", "ocitool-test/none:1", "sh"],
            "the oci backend cannot publish a container's ports (run -p)",
        ),
    ],
)
def test_a_missing_capability_is_one_not_supported(args: list[str], says: str) -> None:
    proc = ocitool("--backend", "oci", *args)
    assert proc.returncode == 6
    line = one_error_line(proc)
    assert says in line
    assert "the docker and podman backends can" in line  # what would do it


def test_backends_lists_the_capabilities() -> None:
    proc = ocitool("backends", "--format", "json")
    assert proc.returncode == 0
    found = {b["backend"]: set(b["capabilities"]) for b in json.loads(proc.stdout)}
    assert found == {n: set(registry.declared(n)) for n in registry.NAMES}
    assert "hub-search" in found["docker"] and "hub-search" not in found["oci"]
    table = ocitool("backends")
    assert "CAPABILITY" in table.stdout and "detached-terminal" in table.stdout


# -- the import graph --------------------------------------------------------------------


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):  # rglob follows the backends link
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imports(path: Path, module: str, known: set[str]) -> set[str]:
    """Every project module this file imports when it runs, at module level or in a
    function (not under TYPE_CHECKING, which never runs)."""
    tree = ast.parse(path.read_text())
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for child in node.body for n in ast.walk(child))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    [*package.split(".")[: len(package.split(".")) - node.level + 1], base]
                )
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in known else base)
    return {f for f in found if f in known and f != module}


def test_no_import_cycles() -> None:
    modules = _modules()
    graph = {m: _imports(p, m, set(modules)) for m, p in modules.items()}
    cycles = []
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_no_engine_names_in_the_core() -> None:
    """Engine quirks stay in backends/: the core never asks which engine it has."""
    allowed = {"defaults.py", "config.py", "config_file.py", "models.py", "locations.py"}
    offenders = []
    for path in sorted(PACKAGE.glob("**/*.py")):
        if "backends" in path.relative_to(PACKAGE).parts or path.name in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in ("docker", "podman", "oci"):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            if isinstance(node, ast.Compare) and ".name" in ast.unparse(node.left):
                text = ast.unparse(node)
                if any(e in text for e in ("'docker'", "'podman'", "'oci'")):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


# -- the import name ------------------------------------------------------------------


def test_a_directory_with_its_own_backends_package(tmp_path: Path) -> None:
    """ocitool's backends install as ocitool.backends: a user's own `backends/` package
    in the working directory shadows nothing."""
    (tmp_path / "backends").mkdir()
    (tmp_path / "backends" / "__init__.py").write_text("raise ImportError('the user own')\n")
    env = {"OCITOOL_STORE": str(tmp_path / "store"), "PATH": "/usr/sbin:/usr/bin:/bin"}
    code = "from ocitool import Client; print(len(Client(backend='oci').images()))"
    api = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**env, "OCITOOL_CONFIG": str(tmp_path / "none.toml")},
    )
    assert api.returncode == 0 and api.stdout.strip() == "0", api.stderr
    cli = subprocess.run(
        [sys.executable, "-m", "ocitool", "--backend", "oci", "images"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**env, "OCITOOL_CONFIG": str(tmp_path / "none.toml")},
    )
    assert cli.returncode == 0 and "REPOSITORY" in cli.stdout, cli.stderr


def test_the_distribution_claims_only_ocitool() -> None:
    from importlib.metadata import distribution

    assert (distribution("ocitool").read_text("top_level.txt") or "").split() == ["ocitool"]


# -- what each command loads -------------------------------------------------------------


def _loaded(*args: str, env: dict[str, str] | None = None) -> set[str]:
    """The modules loaded by the time one whole `ocitool ARGS` process exits."""
    program = (
        "import atexit, json, sys\n"
        "loaded = lambda: json.dumps(sorted(sys.modules))\n"
        "atexit.register(lambda: sys.stderr.write('\\nLOADED ' + loaded()))\n"
        "sys.argv = ['ocitool', *json.loads(sys.argv[1])]\n"
        "from ocitool.entry import main\n"
        "main()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", program, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})},
    )
    assert proc.returncode == 0 or "--no-such-option" in args or "frobnicate" in args, proc.stderr
    return set(json.loads(proc.stderr.rpartition("LOADED ")[2]))


def test_version_help_and_usage_errors_load_little() -> None:
    assert not _loaded("--version") & {"typer", "typing", "pydantic", "ocitool.cli.app"}
    for args in (["--help"], ["frobnicate"]):  # no command is built
        assert not _loaded(*args) & {"pydantic", "rich", "ocitool.client", "ocitool.cli.reads"}
    # a usage error builds its command's options, and no more
    assert not _loaded("images", "--no-such-option") & {"pydantic", "rich", "ocitool.client"}


def test_a_command_loads_only_its_own_module() -> None:
    loaded = _loaded("--backend", "oci", "inspect", "--help")
    assert "ocitool.cli.reads" in loaded
    assert not loaded & {"ocitool.cli.lifecycle", "ocitool.cli.distribution", "rich"}


def test_every_public_api_method_says_what_it_does() -> None:
    import inspect

    from ocitool.client import Client
    from ocitool.transfer import Transfers

    silent = []
    for cls in (Client, Transfers):
        for name, member in vars(cls).items():
            target = getattr(member, "__func__", getattr(member, "fget", member))
            if not name.startswith("_") and callable(target) and not inspect.getdoc(target):
                silent.append(f"{cls.__name__}.{name}")
    assert silent == []


def _recorded_docker(tmp_path: Path, fixture: str) -> dict[str, str]:
    """A `docker` that prints what the real one printed (tests/fixtures/docker)."""
    recorded = json.loads((ROOT / "tests" / "fixtures" / "docker" / fixture).read_text())
    (tmp_path / "out").write_text(recorded[0]["stdout"])
    (tmp_path / "docker").write_text(f"#!/bin/sh\ncat {tmp_path / 'out'}\n")
    (tmp_path / "docker").chmod(0o755)
    return {"PATH": f"{tmp_path}:/usr/bin:/bin", "DOCKER_HOST": "unix:///nowhere.sock"}


def test_the_images_table_loads_no_pydantic(tmp_path: Path) -> None:
    env = _recorded_docker(tmp_path, "listing.json")
    loaded = _loaded("--backend", "docker", "images", env=env)
    assert "ocitool.cli.reads" in loaded
    assert not loaded & {"pydantic", "ocitool.models", "rich", "tarfile"}


@pytest.mark.parametrize("backend", ["docker", "podman"])
def test_the_engine_cli_backends_load_no_models_or_archives(backend: str) -> None:
    """Their images table prints the list call's rows (test above): a module-level
    import of the models or of tarfile in the backend would cost it ~100 ms."""
    program = (
        f"import json, sys, ocitool.backends.{backend}.backend\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = set(json.loads(proc.stdout))
    assert not loaded & {"pydantic", "ocitool.models", "rich", "tarfile"}


def test_inspect_loads_no_layer_reader(tmp_path: Path) -> None:
    env = _recorded_docker(tmp_path, "inspect_built.json")
    loaded = _loaded("--backend", "docker", "inspect", "lab/built:1", env=env)
    assert "ocitool.models" in loaded
    assert not loaded & {"tarfile", "gzip", "ocitool.layerfiles", "rich", "ocitool.transfer"}


def test_several_images_in_one_docker_archive_need_the_engines_own_save(tmp_path: Path) -> None:
    store = tmp_path / "store"
    env = {**os.environ, "OCITOOL_STORE": str(store)}
    tar = tmp_path / "rootfs.tar"
    subprocess.run(["tar", "-cf", str(tar), "-T", "/dev/null"], check=True)
    for name in ("seam/one:1", "seam/two:1"):
        made = subprocess.run(
            [sys.executable, "-m", "ocitool", "--backend", "oci", "import", str(tar), name],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=env,
        )
        assert made.returncode == 0, made.stderr
    out = tmp_path / "both.tar"
    proc = ocitool(
        "--backend",
        "oci",
        "--store",
        str(store),
        "save",
        "seam/one:1",
        "seam/two:1",
        "-o",
        str(out),
    )
    assert proc.returncode == 6
    line = one_error_line(proc)
    assert "the oci backend cannot put several images in one docker archive" in line
    assert "the docker and podman backends can" in line
    assert not out.exists() and list(tmp_path.glob("both.tar*")) == []
