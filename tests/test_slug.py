"""Tests for minirunner.variables.slug."""

from __future__ import annotations

import hashlib

import pytest

from minirunner.variables.slug import environment_slug, slugify


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Feature/Foo_Bar.x--y-", "feature-foo-bar-x--y"),
        ("a//b--c", "a--b--c"),
        ("main", "main"),
        ("v1.2.3", "v1-2-3"),
        ("--Release/2024--", "release-2024"),
        ("Ünïcode branch", "n-code-branch"),
        ("___", ""),
        ("group/Sub Group/My.Project", "group-sub-group-my-project"),
    ],
)
def test_slugify_matches_gitlab(text: str, slug: str) -> None:
    assert slugify(text) == slug


def test_slugify_cuts_at_63_characters_before_stripping_dashes() -> None:
    text = "a" * 62 + "/b"
    assert slugify(text) == "a" * 62
    assert slugify("b" * 70) == "b" * 63


def test_slugify_takes_another_limit() -> None:
    assert slugify("Feature/Foo", limit=8) == "feature"


class _FixedDigest:
    """Stands in for SHA-256 as GitLab's own spec does: the digest is 'a' * 64."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def hexdigest(self) -> str:
        return "a" * 64


# spec/lib/gitlab/slug/environment_spec.rb of GitLab, with the same digest stub
# (('a' * 64).to_i(16).to_s(36).last(6) is 'q517sa').
@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("staging-12345678901234567", "staging-123456789-q517sa"),
        ("9-staging-123456789012345", "env-9-staging-123-q517sa"),
        ("staging-1234567890123456", "staging-1234567890123456"),
        ("staging-1234567890123456-", "staging-123456789-q517sa"),
        ("production", "production"),
        ("PRODUCTION", "production-q517sa"),
        ("review/1-foo", "review-1-foo-q517sa"),
        ("1-foo", "env-1-foo-q517sa"),
        ("1/foo", "env-1-foo-q517sa"),
        ("foo-", "foo"),
        ("foo--bar", "foo-bar-q517sa"),
        ("foo**bar", "foo-bar-q517sa"),
        ("*-foo", "env-foo-q517sa"),
        ("staging-12345678-", "staging-12345678"),
        ("staging-12345678-01234567", "staging-12345678-q517sa"),
        ("", "env-q517sa"),
    ],
)
def test_environment_slug_matches_gitlab_spec(
    name: str, slug: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hashlib, "sha256", _FixedDigest)
    assert environment_slug(name) == slug


def test_environment_slug_suffix_comes_from_the_name() -> None:
    assert environment_slug("Production") == "production-iis43c"
    assert environment_slug("review/feature-x") == "review-feature-x-bjrazc"
