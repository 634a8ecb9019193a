"""A small client for the registry HTTP API (distribution v2), for what no tool does.

`login` checks credentials against `/v2/`, `search` lists `/v2/_catalog` and
tags, and the copy commands ask whether a destination tag exists. Basic auth
and bearer tokens are both handled; credentials come from ocitool.credentials
and never appear in argv or output. The host is checked by the reference
grammar's host rule before any URL is built, Docker Hub's name is mapped to
its API host as the engines do, and every request is bounded by the same
limit as an engine call (OCITOOL_TIMEOUT, or the config's `timeout`).
Connections are kept and tokens cached per scope by ocitool.connections;
client certificates come from the host's certs.d directory
(docs/registry-client.md).
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import re
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ocitool.connections import (
    Connections,
    cached_token,
    keep_challenge,
    keep_token,
    known_challenge,
    scope_of,
)
from ocitool.errors import (
    AuthenticationFailed,
    BackendUnavailable,
    EngineTimeout,
    ImageNotFound,
    NotSupported,
    OcitoolError,
    UsageError,
)
from ocitool.references import validate_registry_host

# Docker Hub's names, and the host its registry API answers on (as docker and
# containers/image map them: docker.io is the index's name, not an API host).
HUB_NAMES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
HUB_API_HOST = "registry-1.docker.io"
MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]
)
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')
TOKEN_USER = "<token>"  # noqa: S105 - the user name an identity token is kept under


@dataclass(frozen=True)
class Tls:
    """How to reach a registry: verify its certificate (with extra CAs), or not at all."""

    verify: bool = True
    cert_dir: Path | None = None


def is_docker_hub(host: str) -> bool:
    return host in HUB_NAMES


class Registry:
    def __init__(
        self,
        host: str,
        *,
        tls: Tls,
        credentials: tuple[str, str] | None,
        timeout: float | None = None,
    ) -> None:
        from ocitool.runner import default_timeout

        self.host = validate_registry_host(host)
        self.api_host = HUB_API_HOST if is_docker_hub(host) else host
        self.tls = tls
        self.credentials = credentials
        self.timeout = default_timeout() if timeout is None else timeout
        self._token: str | None = None
        self._scheme: str | None = None
        self._connections: Connections | None = None

    # -- the API calls ocitool needs ---------------------------------------------

    def check_login(self) -> None:
        """Raise AuthenticationFailed unless the credentials open `/v2/`."""
        status, _, _ = self._request("/v2/", allow={200, 401})
        if status == 401:
            raise AuthenticationFailed(
                f"{self.host} rejected the username or password",
                hint="check them; the password is read from stdin (--password-stdin)",
            )

    def catalog(self, limit: int = 1000) -> list[str]:
        """Every repository the registry will list (following its pagination)."""
        if is_docker_hub(self.host):
            raise NotSupported(
                "Docker Hub has no catalog to list: its registry API has no /v2/_catalog",
                hint="search Hub through an engine's search (ocitool search TERM on a backend"
                " that can), or name a repository to list its tags: --tags docker.io/REPO",
            )
        repositories: list[str] = []
        path = f"/v2/_catalog?n={min(limit, 1000)}"
        while path and len(repositories) < limit:
            status, body, headers = self._request(path, allow={200, 403, 404})
            if status != 200:
                raise NotSupported(
                    f"{self.host} does not allow listing its catalog (HTTP {status})",
                    hint="name a repository to list its tags: --tags HOST/REPO",
                )
            repositories += _document(self.host, path, body).get("repositories") or []
            path = _next_link(headers.get("Link", ""))
        return repositories[:limit]

    def tags(self, repository: str) -> list[str]:
        path = f"/v2/{self._api_path(repository)}/tags/list"
        status, body, _ = self._request(path, allow={200, 404})
        if status == 404:
            raise ImageNotFound([f"{self.host}/{repository}"], backend="registry")
        return list(_document(self.host, path, body).get("tags") or [])  # a deleted tag: null

    def has_manifest(self, repository: str, reference: str) -> bool:
        return self._manifest_head(repository, reference)[0] == 200

    def manifest_digest(self, repository: str, reference: str) -> str | None:
        """The digest the registry serves the manifest under (Docker-Content-Digest)."""
        status, headers = self._manifest_head(repository, reference)
        found = {k.lower(): v for k, v in headers.items()}.get("docker-content-digest")
        return found if status == 200 and found and found.startswith("sha256:") else None

    def _manifest_head(self, repository: str, reference: str) -> tuple[int, dict[str, str]]:
        status, _, headers = self._request(
            f"/v2/{self._api_path(repository)}/manifests/{reference}",
            method="HEAD",
            allow={200, 404},
            accept=MANIFEST_TYPES,
        )
        return status, headers

    def _api_path(self, repository: str) -> str:
        """Docker Hub keeps its official images under library/, as engines spell them."""
        if is_docker_hub(self.host) and "/" not in repository:
            return f"library/{repository}"
        return repository

    # -- HTTP -------------------------------------------------------------------

    def _request(
        self,
        path: str,
        *,
        allow: set[int],
        method: str = "GET",
        accept: str | None = None,
    ) -> tuple[int, bytes, dict[str, str]]:
        self._token = self._known_authorization(path, method)
        for attempt in range(2):
            status, body, headers = self._send(path, method, accept)
            if status == 401 and attempt == 0 and self._authorize(headers, path, method):
                continue
            break
        if status not in allow:
            if status == 401:
                where = path.split("?", maxsplit=1)[0]
                if self.credentials is not None:
                    raise AuthenticationFailed(
                        f"{self.host} refused the saved credentials for {where}",
                        hint=f"log in again: ocitool login {self.host} -u USER --password-stdin",
                    )
                raise AuthenticationFailed(
                    f"{self.host} requires a login for {where}",
                    hint=f"ocitool login {self.host} -u USER --password-stdin",
                )
            raise OcitoolError(f"{self.host} answered HTTP {status} for {path}")
        return status, body, headers

    def _send(
        self, path: str, method: str, accept: str | None
    ) -> tuple[int, bytes, dict[str, str]]:
        headers = {"Accept": accept} if accept else {}
        if self._token:
            headers["Authorization"] = self._token
        for scheme in self._schemes():
            url = f"{scheme}://{self.api_host}{path}"
            request = _http_request(url, method=method, headers=headers)
            try:
                with self._pool().opener.open(request, timeout=self.timeout) as reply:
                    self._scheme = scheme
                    return reply.status, reply.read(), dict(reply.headers)
            except urllib.error.HTTPError as error:
                self._scheme = scheme
                return error.code, error.read(), dict(error.headers)
            except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
                reason = getattr(error, "reason", error)
                if isinstance(reason, TimeoutError):
                    raise RegistryTimeout(self.host, self.timeout) from error
                if scheme == "https" and not self.tls.verify and _plain_http(reason):
                    continue  # an insecure registry may speak plain HTTP
                raise _unreachable(self.host, reason) from error
        raise _unreachable(self.host, "no scheme worked")

    def _schemes(self) -> list[str]:
        if self._scheme:
            return [self._scheme]
        return ["https", "http"] if not self.tls.verify else ["https"]

    def _pool(self) -> Connections:
        """This registry's kept-alive connections (ocitool.connections)."""
        if self._connections is None:
            self._connections = Connections(self._context())
        return self._connections

    def _context(self) -> ssl.SSLContext:
        if not self.tls.verify:
            context = ssl._create_unverified_context()  # noqa: S323 - the user asked: --tls-verify=false
        else:
            context = ssl.create_default_context()
            for ca in _ca_files(self.host, self.tls.cert_dir):
                context.load_verify_locations(cafile=str(ca))
        client = _client_certificate(self.host, self.tls.cert_dir)
        if client is not None:
            try:
                context.load_cert_chain(str(client[0]), str(client[1]))
            except (ssl.SSLError, OSError) as exc:
                raise UsageError(
                    f"cannot use the client certificate {client[0]} with {client[1]}: {exc}",
                    hint="the .cert must be a PEM certificate and the .key its PEM private key",
                ) from exc
        return context

    def _login(self) -> str:
        """Which login a token was given for (a digest of it, for the token cache)."""
        if self.credentials is None:
            return ""
        user, secret = self.credentials
        return f"{user}:{hashlib.sha256(secret.encode()).hexdigest()[:16]}"

    def _basic(self) -> str | None:
        if self.credentials is None or self.credentials[0] == TOKEN_USER:
            return None
        user, password = self.credentials
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def _known_authorization(self, path: str, method: str) -> str | None:
        """What to send with a request before the registry asks: Basic to a registry
        that asked for it, a kept token for the scope, or a new one from the token
        service the registry named (2 round trips, not 401, token, retry)."""
        challenge = known_challenge(self.api_host, self._login())
        if challenge is None:
            return None
        if challenge.split(" ", 1)[0].lower() == "basic":
            return self._basic()
        scope = scope_of(path, method)
        if scope is None:
            return None
        return cached_token(self.api_host, self._login(), scope) or self._bearer(challenge, scope)

    def _authorize(self, headers: dict[str, str], path: str = "", method: str = "GET") -> bool:
        """Answer a 401 challenge: Basic directly, Bearer through the token service."""
        challenge = headers.get("WWW-Authenticate") or headers.get("Www-Authenticate") or ""
        kind = challenge.split(" ", 1)[0].lower()
        if kind in ("basic", "bearer"):
            keep_challenge(self.api_host, self._login(), challenge)
        if kind == "basic":
            basic = self._basic()
            fresh = basic is not None and self._token != basic
            self._token = basic or self._token
            return fresh
        header = (
            self._bearer(challenge, None, also=scope_of(path, method)) if kind == "bearer" else None
        )
        if header is None or header == self._token:
            return False
        self._token = header
        return True

    def _bearer(self, challenge: str, scope: str | None, *, also: str | None = None) -> str | None:
        """`Bearer TOKEN` from the registry's token service (realm, service, scope),
        kept for the scope asked (ocitool.connections)."""
        params = dict(_CHALLENGE.findall(challenge))
        realm = params.pop("realm", "")
        if not realm.startswith(("https://", "http://")):
            return None
        if scope is not None:
            params["scope"] = scope
        if self.credentials is not None and self.credentials[0] == TOKEN_USER:
            # an identity token is an OAuth2 refresh token: POSTed, as docker does
            form = {**params, "grant_type": "refresh_token", "client_id": "ocitool"}
            form["refresh_token"] = self.credentials[1]
            request = _http_request(
                realm,
                method="POST",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                data=urllib.parse.urlencode(form).encode(),
            )
        else:
            basic = self._basic()
            request = _http_request(
                realm + "?" + urllib.parse.urlencode(params),
                headers={"Authorization": basic} if basic else {},
            )
        try:
            with self._pool().opener.open(request, timeout=self.timeout) as reply:
                doc: Any = json.loads(reply.read())
        except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError):
            return None
        if not isinstance(doc, dict):
            return None
        token = doc.get("token") or doc.get("access_token")
        if not token:
            return None
        header = f"Bearer {token}"
        scopes = [s for s in (params.get("scope"), also) if s]
        keep_token(self.api_host, self._login(), scopes, header, doc.get("expires_in"))
        return header


def _http_request(
    url: str, *, method: str = "GET", headers: dict[str, str], data: bytes | None = None
) -> urllib.request.Request:
    if not url.startswith(("https://", "http://")):
        raise OcitoolError(f"refusing to fetch {url!r}: only http and https are used")
    return urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 - checked above


class RegistryTimeout(EngineTimeout):
    """A registry that took longer than the limit to connect or to answer (exit 7)."""

    def __init__(self, host: str, timeout: float) -> None:
        super().__init__([host], timeout)
        self.message = f"{host} did not answer within {timeout:g}s"
        self.hint = "raise the limit with OCITOOL_TIMEOUT=SECONDS, or check the registry"
        self.args = (self.message,)


def _document(host: str, path: str, body: bytes) -> dict[str, Any]:
    """A JSON object from the registry, or one error naming what it answered instead."""
    try:
        doc = json.loads(body or b"{}")
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        raise OcitoolError(
            f"{host} answered {path.split('?', maxsplit=1)[0]} with something that is not a"
            " registry's JSON",
            hint="check that HOST is a registry (distribution v2)",
        )
    return doc


def _cert_dirs(host: str, cert_dir: Path | None) -> list[Path]:
    """--cert-dir, then where podman and docker look for this host's (certs.d(5))."""
    dirs = [cert_dir] if cert_dir else []
    dirs += [Path("/etc/containers/certs.d") / host, Path("/etc/docker/certs.d") / host]
    return [d for d in dirs if d.is_dir()]


def _ca_files(host: str, cert_dir: Path | None) -> list[Path]:
    """The CAs (*.crt) of the host's certificate directories."""
    return [ca for d in _cert_dirs(host, cert_dir) for ca in sorted(d.glob("*.crt"))]


def _client_certificate(host: str, cert_dir: Path | None) -> tuple[Path, Path] | None:
    """The first client certificate (NAME.cert, with its key NAME.key) of the host's
    certificate directories, as containers-certs.d(5) and docker keep them."""
    for directory in _cert_dirs(host, cert_dir):
        for cert in sorted(directory.glob("*.cert")):
            key = cert.with_suffix(".key")
            if not key.is_file():
                raise UsageError(
                    f"the client certificate {cert} has no key {key.name} beside it",
                    hint="put its key beside it as NAME.key (a CA is NAME.crt)",
                )
            return cert, key
    return None


def _plain_http(reason: object) -> bool:
    text = str(reason)
    return "WRONG_VERSION_NUMBER" in text or "wrong version number" in text or "EOF" in text


def _unreachable(host: str, reason: object) -> OcitoolError:
    text = str(reason)
    if "WRONG_VERSION_NUMBER" in text or "wrong version number" in text:
        return OcitoolError(
            f"{host} does not speak TLS; it may be a plain-HTTP registry ({text})",
            hint="use --tls-verify=false, or list it in insecure_registries in the config",
        )
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return OcitoolError(
            f"{host}'s TLS certificate is not trusted ({text})",
            hint="give its CA with --cert-dir DIR, or use --tls-verify=false on a trusted network",
        )
    return BackendUnavailable(
        "registry",
        f"{host} is not reachable ({text})",
        hint="is the registry running? check the host and port",
    )


def _next_link(header: str) -> str:
    match = re.search(r"<([^>]+)>", header)
    if not match:
        return ""
    url = urllib.parse.urlparse(match.group(1))
    return f"{url.path}?{url.query}" if url.query else url.path
