"""The package as PyPI and pip users get it: the sdist and wheel built from this
checkout, their contents, their metadata, and the README as PyPI renders it.

The build runs offline (`--no-isolation`, with the dev extras' build and
setuptools), from the sdist as `python -m build` does, so the sdist is shown to
build the wheel.
"""

from __future__ import annotations

import email
import email.message
import re
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


class Built:
    def __init__(self, out: Path) -> None:
        (self.sdist,) = out.glob("ocitool-*.tar.gz")
        (self.wheel,) = out.glob("ocitool-*.whl")
        with tarfile.open(self.sdist) as tar:
            top = tar.getnames()[0].split("/")[0]
            self.sdist_files = {n.removeprefix(top + "/") for n in tar.getnames()}
        with zipfile.ZipFile(self.wheel) as whl:
            self.wheel_files = set(whl.namelist())
            (meta,) = (n for n in self.wheel_files if n.endswith(".dist-info/METADATA"))
            self.metadata: email.message.Message = email.message_from_bytes(whl.read(meta))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return Built(out)


def test_the_wheel_ships_py_typed_and_the_license(built: Built) -> None:
    assert "ocitool/py.typed" in built.wheel_files
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in built.wheel_files)
    assert "ocitool/backends/oci/backend.py" in built.wheel_files
    scripts = {f"ocitool/completions/ocitool.{shell}" for shell in ("bash", "zsh", "fish")}
    assert scripts <= built.wheel_files
    pages = {n.rpartition("/")[2] for n in built.wheel_files if "/share/man/man1/" in n}
    assert {"ocitool.1", "ocitool-images.1"} <= pages
    tops = {n.split("/")[0] for n in built.wheel_files}
    assert tops == {"ocitool", "ocitool-0.1.0.dist-info", "ocitool-0.1.0.data"}


def test_the_metadata_says_what_pypi_shows(built: Built) -> None:
    meta = built.metadata
    assert meta["License-Expression"] == "MIT"
    assert "LICENSE" in meta.get_all("License-File", [])
    classifiers = meta.get_all("Classifier", [])
    assert "Typing :: Typed" in classifiers
    assert "Programming Language :: Python :: 3.11" in classifiers
    assert meta["Requires-Python"] == ">=3.11"
    assert meta["Description-Content-Type"] == "text/markdown"
    for url in meta.get_all("Project-URL", []):
        assert url.split(", ", 1)[1].startswith("https://"), url


def test_the_sdist_leaves_the_tests_out_and_carries_the_docs(built: Built) -> None:
    """The tests need root, real engines and tests/lab.py: a partial copy could not run."""
    assert not any(n.startswith(("tests/", "bench/")) for n in built.sdist_files)
    assert {"LICENSE", "README.md", "pyproject.toml", "docs/engines.md"} <= built.sdist_files
    assert "man/man1/ocitool.1" in built.sdist_files
    readme = (ROOT / "README.md").read_text()
    for path in set(re.findall(r"`(docs/[\w.-]+\.md)`", readme)):
        assert path in built.sdist_files, path


def test_the_readme_renders_on_pypi_with_no_link_that_breaks_there(built: Built) -> None:
    """PyPI renders the long description with readme_renderer (twine check does the
    same); a relative link or image there points at pypi.org, so there are none."""
    import importlib

    # readme-renderer[md] is a dev extra; by name, so mypy passes in a venv made before it
    render = importlib.import_module("readme_renderer.markdown").render

    description = built.metadata.get_payload()
    assert isinstance(description, str)
    html = render(description, variant="GFM")
    assert html is not None
    assert "<h2" in html and "<table>" in html
    targets = re.findall(r'(?:href|src)="([^"]*)"', html)
    broken = [t for t in targets if not t.startswith(("#", "https://"))]
    assert broken == []


def test_mypy_checks_user_code_against_the_installed_api(built: Built, tmp_path: Path) -> None:
    """With py.typed, mypy reads the API's types from the installed wheel (without
    it: `import-untyped`). The wheel is unpacked into a bare venv whose other
    packages (pydantic, typer) come from this one through a .pth line."""
    env_dir = tmp_path / "env"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    (site,) = env_dir.glob("lib/python3.*/site-packages")
    with zipfile.ZipFile(built.wheel) as whl:
        whl.extractall(site)  # noqa: S202 (the wheel this test just built)
    deps = [p for p in sys.path if p.endswith("site-packages")]
    (site / "deps.pth").write_text("\n".join(deps) + "\n")
    user = tmp_path / "user.py"
    user.write_text(
        "from ocitool import Client\n"
        "from ocitool.models import Image\n\n"
        "def names(client: Client) -> list[str]:\n"
        "    images: list[Image] = client.images()\n"
        "    return [n for image in images for n in image.names]\n\n"
        "reveal_type(Client.images)\n"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--config-file",
            "",
            "--python-executable",
            str(env_dir / "bin" / "python"),
            str(user),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert "import-untyped" not in out and "import-not-found" not in out, out
    assert "list[ocitool.models.Image]" in out, out
    python = str(env_dir / "bin" / "python")
    where = _run([python, "-c", "import ocitool; print(ocitool.__file__)"], tmp_path)
    assert where.startswith(str(site))
    # the completion scripts are package data, read from the installed wheel
    assert "complete -c ocitool" in _run([python, "-m", "ocitool", "completion", "fish"], tmp_path)


def _run(argv: list[str], cwd: Path) -> str:
    """stdout of a process with nothing of this checkout or its venv in its environment."""
    env = {"PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=60, cwd=cwd, env=env, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout
