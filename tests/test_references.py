"""Tests for ocitool.references: the grammar, the reasons, and option-injection safety."""

from __future__ import annotations

import pytest

from ocitool.errors import InvalidReference, UsageError
from ocitool.references import (
    CONTAINER_NAME_RE,
    IMAGE_ID_RE,
    REFERENCE_RE,
    ImageRef,
    familiar,
    hub_short,
    is_image_id,
    validate_container_name,
    validate_image_arg,
)

HEX64 = "0123456789abcdef" * 4
HEX128 = HEX64 * 2
SHA256 = f"sha256:{HEX64}"
SHA512 = f"sha512:{HEX128}"

# (reference, domain, path, tag, digest)
GOOD: list[tuple[str, str | None, str, str | None, str | None]] = [
    ("busybox", None, "busybox", None, None),
    ("busybox:1.36", None, "busybox", "1.36", None),
    ("lab/img:first", None, "lab/img", "first", None),
    ("commit_test:first", None, "commit_test", "first", None),
    ("127.0.0.1:5000/lab/dimg:second", "127.0.0.1:5000", "lab/dimg", "second", None),
    ("localhost:5000/a/b", "localhost:5000", "a/b", None, None),
    ("localhost/img", "localhost", "img", None, None),
    ("Registry.Example.COM/ns/repo:v1", "Registry.Example.COM", "ns/repo", "v1", None),
    ("[::1]:5000/foo:bar", "[::1]:5000", "foo", "bar", None),
    ("[::1]/foo", "[::1]", "foo", None, None),
    ("[2001:db8::1]:443/ns/img@" + SHA256, "[2001:db8::1]:443", "ns/img", None, SHA256),
    ("foo__bar", None, "foo__bar", None, None),
    ("foo--bar", None, "foo--bar", None, None),
    ("foo---bar", None, "foo---bar", None, None),
    ("a.b_c-d", None, "a.b_c-d", None, None),
    ("a", None, "a", None, None),
    ("localhost", None, "localhost", None, None),
    ("localhost:5000", None, "localhost", "5000", None),
    ("example.com", None, "example.com", None, None),
    ("docker.io/library/busybox:latest", "docker.io", "library/busybox", "latest", None),
    ("ghcr.io/org/team/app:v1.2.3-rc.1", "ghcr.io", "org/team/app", "v1.2.3-rc.1", None),
    ("my-registry:5000/img", "my-registry:5000", "img", None, None),
    ("a-b.c/img", "a-b.c", "img", None, None),
    ("repo:_tag", None, "repo", "_tag", None),
    ("repo:TAG.With-Mixed_Case", None, "repo", "TAG.With-Mixed_Case", None),
    (f"repo@{SHA256}", None, "repo", None, SHA256),
    (f"repo:tag@{SHA256}", None, "repo", "tag", SHA256),
    (f"repo@{SHA512}", None, "repo", None, SHA512),
    (f"example.com:5000/ns/repo:v2@{SHA512}", "example.com:5000", "ns/repo", "v2", SHA512),
    # Other algorithms follow the grammar: components joined by [+._-], 32+ hex of any case.
    ("repo@sha384:" + "A" * 32, None, "repo", None, "sha384:" + "A" * 32),
    ("repo@multihash+base58:" + "f" * 40, None, "repo", None, "multihash+base58:" + "f" * 40),
    # A bare hex ID is a valid name too.
    (HEX64, None, HEX64, None, None),
    ("3f5a9c", None, "3f5a9c", None, None),
    # Tag at the 128-character limit.
    ("repo:" + "t" * 128, None, "repo", "t" * 128, None),
    # Name at the 255-character limit, with and without a registry.
    ("a" * 255, None, "a" * 255, None, None),
    ("example.com/" + "a" * 243, "example.com", "a" * 243, None, None),
    ("a" * 255 + ":tag", None, "a" * 255, "tag", None),
]


@pytest.mark.parametrize(("text", "domain", "path", "tag", "digest"), GOOD)
def test_parse_good(
    text: str, domain: str | None, path: str, tag: str | None, digest: str | None
) -> None:
    ref = ImageRef.parse(text)
    assert (ref.domain, ref.path, ref.tag, ref.digest) == (domain, path, tag, digest)
    assert ref.name == (f"{domain}/{path}" if domain else path)
    assert str(ref) == text
    assert ImageRef.parse(str(ref)) == ref
    assert validate_image_arg(text) == text
    assert REFERENCE_RE.fullmatch(text)


# (reference, a fragment the reason must contain)
BAD: list[tuple[str, str]] = [
    ("", "empty"),
    ("-rf", "option"),
    ("--privileged", "option"),
    ("-", "option"),
    ("-busybox:latest", "option"),
    ("--rm=true", "option"),
    ("foo:", "tag is empty"),
    (":tag", "name is empty"),
    ("@" + SHA256, "name is empty"),
    ("foo//bar", "empty component"),
    ("foo/", "empty component"),
    ("/foo", "empty component"),
    ("example.com/", "empty component"),
    ("example.com//foo", "empty component"),
    ("foo___bar", "'foo___bar' is invalid"),
    ("foo.-bar", "'foo.-bar' is invalid"),
    ("foo..bar", "'foo..bar' is invalid"),
    ("foo_-bar", "'foo_-bar' is invalid"),
    ("_foo", "'_foo' is invalid"),
    ("foo-", "'foo-' is invalid"),
    (".foo", "'.foo' is invalid"),
    ("foo/.bar", "'.bar' is invalid"),
    ("foo@sha256:123", "64 lowercase hex characters"),
    ("foo@sha256:" + HEX64.upper(), "64 lowercase hex characters"),
    ("foo@sha256:" + HEX64 + "0", "64 lowercase hex characters"),
    ("foo@sha256:" + "g" * 64, "64 lowercase hex characters"),
    ("foo@sha512:" + HEX64, "128 lowercase hex characters"),
    ("foo@", "digest is empty"),
    ("foo@" + HEX64, "ALGORITHM:HEX"),
    ("foo@1sha:" + "a" * 32, "algorithm '1sha' is invalid"),
    ("foo@sha:" + "a" * 31, "at least 32 hex"),
    ("foo@sha:" + "z" * 32, "at least 32 hex"),
    (f"foo@{SHA256}@{SHA256}", "more than one '@'"),
    (f"foo@{SHA256}:tag", "64 lowercase hex characters"),
    ("UPPER/case", "repository name must be lowercase"),
    ("Busybox", "repository name must be lowercase"),
    ("localhost:5000/Foo", "repository name must be lowercase"),
    ("LOCALHOST/foo", "repository name must be lowercase"),
    ("a b", "whitespace"),
    ("busybox ", "whitespace"),
    (" busybox", "whitespace"),
    ("busybox\n", "whitespace"),
    ("busybox\t:1", "whitespace"),
    ("busy\x00box", "control character"),
    ("busy\x1bbox", "control character"),
    ("busy\x7fbox", "control character"),
    ("busybox\u00a0", "whitespace"),
    ("bus\u00fdbox", "non-ASCII"),
    ("repo:t\u00e4g", "non-ASCII"),
    ("repo:\u0661", "non-ASCII"),
    ("repo:.tag", "must start with a letter, digit or '_'"),
    ("repo:-tag", "must start with a letter, digit or '_'"),
    ("repo:ta+g", "may contain only"),
    ("repo:" + "t" * 129, "129 characters long; at most 128"),
    ("a" * 256, "256 characters long; at most 255"),
    ("example.com/" + "a" * 244, "256 characters long; at most 255"),
    ("foo/bar:baz:qux", "contains ':'"),
    ("foo:bar/baz", "port 'bar' must be digits"),
    ("foo!bar", "contains '!'"),
    ("foo/bar$", "contains '$'"),
    ("example.com:port/foo", "port 'port' must be digits"),
    ("example.com:/foo", "port '' must be digits"),
    ("example.com:5000:1/foo", "port '5000:1' must be digits"),
    ("-example.com/foo", "option"),
    ("example-.com/foo", "registry host 'example-.com' is invalid"),
    ("exa_mple.com/foo", "registry host 'exa_mple.com' is invalid"),
    ("example..com/foo", "registry host 'example..com' is invalid"),
    (".example.com/foo", "registry host '.example.com' is invalid"),
    ("[::1/foo", "IPv6"),
    ("[]/foo", "IPv6"),
    ("[::g]:5000/foo", "IPv6"),
    ("[::1]x/foo", "unexpected 'x'"),
    ("[::1]:5000", "contains '['"),
]


@pytest.mark.parametrize(("text", "fragment"), BAD)
def test_parse_bad(text: str, fragment: str) -> None:
    with pytest.raises(InvalidReference) as info:
        ImageRef.parse(text)
    err = info.value
    assert fragment in err.reason, err.reason
    assert err.value == text
    assert err.hint
    assert isinstance(err, UsageError)
    assert err.exit_code == 2
    if text not in GRAMMAR_ONLY:
        assert not REFERENCE_RE.fullmatch(text)


# Bad references the bare regex grammar would accept; the rules beyond it reject them:
# the registry rule ('.', ':' or 'localhost'), the 255-character name limit, and the
# exact lengths of the registered sha256/sha512 digests.
GRAMMAR_ONLY = {
    "UPPER/case",
    "LOCALHOST/foo",
    "exa_mple.com/foo",  # the bare grammar reads it as two path components
    "a" * 256,
    "example.com/" + "a" * 244,
    "foo@sha256:" + HEX64.upper(),
    "foo@sha256:" + HEX64 + "0",
    "foo@sha512:" + HEX64,
}


@pytest.mark.parametrize(("text", "fragment"), BAD)
def test_validate_image_arg_rejects_bad(text: str, fragment: str) -> None:
    with pytest.raises(InvalidReference) as info:
        validate_image_arg(text)
    assert fragment in info.value.reason


def test_option_reason_is_explicit() -> None:
    with pytest.raises(InvalidReference) as info:
        ImageRef.parse("-rf")
    assert info.value.reason == "starts with '-', so an engine would read it as an option"
    assert "'-rf'" in info.value.one_line()


def test_nothing_accepted_starts_with_dash() -> None:
    for text, *_ in GOOD:
        assert not text.startswith("-")
    for validator in (validate_image_arg, validate_container_name):
        for text in ("-", "-rf", "--privileged", "-v=/:/host", "-it"):
            with pytest.raises(InvalidReference, match="option"):
                validator(text)


def test_regexes_are_anchored() -> None:
    assert not REFERENCE_RE.match("busybox\n")
    assert not REFERENCE_RE.search("x -rf")
    assert not IMAGE_ID_RE.match(SHA256 + "\n")
    assert not IMAGE_ID_RE.search("x" + SHA256)
    assert not CONTAINER_NAME_RE.match("web\n")
    assert not CONTAINER_NAME_RE.search(" -rf web")


# ImageRef behaviour


def test_frozen() -> None:
    ref = ImageRef.parse("busybox")
    with pytest.raises(AttributeError, match="frozen"):
        ref.tag = "x"
    assert hash(ref) == hash(ImageRef.parse("busybox"))


def test_direct_construction_is_validated() -> None:
    assert str(ImageRef(domain="example.com", path="ns/img", tag="v1")) == "example.com/ns/img:v1"
    with pytest.raises(InvalidReference, match="option"):
        ImageRef(path="-rf")
    with pytest.raises(InvalidReference, match="lowercase"):
        ImageRef(path="Busybox")
    # 'foo' would be read as a path component, not a registry.
    with pytest.raises(InvalidReference, match="round-trip"):
        ImageRef(domain="foo", path="bar")
    # A domain hidden in the path would come back as a domain.
    with pytest.raises(InvalidReference, match="round-trip"):
        ImageRef(path="example.com/bar")
    # Separators smuggled into parts are caught.
    with pytest.raises(InvalidReference, match="round-trip"):
        ImageRef(path="foo:bar")
    with pytest.raises(InvalidReference, match="round-trip"):
        ImageRef(path="foo", tag="a@" + SHA256)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("busybox", "busybox:latest"),
        ("localhost:5000/a/b", "localhost:5000/a/b:latest"),
        ("busybox:1.36", "busybox:1.36"),
        (f"busybox@{SHA256}", f"busybox@{SHA256}"),
        (f"busybox:1@{SHA256}", f"busybox:1@{SHA256}"),
    ],
)
def test_with_default_tag(text: str, expected: str) -> None:
    ref = ImageRef.parse(text)
    tagged = ref.with_default_tag()
    assert str(tagged) == expected
    assert str(ref) == text  # the original is unchanged
    assert isinstance(tagged, ImageRef)


# (name, familiar, hub_short): the short form `images` shows, and docker's own
FAMILIAR = [
    ("busybox:1", "busybox:1", "busybox:1"),
    ("docker.io/library/busybox:1", "busybox:1", "busybox:1"),
    ("index.docker.io/library/busybox:1", "busybox:1", "busybox:1"),
    ("library/busybox:1", "busybox:1", "busybox:1"),
    (f"docker.io/library/busybox@{SHA256}", f"busybox@{SHA256}", f"busybox@{SHA256}"),
    ("docker.io/lab/img:1", "lab/img:1", "lab/img:1"),
    ("docker.io/library/a/b:1", "library/a/b:1", "library/a/b:1"),  # not an official one
    # podman's (and skopeo's) spelling of a name with no registry, which ocitool shows short
    ("localhost/lab/img:1", "lab/img:1", "localhost/lab/img:1"),
    ("localhost:5000/lab/img:1", "localhost:5000/lab/img:1", "localhost:5000/lab/img:1"),
    ("127.0.0.1:5000/library/x:1", "127.0.0.1:5000/library/x:1", "127.0.0.1:5000/library/x:1"),
    ("quay.io/a/b:2", "quay.io/a/b:2", "quay.io/a/b:2"),
    ("lab/img", "lab/img", "lab/img"),  # no tag is added
]


@pytest.mark.parametrize(("name", "short", "hub"), FAMILIAR)
def test_familiar_names(name: str, short: str, hub: str) -> None:
    assert familiar(name) == short
    assert hub_short(name) == hub
    assert familiar(short) == short  # the short form is its own


def test_the_filters_and_the_archives_read_names_alike() -> None:
    """`--filter reference=` and `docker-archive:FILE:NAME` use the one familiar form."""
    from ocitool import filters, located

    assert filters.name_matches("lab/img:1", "localhost/lab/img:1")
    assert filters.name_matches("busybox", "docker.io/library/busybox:1")
    assert not filters.name_matches("lab/img", "localhost:5000/lab/img:1")
    assert familiar(located._tagged("localhost/lab/img")) == familiar(located._tagged("lab/img"))
    assert located._tagged("docker.io/library/busybox") == "docker.io/library/busybox:latest"


def test_name_property() -> None:
    assert ImageRef.parse("127.0.0.1:5000/lab/dimg:second").name == "127.0.0.1:5000/lab/dimg"
    assert ImageRef.parse(f"lab/img:first@{SHA256}").name == "lab/img"


# Image IDs and IMAGE arguments


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (SHA256, True),
        ("sha256:" + HEX64.upper(), False),
        ("sha256:" + HEX64[:-1], False),
        ("sha256:" + HEX64 + "0", False),
        (HEX64, False),
        (SHA512, False),
        (SHA256 + "\n", False),
        ("", False),
    ],
)
def test_is_image_id(text: str, expected: bool) -> None:
    assert is_image_id(text) is expected


@pytest.mark.parametrize(
    "text",
    [SHA256, HEX64, HEX64[:12], "3f5a", "busybox", f"repo:tag@{SHA256}", "lab/img:first"],
)
def test_validate_image_arg_accepts(text: str) -> None:
    assert validate_image_arg(text) == text


@pytest.mark.parametrize(
    "text",
    ["", "-rf", "--privileged", "SHA256:" + HEX64, "sha256:" + HEX64 + " ", "3F5A", "a b"],
)
def test_validate_image_arg_rejects(text: str) -> None:
    with pytest.raises(InvalidReference):
        validate_image_arg(text)


# Container names


@pytest.mark.parametrize(
    "text",
    ["a", "web", "Web_1", "my.container-2", "0abc", HEX64, HEX64[:12], "a.-_", "A"],
)
def test_container_name_ok(text: str) -> None:
    assert validate_container_name(text) == text


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("-rf", "option"),
        ("--privileged", "option"),
        ("_web", "must start with a letter or digit"),
        (".web", "must start with a letter or digit"),
        ("/web", "must start with a letter or digit"),
        ("web/1", "contains '/'"),
        ("web:1", "contains ':'"),
        ("web 1", "whitespace"),
        ("web\n", "whitespace"),
        ("web\x00", "control character"),
        ("w\u00e9b", "non-ASCII"),
        ("\u0661", "non-ASCII"),
    ],
)
def test_container_name_bad(text: str, fragment: str) -> None:
    with pytest.raises(InvalidReference) as info:
        validate_container_name(text)
    assert fragment in info.value.reason
    assert info.value.hint == (
        "container names use letters, digits, '_', '.' and '-', and cannot start with '-'"
    )
