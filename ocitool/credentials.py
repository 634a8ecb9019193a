"""Registry credentials, kept where and how docker, podman and skopeo keep them.

Two files name them: the containers auth.json (podman, skopeo, buildah) and
docker's config.json. Either may hand a registry to a credential helper
(`credHelpers` per registry; docker's config also `credsStore` for all), a
`docker-credential-NAME` program that keeps the secret in a keychain and
speaks docker's protocol on stdin: `get` (the server URL in, a JSON
{ServerURL, Username, Secret} out), `store` (that JSON in) and `erase`.

- login: every helper that applies gets the secret; docker's config then
  keeps only an empty entry for the registry, as `docker login` writes it.
  Plaintext (`auth`, base64 of USER:PASSWORD) is written only when no helper
  applies, to both files as before.
- lookup: auth.json first, then docker's config (containers/image's order);
  in each, the file's helper for the registry wins over its `auths`.
  An `identitytoken` (or a helper's `<token>` user) comes back as
  (TOKEN_USER, token), which ocitool.registry trades for a bearer token.
- Docker Hub is filed as docker files it, `https://index.docker.io/v1/`, in
  docker's config, and as `docker.io` in auth.json, as podman files it; any
  spelling of it is found.

Files are written whole and atomically, mode 0600; a secret goes to a helper
only through its stdin, and is never in argv or output.
"""

from __future__ import annotations

import base64
import json
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from ocitool.errors import AuthenticationFailed, BackendUnavailable, UsageError
from ocitool.registry import TOKEN_USER, is_docker_hub

if TYPE_CHECKING:
    from ocitool.runner import Runner

HUB_KEY = "https://index.docker.io/v1/"  # the key docker files Docker Hub under
_HELPER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_NOT_FOUND = "credentials not found"  # what the helpers print for an unknown server URL


class Place(NamedTuple):
    """One credential file's view of one registry."""

    path: Path
    key: str  # the name the file keeps the registry under
    helper: str | None  # the credential helper the file sends this registry to
    docker: bool  # docker's config.json (which marks helper-held logins with an empty entry)


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


def places(registry: str) -> list[Place]:
    """Where `registry`'s credentials live: auth.json, then docker's config.json."""
    hub = is_docker_hub(registry)
    found = []
    for path, docker in ((containers_auth_file(), False), (docker_config_file(), True)):
        doc = _read(path)
        key = (HUB_KEY if docker else "docker.io") if hub else registry
        helpers = _section(doc, "credHelpers")
        named = _matching(helpers, registry)
        helper = helpers[named] if named is not None else None
        if helper is None and docker:
            helper = doc.get("credsStore") or None  # containers/image has no credsStore
        found.append(Place(path, key, _helper_name(helper, path) if helper else None, docker))
    return found


def save(registry: str, user: str, password: str, *, runner: Runner | None = None) -> list[str]:
    """Keep the credentials for `registry`; where they went (helpers and files)."""
    all_places = places(registry)
    helpers = {(p.helper, p.key) for p in all_places if p.helper}
    saved = []
    for helper, key in sorted(helpers):
        _helper(
            helper,
            "store",
            json.dumps({"ServerURL": key, "Username": user, "Secret": password}),
            runner,
        )
        saved.append(f"docker-credential-{helper}")
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    for place in all_places:
        doc = _read(place.path)
        auths = _section(doc, "auths")
        stale = _drop(auths, registry)
        if not helpers:
            auths[place.key] = {"auth": token}
        elif place.helper and place.docker:
            auths[place.key] = {}  # docker's own mark of a login its helper holds
        elif not stale:
            continue  # a file that keeps nothing for this registry stays as it is
        doc["auths"] = auths
        _write(place.path, doc)
        if not helpers:
            saved.append(str(place.path))
    return list(dict.fromkeys(saved))


def remove(registry: str, *, runner: Runner | None = None) -> bool:
    """Forget `registry` in both files and their helpers; whether any had it."""
    found = False
    erased: set[tuple[str, str]] = set()
    for place in places(registry):
        if place.helper and (place.helper, place.key) not in erased:
            erased.add((place.helper, place.key))
            found = _helper(place.helper, "erase", place.key, runner) is not None or found
        doc = _read(place.path)
        auths = doc.get("auths")
        if isinstance(auths, dict) and _drop(auths, registry):
            _write(place.path, doc)
            found = True
    return found


def lookup(registry: str, *, runner: Runner | None = None) -> tuple[str, str] | None:
    """(user, password) for `registry`, or (TOKEN_USER, identity token), or None."""
    for place in places(registry):
        if place.helper:
            answer = _helper(place.helper, "get", place.key, runner)
            if answer is None:
                continue
            try:
                doc = json.loads(answer)
                user, secret = str(doc["Username"]), str(doc["Secret"])
            except (ValueError, KeyError, TypeError) as exc:
                raise AuthenticationFailed(
                    f"docker-credential-{place.helper} answered 'get' with something that is"
                    " not its protocol's JSON",
                    hint=f"check the helper, or remove it from {place.path}",
                ) from exc
            if secret:
                return user, secret
            continue
        auths = _read(place.path).get("auths")
        named = _matching(auths, registry) if isinstance(auths, dict) else None
        entry = auths[named] if auths and named is not None else None
        if isinstance(entry, dict):
            found = _decoded(entry)
            if found:
                return found
    return None


def _section(doc: dict[str, Any], name: str) -> dict[str, Any]:
    found = doc.get(name)
    return found if isinstance(found, dict) else {}


def _decoded(entry: dict[str, Any]) -> tuple[str, str] | None:
    if entry.get("identitytoken"):
        return TOKEN_USER, str(entry["identitytoken"])
    if not entry.get("auth"):
        return None
    try:
        user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
    except (ValueError, UnicodeDecodeError, TypeError):
        return None
    return (user, password) if password else None


def _helper(name: str, action: str, stdin: str, runner: Runner | None) -> str | None:
    """Run `docker-credential-NAME ACTION` with `stdin`; its stdout, or None for
    'not found'. The secret is only ever in stdin and stdout, never logged."""
    from ocitool.runner import Runner

    program = f"docker-credential-{name}"
    try:
        result = (runner or Runner()).run([program, action], input=stdin)
    except BackendUnavailable as exc:
        raise BackendUnavailable(
            "credentials",
            f"the credential helper {program} is not installed or cannot run",
            hint=f"install {program}, or remove it from credHelpers/credsStore in"
            f" {docker_config_file()} or {containers_auth_file()}",
        ) from exc
    if result.ok:
        return result.stdout
    lines = (result.stdout.strip() or result.stderr.strip()).splitlines() or [""]
    said = " ".join(lines[-1].split())  # a helper's own error is its last line
    if _NOT_FOUND in said.lower():
        return None
    raise AuthenticationFailed(
        f"{program} {action} failed: {said[:200] or f'exit code {result.returncode}'}",
        hint="check the helper (is its keychain unlocked?), or remove it from the config",
    )


def _helper_name(name: object, path: Path) -> str:
    """A helper is a program name on PATH, never a path."""
    if not isinstance(name, str) or not _HELPER_NAME.match(name):
        raise UsageError(
            f"{path} names the credential helper {name!r}, which is not a helper's name",
            hint="credHelpers and credsStore take NAME, for the program docker-credential-NAME",
        )
    return name


def _normal(key: str) -> str:
    """A key's registry, as docker and containers/image match them: no scheme, no path."""
    host = key.split("://", 1)[-1].split("/", 1)[0]
    return "docker.io" if is_docker_hub(host) else host


def _matching(entries: Any, registry: str) -> str | None:
    """The key in `entries` that names `registry`: the exact one first."""
    if not isinstance(entries, dict):
        return None
    if registry in entries:
        return registry
    wanted = _normal(registry)
    return next((k for k in entries if isinstance(k, str) and _normal(k) == wanted), None)


def _drop(auths: dict[str, Any], registry: str) -> bool:
    """Remove every spelling of `registry` from `auths`; whether there was one."""
    keys = [k for k in auths if isinstance(k, str) and _normal(k) == _normal(registry)]
    for key in keys:
        del auths[key]
    return bool(keys)


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
