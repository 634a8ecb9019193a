"""Registry credentials, kept where the engines and skopeo already look.

`ocitool login` writes the containers auth.json (podman, skopeo, buildah) and
docker's config.json, so every engine can push and pull after one login.
Both files are written whole and atomically, mode 0600; the password is
never in argv and never printed.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ocitool.errors import UsageError


def containers_auth_file() -> Path:
    """containers-auth.json(5)'s default, the same as podman and skopeo use."""
    explicit = os.environ.get("REGISTRY_AUTH_FILE")
    if explicit:
        return Path(explicit)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return Path(runtime) / "containers" / "auth.json"
    if os.geteuid() == 0:
        return Path("/run/containers/0/auth.json")
    return Path.home() / ".config" / "containers" / "auth.json"


def docker_config_file() -> Path:
    return Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker") / "config.json"


def save(registry: str, user: str, password: str) -> list[Path]:
    """Store the credentials for `registry` in both files; returns the files written."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    written = []
    for path in (containers_auth_file(), docker_config_file()):
        doc = _read(path)
        doc.setdefault("auths", {})[registry] = {"auth": token}
        _write(path, doc)
        written.append(path)
    return written


def remove(registry: str) -> bool:
    """Forget `registry` in both files; whether either had it."""
    found = False
    for path in (containers_auth_file(), docker_config_file()):
        doc = _read(path)
        if registry in doc.get("auths", {}):
            del doc["auths"][registry]
            _write(path, doc)
            found = True
    return found


def lookup(registry: str) -> tuple[str, str] | None:
    for path in (containers_auth_file(), docker_config_file()):
        entry = _read(path).get("auths", {}).get(registry) or {}
        if entry.get("auth"):
            try:
                user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                continue
            return user, password
    return None


def _read(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read {path}: {exc}", hint="fix or remove the file") from exc
    return doc if isinstance(doc, dict) else {}


def _write(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(doc, handle, indent="\t")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
