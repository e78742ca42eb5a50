"""Globs against Ruby's File.fnmatch(FNM_PATHNAME | FNM_DOTMATCH | FNM_EXTGLOB)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minirunner.errors import ConfigError
from minirunner.rules.globs import expand_braces, first_match, match


@pytest.mark.parametrize(
    ("pattern", "path", "matched"),
    [
        ("README.md", "README.md", True),
        ("README.md", "docs/README.md", False),
        ("*.md", "README.md", True),
        ("*.md", "docs/README.md", False),
        ("*", ".gitlab-ci.yml", True),
        (".*", ".gitlab-ci.yml", True),
        ("*", "a/b", False),
        ("**/*.md", "README.md", True),
        ("**/*.md", "docs/a/b/x.md", True),
        ("**/*.md", ".hidden/x.md", True),
        ("docs/**/*.md", "docs/x.md", True),
        ("docs/**/*.md", "docs/a/b/x.md", True),
        ("docs/**/*.md", "other/docs/x.md", False),
        ("docs/**/*", "docs/a/b", True),
        ("docs/*", "docs/a/b", False),
        ("docs/**", "docs/a", True),
        ("docs/**", "docs/a/b", False),
        ("**", "a", True),
        ("**", "a/b", False),
        ("**/", "", True),
        ("a/**/b", "a/b", True),
        ("a/**/b", "a/x/y/b", True),
        ("a/**/**/b", "a/b", True),
        ("a**/b", "ax/b", True),
        ("a**/b", "a/x/b", False),
        ("src/", "src/main.c", False),
        ("?.c", "a.c", True),
        ("?.c", "ab.c", False),
        ("a?b", "a/b", False),
        ("{a,b}/*.md", "b/x.md", True),
        ("{a,b}/*.md", "c/x.md", False),
        ("*.{js,ts}", "app.ts", True),
        ("*.{js,ts}", "app.tsx", False),
        ("{a,{b,c}}d", "cd", True),
        ("{}x", "x", True),
        ("x{,.bak}", "x.bak", True),
        ("x{,.bak}", "x", True),
        ("{a", "{a", False),
        ("{a", "a", False),
        ("a}", "a}", True),
        ("\\{a,b}", "{a,b}", True),
        ("\\{a,b}", "a", False),
        ("[a-c].txt", "b.txt", True),
        ("[a-c].txt", "d.txt", False),
        ("[!a-c].txt", "d.txt", True),
        ("[^a-c].txt", "b.txt", False),
        ("[z-a]", "m", False),
        ("[z-a]", "a", True),
        ("[]a]", "a", False),
        ("[]a]", "]", False),
        ("[!]", "x", True),
        ("[!a]", "/", False),
        ("a[/]b", "a/b", False),
        ("[a-]", "-", True),
        ("[abc", "[abc", False),
        ("[abc", "a", False),
        ("[&&]", "&", True),
        ("[\\]]", "]", True),
        ("\\*", "*", True),
        ("\\*", "x", False),
        ("a\\/b", "a/b", True),
        ("a\\", "a", True),
        ("a//b", "a//b", True),
        ("/a", "a", False),
        ("src/*.py", "src/.hidden.py", True),
        ("café/*.txt", "café/notes.txt", True),
    ],
)
def test_match(pattern: str, path: str, matched: bool) -> None:
    assert match(pattern, path) is matched


def test_brace_expansion_order() -> None:
    assert expand_braces("{a,b}{c,d}") == ["ac", "ad", "bc", "bd"]
    assert expand_braces("x{1,{2,3}}y") == ["x1y", "x2y", "x3y"]
    assert expand_braces("{a") == []
    assert expand_braces("plain") == ["plain"]


def test_too_many_alternatives_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as raised:
        match("{a,b}" * 13, "a" * 13)

    assert str(raised.value) == (
        f"glob '{'{a,b}' * 13}' expands to more than 4096 alternatives"
    )


def test_first_match_gives_the_first_pattern_in_order_and_its_path() -> None:
    paths = ["docs/index.md", "src/app.py", "src/lib/util.py"]

    assert first_match(["*.txt", "src/**/*.py", "docs/*"], paths) == (
        "src/**/*.py",
        "src/app.py",
    )
    assert first_match(["*.txt"], paths) is None
    assert first_match([], paths) is None
    assert first_match(["**/*.py"], iter(paths)) == ("**/*.py", "src/app.py")


# A line-for-line port of Ruby's dir.c (ruby_brace_expand, fnmatch,
# fnmatch_helper, bracket) with FNM_PATHNAME | FNM_DOTMATCH | FNM_EXTGLOB, as
# an oracle for the regex translation.


def ruby_fnmatch(pattern: str, path: str) -> bool:
    return any(_fnmatch(p, path) for p in _brace_expand(pattern))


def _brace_expand(s: str) -> list[str]:
    p, nest, lbrace, rbrace = 0, 0, -1, -1
    while p < len(s):
        if s[p] == "{":
            if nest == 0:
                lbrace = p
            nest += 1
        if s[p] == "}" and lbrace >= 0:
            nest -= 1
            if nest == 0:
                rbrace = p
                break
        if s[p] == "\\":
            p += 1
            if p >= len(s):
                break
        p += 1
    if lbrace >= 0 and rbrace >= 0:
        out = []
        p = lbrace
        while p < rbrace:
            p += 1
            t, nest = p, 0
            while p < rbrace and not (s[p] == "," and nest == 0):
                if s[p] == "{":
                    nest += 1
                if s[p] == "}":
                    nest -= 1
                if s[p] == "\\":
                    p += 1
                    if p == rbrace:
                        break
                p += 1
            out += _brace_expand(s[:lbrace] + s[t:p] + s[rbrace + 1 :])
        return out
    if lbrace < 0 and rbrace < 0:
        return [s]
    return []


def _at(s: str, i: int) -> str:
    return s[i] if i < len(s) else "\0"


def _isend(s: str, i: int) -> bool:
    return _at(s, i) in ("\0", "/")


def _unescape(p: str, i: int) -> int:
    return i + 1 if _at(p, i) == "\\" else i


def _bracket(p: str, i: int, c: str) -> int | None:
    ok, negate = False, False
    if i >= len(p):
        return None
    if p[i] in "!^":
        negate, i = True, i + 1
    while _at(p, i) != "]":
        t1 = i + 1 if _at(p, i) == "\\" else i
        if _at(p, t1) == "\0":
            return None
        i = t1 + 1
        if i >= len(p):
            return None
        if p[i] == "-" and _at(p, i + 1) != "]":
            t2 = i + 1
            if _at(p, t2) == "\\":
                t2 += 1
            if _at(p, t2) == "\0":
                return None
            i = t2 + 1
            if ok:
                continue
            if c in (p[t1], p[t2]) or p[t1] <= c <= p[t2]:
                ok = True
        elif not ok and p[t1] == c:
            ok = True
    return None if ok == negate else i + 1


def _helper(p: str, pi: int, s: str, si: int) -> tuple[bool, int, int]:
    ptmp = stmp = -1
    while True:
        c = _at(p, pi)
        if c == "*":
            while _at(p, pi) == "*":
                pi += 1
            if _isend(p, _unescape(p, pi)):
                return True, _unescape(p, pi), si
            if _isend(s, si):
                return False, pi, si
            ptmp, stmp = pi, si
            continue
        if c == "?":
            if _isend(s, si):
                return False, pi, si
            pi, si = pi + 1, si + 1
            continue
        if c == "[":
            if _isend(s, si):
                return False, pi, si
            t = _bracket(p, pi + 1, s[si])
            if t is not None:
                pi, si = t, si + 1
                continue
        else:
            pi = _unescape(p, pi)
            if _isend(s, si):
                return _isend(p, pi), pi, si
            if not _isend(p, pi) and p[pi] == s[si]:
                pi, si = pi + 1, si + 1
                continue
        if ptmp >= 0:
            pi, stmp = ptmp, stmp + 1
            si = stmp
            continue
        return False, pi, si


def _fnmatch(p: str, s: str) -> bool:
    pi = si = 0
    ptmp = stmp = -1
    while True:
        if p.startswith("**/", pi):
            while p.startswith("**/", pi):
                pi += 3
            ptmp, stmp = pi, si
        ok, pi, si = _helper(p, pi, s, si)
        if ok:
            while _at(s, si) not in ("\0", "/"):
                si += 1
            if _at(p, pi) != "\0" and _at(s, si) != "\0":
                pi, si = pi + 1, si + 1
                continue
            if _at(p, pi) == "\0" and _at(s, si) == "\0":
                return True
        if ptmp >= 0:
            while _at(s, stmp) not in ("\0", "/"):
                stmp += 1
            if _at(s, stmp) != "\0":
                pi, stmp = ptmp, stmp + 1
                si = stmp
                continue
        return False


@pytest.mark.parametrize(
    ("pattern", "path"),
    [("**/*.md", "a/b.md"), ("[z-a]", "a"), ("{a,b}/**/c", "b/c"), ("a\\", "a")],
)
def test_oracle_agrees_on_known_cases(pattern: str, path: str) -> None:
    assert ruby_fnmatch(pattern, path) is True


PATTERN_ALPHABET = st.sampled_from(
    ["a", "b", ".", "/", "*", "**/", "?", "[", "]", "!", "-", "{", "}", ",", "\\"]
)
PATH_ALPHABET = st.sampled_from(["a", "b", ".", "/", "-", "]", "{", "*"])


@settings(max_examples=1500, deadline=None)
@given(
    pattern=st.lists(PATTERN_ALPHABET, max_size=10).map("".join),
    path=st.lists(PATH_ALPHABET, max_size=8).map("".join),
)
def test_translation_agrees_with_ruby_fnmatch(pattern: str, path: str) -> None:
    assert match(pattern, path) is ruby_fnmatch(pattern, path)
