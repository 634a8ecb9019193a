"""Image references, image IDs and container names, checked before any engine sees them.

Every IMAGE or CONTAINER argument passes through here first, so a user string can
never reach an engine's argv as an option (``-rf``, ``--privileged``): nothing this
module accepts can start with ``-``, contain whitespace or control characters, or
fall outside the grammar of github.com/distribution/reference::

    reference        := name [ ":" tag ] [ "@" digest ]
    name             := [domain '/'] remote-name
    domain           := host [':' port-number]
    host             := domain-name | IPv4address | \\[ IPv6address \\]
    domain-name      := domain-component ['.' domain-component]*
    domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
    port-number      := /[0-9]+/
    path-component   := alpha-numeric [separator alpha-numeric]*
    remote-name      := path-component ['/' path-component]*
    alpha-numeric    := /[a-z0-9]+/
    separator        := /[_.]|__|[-]+/
    tag              := /[\\w][\\w.-]{0,127}/
    digest           := algorithm ":" hex

A registry HOST[:PORT] given on its own (login, logout, search --registry, the
config) is checked by the same host rule (validate_registry_host), and every
host, in a reference or alone, also keeps to what DNS and TCP allow: labels of
at most 63 characters and ports 1-65535.

The parser walks the reference piece by piece so each rejection can say exactly
what is wrong; a final match against the whole grammar guards against any gap
between the two. Only ``re``, ``pydantic`` and ``ocitool.errors`` are imported so
the CLI stays fast to start.
"""

from __future__ import annotations

import re

from ocitool.errors import InvalidReference, UsageError

__all__ = [
    "CONTAINER_NAME_RE",
    "IMAGE_ID_RE",
    "NAME_TOTAL_LENGTH_MAX",
    "REFERENCE_RE",
    "TAG_LENGTH_MAX",
    "ImageRef",
    "is_image_id",
    "looks_like_domain",
    "validate_container_name",
    "validate_image_arg",
    "validate_registry_host",
]

#: The longest name (domain + '/' + path) distribution/reference accepts.
NAME_TOTAL_LENGTH_MAX = 255
#: The longest tag the grammar allows (one leading character plus 127).
TAG_LENGTH_MAX = 128

# Building blocks, as in distribution/reference regexp.go. Character classes are
# spelled out (no \w, no \d) so Unicode letters and digits can never match.
_ALPHANUMERIC = r"[a-z0-9]+"
_SEPARATOR = r"(?:[_.]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALPHANUMERIC}(?:{_SEPARATOR}{_ALPHANUMERIC})*"
_REMOTE_NAME = rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_IPV6_ADDRESS = r"\[[a-fA-F0-9:]+\]"
_HOST = rf"(?:{_DOMAIN_NAME}|{_IPV6_ADDRESS})"
_PORT = r"[0-9]+"
_DOMAIN = rf"{_HOST}(?::{_PORT})?"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_ALGORITHM_COMPONENT = r"[A-Za-z][A-Za-z0-9]*"
_ALGORITHM = rf"{_ALGORITHM_COMPONENT}(?:[+._-]{_ALGORITHM_COMPONENT})*"
_HEX = r"[0-9a-fA-F]{32,}"
_DIGEST = rf"{_ALGORITHM}:{_HEX}"

# Every exported pattern is anchored with \A...\Z, so .match(), .search() and
# .fullmatch() all demand the whole string, and a trailing newline never slips by.
REFERENCE_RE = re.compile(
    rf"\A(?P<name>(?:{_DOMAIN}/)?{_REMOTE_NAME})"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?\Z"
)
IMAGE_ID_RE = re.compile(r"\Asha256:[0-9a-f]{64}\Z")
CONTAINER_NAME_RE = re.compile(r"\A[a-zA-Z0-9][a-zA-Z0-9_.-]*\Z")

_PATH_COMPONENT_RE = re.compile(rf"\A{_PATH_COMPONENT}\Z")
_PATH_CHARS_RE = re.compile(r"\A[a-z0-9._-]*\Z")
_DOMAIN_NAME_RE = re.compile(rf"\A{_DOMAIN_NAME}\Z")
_IPV6_HOST_RE = re.compile(rf"\A{_IPV6_ADDRESS}\Z")
_PORT_RE = re.compile(rf"\A{_PORT}\Z")
_TAG_RE = re.compile(rf"\A{_TAG}\Z")
_TAG_CHARS_RE = re.compile(r"\A[A-Za-z0-9_.-]*\Z")
_ALGORITHM_RE = re.compile(rf"\A{_ALGORITHM}\Z")
_HEX_RE = re.compile(rf"\A{_HEX}\Z")
_LOWER_HEX_RE = re.compile(r"\A[0-9a-f]*\Z")
# Whitespace (including Unicode spaces) and C0/C1 control characters.
_UNSAFE_CHAR_RE = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")
_NON_ASCII_RE = re.compile(r"[^\x00-\x7f]")

# OCI image-spec registered algorithms with a fixed encoded length.
_DIGEST_HEX_LENGTHS = {"sha256": 64, "sha512": 128}

_OPTION_REASON = "starts with '-', so an engine would read it as an option"
_HOST_HINT = (
    "write HOST[:PORT]: a DNS name, an IPv4 address or a bracketed IPv6 address,"
    " e.g. registry.example.com or 127.0.0.1:5000"
)
#: The longest DNS label and name (RFC 1035), and the highest TCP port.
_LABEL_MAX = 63
_HOST_LENGTH_MAX = 253
_PORT_MAX = 65535
_CONTAINER_HINT = "container names use letters, digits, '_', '.' and '-', and cannot start with '-'"


def _check_safe_text(text: str, what: str) -> None:
    """Reject what could never be a name, with the reason that matters most first.

    The leading '-' check comes before everything else because it is the one that
    stops option injection, and its message should say so.
    """
    if not text:
        raise InvalidReference(text, f"{what} is empty")
    if text.startswith("-"):
        raise InvalidReference(text, _OPTION_REASON)
    unsafe = _UNSAFE_CHAR_RE.search(text)
    if unsafe:
        raise InvalidReference(
            text,
            f"contains whitespace or a control character ({unsafe.group()!r}"
            f" at position {unsafe.start()})",
        )
    non_ascii = _NON_ASCII_RE.search(text)
    if non_ascii:
        raise InvalidReference(
            text,
            f"contains a non-ASCII character ({non_ascii.group()!r} at position"
            f" {non_ascii.start()})",
        )


def looks_like_domain(component: str) -> bool:
    """The rule docker uses to tell 'registry/repo' from 'namespace/repo'."""
    return (
        "." in component
        or ":" in component
        or component == "localhost"
        or component.startswith("[")
    )


def _domain_problem(domain: str) -> str | None:
    """What is wrong with host[:port] (a DNS name, an IPv4 address or [IPv6]), or None.

    Beyond the grammar, a DNS label holds at most 63 characters (RFC 1035) and a
    port is 1-65535, so nothing that passes can fail later inside urllib or an engine.
    """
    if domain.startswith("["):
        end = domain.find("]")
        host, rest = (domain, "") if end < 0 else (domain[: end + 1], domain[end + 1 :])
        if not _IPV6_HOST_RE.fullmatch(host):
            return f"registry host {host!r} is not a bracketed IPv6 address like [::1]"
        if rest and not rest.startswith(":"):
            return f"unexpected {rest!r} after registry host {host!r}"
        port = rest[1:] if rest else None
    else:
        host, sep, port_text = domain.partition(":")
        port = port_text if sep else None
        if not _DOMAIN_NAME_RE.fullmatch(host):
            bad = next((c for c in host if not (c.isascii() and (c.isalnum() or c in ".-"))), None)
            detail = f"it contains {bad!r}; " if bad else ""
            return (
                f"registry host {_shown(host)} is invalid: {detail}use dot-separated letters,"
                " digits and '-', not starting or ending with '-'"
            )
        long_label = next((label for label in host.split(".") if len(label) > _LABEL_MAX), None)
        if long_label is not None:
            return (
                f"registry host label {_shown(long_label)} is {len(long_label)} characters"
                f" long; at most {_LABEL_MAX} are allowed"
            )
    return None if port is None else _port_problem(port)


def _port_problem(port: str) -> str | None:
    if not _PORT_RE.fullmatch(port):
        return f"registry port {_shown(port)} must be digits only"
    if not 0 < int(port) <= _PORT_MAX:
        return f"registry port {port} is out of range (1-{_PORT_MAX})"
    return None


def _check_domain(text: str, domain: str) -> None:
    """Validate host[:port] inside a reference."""
    problem = _domain_problem(domain)
    if problem:
        raise InvalidReference(text, problem)


def _shown(text: str, limit: int = 80) -> str:
    """A user's string quoted for a message, cut short so a line stays readable."""
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}..."


def validate_registry_host(text: str) -> str:
    """Check a registry HOST[:PORT] (login, logout, search --registry, the config) before
    it reaches a URL, a credentials file or an engine, and return it unchanged.

    The same host rule as a reference's domain, so '#', '?', '/', spaces, control
    characters, non-ASCII text, over-long labels and a leading '-' never get through.
    """
    problem: str | None = None
    if not text:
        problem = "it is empty"
    elif text.startswith("-"):
        problem = _OPTION_REASON
    elif (unsafe := _UNSAFE_CHAR_RE.search(text)) is not None:
        problem = f"it contains whitespace or a control character ({unsafe.group()!r})"
    elif (non_ascii := _NON_ASCII_RE.search(text)) is not None:
        problem = f"it contains a non-ASCII character ({non_ascii.group()!r})"
    elif "://" in text:
        problem = "give the host without a scheme such as https://"
    elif "/" in text:
        problem = "it contains '/'; give the host alone, without a repository or path"
    elif len(text) > _HOST_LENGTH_MAX:
        problem = f"it is {len(text)} characters long; at most {_HOST_LENGTH_MAX} are allowed"
    elif (problem := _domain_problem(text)) is not None:
        # The host is named at the start of the line already.
        problem = problem.removeprefix("registry ")
        if problem.startswith("host ") and " is invalid: " in problem:
            problem = problem.split(" is invalid: ", 1)[1]
    if problem:
        raise UsageError(f"invalid registry host {_shown(text)}: {problem}", hint=_HOST_HINT)
    return text


def _check_path(text: str, path: str) -> None:
    """Validate the repository path: lowercase components joined by single '/'."""
    if path != path.lower():
        raise InvalidReference(text, "repository name must be lowercase")
    for component in path.split("/"):
        if not component:
            raise InvalidReference(
                text, "repository name has an empty component (leading, trailing or double '/')"
            )
        if not _PATH_CHARS_RE.fullmatch(component):
            bad = next(c for c in component if not _PATH_CHARS_RE.fullmatch(c))
            raise InvalidReference(
                text,
                f"repository name contains {bad!r}; only lowercase letters, digits,"
                " '.', '_' and '-' are allowed",
            )
        if not _PATH_COMPONENT_RE.fullmatch(component):
            raise InvalidReference(
                text,
                f"repository name component {component!r} is invalid: it must start and"
                " end with a letter or digit, with single separators '.', '_', '__' or"
                " '-' between them",
            )


def _check_tag(text: str, tag: str) -> None:
    """Validate a tag: up to 128 of [A-Za-z0-9_.-], not starting with '.' or '-'."""
    if not tag:
        raise InvalidReference(text, "tag is empty after ':'")
    if len(tag) > TAG_LENGTH_MAX:
        raise InvalidReference(
            text, f"tag is {len(tag)} characters long; at most {TAG_LENGTH_MAX} are allowed"
        )
    if not _TAG_CHARS_RE.fullmatch(tag):
        raise InvalidReference(
            text, f"tag {tag!r} may contain only letters, digits, '_', '.' and '-'"
        )
    if not _TAG_RE.fullmatch(tag):
        raise InvalidReference(text, f"tag {tag!r} must start with a letter, digit or '_'")


def _check_digest(text: str, digest: str) -> None:
    """Validate ALGORITHM:HEX, holding sha256 and sha512 to their exact lengths."""
    if not digest:
        raise InvalidReference(text, "digest is empty after '@'")
    algorithm, sep, hex_part = digest.partition(":")
    if not sep:
        raise InvalidReference(
            text, f"digest {digest!r} must be ALGORITHM:HEX, e.g. sha256:<64 hex characters>"
        )
    if not _ALGORITHM_RE.fullmatch(algorithm):
        raise InvalidReference(
            text,
            f"digest algorithm {algorithm!r} is invalid: use letters and digits starting"
            " with a letter, e.g. sha256",
        )
    expected = _DIGEST_HEX_LENGTHS.get(algorithm)
    if expected is not None:
        if len(hex_part) != expected or not _LOWER_HEX_RE.fullmatch(hex_part):
            raise InvalidReference(
                text,
                f"{algorithm} digest must be exactly {expected} lowercase hex characters"
                f" (got {len(hex_part)} characters)",
            )
    elif not _HEX_RE.fullmatch(hex_part):
        raise InvalidReference(
            text,
            f"digest {digest!r} must end in at least 32 hex characters after '{algorithm}:'",
        )


def _parse_parts(text: str) -> tuple[str | None, str, str | None, str | None]:
    """Split and validate a reference into (domain, path, tag, digest), or raise."""
    _check_safe_text(text, "reference")

    rest, at, digest = text.partition("@")
    if at and "@" in digest:
        raise InvalidReference(text, "contains more than one '@'")

    # A ':' after the last '/' introduces the tag; one before it belongs to the
    # registry (host:port or an IPv6 address).
    colon = rest.rfind(":")
    if colon > rest.rfind("/"):
        name, tag = rest[:colon], rest[colon + 1 :]
    else:
        name, tag = rest, None

    if not name:
        raise InvalidReference(text, "image name is empty")
    if len(name) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidReference(
            text,
            f"image name is {len(name)} characters long; at most {NAME_TOTAL_LENGTH_MAX}"
            " are allowed",
        )

    first, slash, remainder = name.partition("/")
    if slash and looks_like_domain(first):
        domain: str | None = first
        path = remainder
        _check_domain(text, first)
    else:
        domain, path = None, name
    _check_path(text, path)
    if tag is not None:
        _check_tag(text, tag)
    if at:
        _check_digest(text, digest)

    # Defence in depth: whatever the step-by-step checks let through must also
    # match the grammar as a whole.
    if not REFERENCE_RE.fullmatch(text):
        raise InvalidReference(text, "does not match the image reference grammar")
    return domain, path, tag, (digest if at else None)


class ImageRef:
    """A validated image reference, split into the parts engines and registries use.

    Immutable, so a checked reference cannot be changed into an unchecked one;
    every instance, however built, is validated against the grammar. A plain
    class, so checking a reference needs no pydantic (ocitool.schema describes it).
    """

    __slots__ = ("digest", "domain", "path", "tag")
    domain: str | None
    path: str
    tag: str | None
    digest: str | None

    def __init__(
        self,
        *,
        path: str,
        domain: str | None = None,
        tag: str | None = None,
        digest: str | None = None,
    ) -> None:
        for key, value in (("domain", domain), ("path", path), ("tag", tag), ("digest", digest)):
            object.__setattr__(self, key, value)
        # Re-parse the assembled string, so direct construction cannot skip the checks.
        text = str(self)
        if _parse_parts(text) != (domain, path, tag, digest):
            raise InvalidReference(
                text,
                "parts do not round-trip: the registry must contain '.' or ':' or be"
                " 'localhost', and no part may contain another part's separator",
            )

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError(f"ImageRef is frozen: cannot set {key}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ImageRef) and self._parts() == other._parts()

    def __hash__(self) -> int:
        return hash(self._parts())

    def __repr__(self) -> str:
        return f"ImageRef({str(self)!r})"

    def _parts(self) -> tuple[str | None, str, str | None, str | None]:
        return (self.domain, self.path, self.tag, self.digest)

    @classmethod
    def parse(cls, text: str) -> ImageRef:
        """Parse NAME[:TAG][@DIGEST], raising InvalidReference with the specific problem."""
        domain, path, tag, digest = _parse_parts(text)
        return cls(domain=domain, path=path, tag=tag, digest=digest)

    @property
    def name(self) -> str:
        """The repository name with its registry, as engines and registries key images."""
        return f"{self.domain}/{self.path}" if self.domain is not None else self.path

    def __str__(self) -> str:
        """The reference as the user would write it, so parse(str(ref)) == ref."""
        text = self.name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text

    def with_default_tag(self) -> ImageRef:
        """Add ':latest' when neither tag nor digest is given, as engines do implicitly."""
        if self.tag is not None or self.digest is not None:
            return self
        return type(self)(domain=self.domain, path=self.path, tag="latest", digest=None)


_HUB_PREFIXES = ("docker.io/", "index.docker.io/")
_LOCAL_PREFIX = "localhost/"
_OFFICIAL_PREFIX = "library/"


def familiar(name: str) -> str:
    """A name in its short form, the one `images` shows, so two spellings of one name
    compare equal: hub_short's, and `localhost/` left out, which containers/image
    tools (podman, skopeo) write for a name with no registry and ocitool shows
    short, as docker shows a local name. `localhost:PORT/` is a registry, and stays."""
    if name.startswith(_LOCAL_PREFIX):
        return name.removeprefix(_LOCAL_PREFIX)
    return hub_short(name)


def hub_short(name: str) -> str:
    """docker's familiar form: Docker Hub's `docker.io/` left out, and `library/`
    before an official image's one-part name; any other registry stays (a daemon
    that reads `localhost/` as a registry shows it). Tag and digest stay as given."""
    rest = next((name.removeprefix(p) for p in _HUB_PREFIXES if name.startswith(p)), name)
    official = rest.removeprefix(_OFFICIAL_PREFIX)
    if official != rest and "/" not in official.split("@", 1)[0]:
        return official  # docker.io/library/busybox:1 (or library/busybox:1): busybox:1
    return rest


def is_image_id(text: str) -> bool:
    """True for a full image ID, 'sha256:' plus 64 lowercase hex characters."""
    return IMAGE_ID_RE.fullmatch(text) is not None


def validate_image_arg(text: str) -> str:
    """Check an IMAGE argument before it reaches any engine, and return it unchanged.

    Accepts a full image ID, a bare hex ID or ID prefix (the grammar reads those as
    names) or any valid reference; raises InvalidReference for everything else.
    """
    if is_image_id(text):
        return text
    _parse_parts(text)
    return text


def validate_container_name(text: str) -> str:
    """Check a CONTAINER argument (name or ID) against docker's rule and return it.

    Docker requires [a-zA-Z0-9][a-zA-Z0-9_.-]+; single-character names are allowed
    here too, since they cannot be mistaken for options either.
    """
    try:
        _check_safe_text(text, "container name")
    except InvalidReference as exc:
        raise InvalidReference(text, exc.reason, hint=_CONTAINER_HINT) from None
    if not CONTAINER_NAME_RE.fullmatch(text):
        if not text[0].isalnum():
            reason = f"container name must start with a letter or digit, not {text[0]!r}"
        else:
            bad = next(c for c in text if not (c.isalnum() or c in "_.-"))
            reason = f"container name contains {bad!r}"
        raise InvalidReference(text, reason, hint=_CONTAINER_HINT)
    return text
