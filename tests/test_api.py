"""The Python API, safe to share (issue 18, item 6): one Client used by several
threads, argument lists that cannot be mistaken for strings, the CLI's TLS
settings on push, pull and copy, and a reference page made from the docstrings.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from ocitool.client import Client
from ocitool.errors import OcitoolError
from tests.conftest import BASE, CHAIN, Registries
from tests.lab import ROOT

THREADS = 8


def test_one_client_shared_by_eight_threads(client: Client) -> None:
    """Each thread reads and writes (tag, rmi) through the same Client; on the oci
    store, a thread's shared lock used to be taken for another's, and most writes
    raised 'cannot upgrade a shared store lock to exclusive'."""
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def work(n: int) -> None:
        try:
            start.wait(timeout=60)
            for step in range(4):
                client.tag(BASE, f"ocitool-test/threads:t{n}-{step}")
                client.image(f"ocitool-test/threads:t{n}-{step}")
                if step:
                    client.rmi(f"ocitool-test/threads:t{n}-{step - 1}")
                client.images()
        except BaseException as exc:  # every thread's failure, for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    try:
        assert errors == []
        names = {name for image in client.images() for name in image.names}
        kept = {n for n in names if "ocitool-test/threads:" in n}
        assert len(kept) == THREADS, kept
    finally:
        for n in range(THREADS):
            client.rmi(f"ocitool-test/threads:t{n}-3")


@pytest.mark.parametrize(
    ("keyword", "value"), [("command", "echo hi"), ("env", "A=1"), ("command", b"echo")]
)
def test_a_string_where_a_list_is_meant_is_refused(
    client: Client, keyword: str, value: str | bytes
) -> None:
    """`run(img, "echo hi")` ran `e c h o ' ' h i`; now nothing reaches the engine."""
    before = len(client.runner.calls)
    arguments: dict[str, Any] = {"command": ["true"], keyword: value}
    with pytest.raises(TypeError, match=f"{keyword} must be a list of strings"):
        client.run(BASE, **arguments)
    assert len(client.runner.calls) == before
    with pytest.raises(TypeError, match=r"\['echo', 'hi'\]"):
        client.run(BASE, "echo hi")
    with pytest.raises(TypeError, match="changes must be a list"):
        client.commit("no-such-container", "x:1", changes="CMD sh")


def test_push_pull_and_copy_take_the_clis_tls_settings(engine: str, registries: Registries) -> None:
    plain, secure = registries.plain.host, registries.secure
    client = Client(backend=engine)
    target = f"{plain}/api/{engine}:1"
    with pytest.raises(OcitoolError, match=r"plain HTTP|TLS"):
        client.push(CHAIN[1], target)
    assert client.push(CHAIN[1], target, tls_verify=False).digest
    assert client.pull(target, tls_verify=False).names == [target]
    copied = client.copy(f"docker://{target}", f"docker://{plain}/api/{engine}-copy:1",
                         tls_verify=False)  # fmt: skip
    assert copied.digest
    client.login(secure.host, "tester", "s3cret-pass", cert_dir=secure.ca_dir)
    try:
        on_tls = f"{secure.host}/api/{engine}:1"
        assert client.push(CHAIN[1], on_tls, cert_dir=secure.ca_dir, force=True).digest
        assert client.pull(on_tls, cert_dir=secure.ca_dir).names == [on_tls]
    finally:
        client.logout(secure.host)


def test_the_api_reference_is_current() -> None:
    """docs/api.md is what scripts/api_docs.py makes from the docstrings (each public
    Client method has one, or the script fails)."""
    proc = subprocess.run(
        [sys.executable, str(Path(ROOT) / "scripts" / "api_docs.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
