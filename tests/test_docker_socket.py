"""docker as a user the daemon's socket is closed to: the error says why and the fix.

The test's private dockerd makes its socket `root:docker`, mode 660, as the
packaged one does. A user outside group docker gets ocitool's one line naming
the owner, group and mode, and the fix (the group, or rootless podman or the
oci backend), not "is dockerd running?". The user and its install are the ones
tests/test_rootless.py uses (tests/lab.py, unprivileged_checkout).
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import ENGINES, Lab
from tests.lab import UNPRIVILEGED, as_user, unprivileged_checkout

if os.geteuid() == 0 and "docker" in ENGINES:

    def test_a_closed_docker_socket_says_whose_it_is_and_the_fix(lab: Lab) -> None:
        home, source = unprivileged_checkout()
        ocitool = source / ".venv" / "bin" / "ocitool"
        env = {"DOCKER_HOST": lab.docker_host, "OCITOOL_CONFIG": str(home / "none.toml")}
        socket = Path(lab.docker_host.removeprefix("unix://"))
        assert (socket.stat().st_uid, socket.stat().st_mode & 0o777) == (0, 0o660)

        closed = as_user([str(ocitool), "-b", "docker", "images"], home, **env)
        assert closed.returncode == 5, closed.stderr
        assert f"a directory on the way to it is closed to {UNPRIVILEGED}" in closed.stderr

        mode = lab.work.stat().st_mode & 0o777
        os.chmod(lab.work, 0o711)  # noqa: S103 - the way open, the socket still closed
        try:
            proc = as_user([str(ocitool), "-b", "docker", "images"], home, **env)
        finally:
            os.chmod(lab.work, mode)
        assert proc.returncode == 5 and proc.stdout == ""
        lines = proc.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("ocitool: error: docker: permission denied")
        line = lines[0]
        assert "owned by root:docker with mode 660" in line
        assert f"{UNPRIVILEGED} is not in group docker" in line
        assert f"sudo usermod -aG docker {UNPRIVILEGED}" in line
        assert "--backend podman" in line and "--backend oci" in line
        assert "is dockerd running" not in line
