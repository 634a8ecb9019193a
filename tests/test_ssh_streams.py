"""A docker daemon over ssh: a copy's save and load go over ssh itself, with the
connection docker's own helper would open (backends/docker/ssh_streams.py)."""

from __future__ import annotations

import pytest

from ocitool.backends.docker.ssh_streams import failed_over_ssh, ssh_argv
from ocitool.errors import AuthenticationFailed, BackendUnavailable
from ocitool.runner import Completed


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        (
            "ssh://alice@build1:2222",
            ["-l", "alice", "-p", "2222", "--", "build1"],
        ),
        ("ssh://build1", ["--", "build1"]),
        ("ssh://bob@[::1]:22", ["-l", "bob", "-p", "22", "--", "::1"]),
    ],
)
def test_the_connection_is_the_one_docker_opens(host: str, expected: list[str]) -> None:
    argv = ssh_argv(host, ("docker", "load", "--quiet"))
    assert argv == ("ssh", "-o", "ConnectTimeout=30", "-T", *expected, "docker", "load", "--quiet")


def test_each_remote_word_is_quoted_for_the_remote_shell() -> None:
    argv = ssh_argv("ssh://h", ("docker", "save", "--", "a b;rm -rf /"))
    assert argv is not None and argv[-1] == "'a b;rm -rf /'"


@pytest.mark.parametrize(
    "host", ["unix:///var/run/docker.sock", "tcp://h:2375", "ssh://h/path", "ssh://h:port"]
)
def test_other_endpoints_keep_dockers_own_connection(host: str) -> None:
    assert ssh_argv(host, ("docker", "load")) is None


def test_ssh_failures_name_the_endpoint_and_docker_failures_pass_on() -> None:
    def done(code: int, stderr: str) -> Completed:
        return Completed(("ssh", "--", "h", "docker", "load"), code, "", stderr, 0.1)

    with pytest.raises(AuthenticationFailed, match=r"ssh refused the login to ssh://bob@h"):
        failed_over_ssh(done(255, "bob@h: Permission denied (publickey).\n"), "ssh://bob@h")
    with pytest.raises(BackendUnavailable, match=r"not reachable at ssh://h over ssh: .*not found"):
        failed_over_ssh(done(127, "bash: line 1: docker: command not found\n"), "ssh://h")
    failed_over_ssh(done(1, "Error response from daemon: no space\n"), "ssh://h")  # no raise
