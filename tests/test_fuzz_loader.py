"""Property tests of the loader: any file loads, or raises ConfigError; nothing else.

Configurations are built from the keyword tables of minirunner/config/keywords.py
with values of every type, shared anchors, `!reference` tags, includes, and
bytes mutated after dumping. What loads is planned too. Set
MINIRUNNER_FUZZ_EXAMPLES (default 200) to run more, e.g. 10000.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from minirunner.config import keywords as kw
from minirunner.config.loader import expanded_config, load_config
from minirunner.errors import ConfigError
from minirunner.plan import make_plan
from minirunner.rules.decide import RuleInputs
from minirunner.sourcetree import GitTree

EXAMPLES = int(os.environ.get("MINIRUNNER_FUZZ_EXAMPLES", "200"))

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

JOB_NAMES = ["build", "test-1", "deploy prod", ".hidden", "default", "pages"]
STAGES = ["build", "test", "deploy", ".pre", ".post", "nope"]
INCLUDED = {
    "inc.yml": "included:\n  script: [echo included]\n",
    "ci/a.yml": ".base:\n  image: alpine\n  variables: {A: a}\n",
    "ci/b.yml": "include: ci/a.yml\nb:\n  extends: .base\n  script: [echo]\n",
    "loop.yml": "include: loop.yml\n",
    "list.yml": "- not\n- a mapping\n",
}

# Text that means something somewhere in a configuration.
WORDS = [
    *kw.JOB_WHEN,
    *kw.RULE_WHEN,
    *kw.PULL_POLICIES,
    *kw.ENVIRONMENT_ACTIONS,
    *kw.RETRY_WHEN[:5],
    *JOB_NAMES,
    *STAGES,
    *INCLUDED,
    "ci/*.yml",
    "**/*.yml",
    "",
    " ",
    "1 day",
    "30 minutes",
    "never",
    "$CI_COMMIT_TAG",
    '$CI_COMMIT_BRANCH == "main"',
    "$A =~ /^v\\d+/",
    "/(a+)+$/",
    "$$",
    "${A}",
    "%A%",
    "$[[ inputs.x ]]",
    "$[[ matrix.OS ]]",
    "*.txt",
    "../outside",
    "/etc/passwd",
    "https://example.com/ci.yml",
    "group/project",
    "alpine:3",
    "docker:dind",
    "echo hi",
    "é名\n\t",
    "pull-push",
    "depend",
    "100",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=300),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(WORDS),
    st.text(max_size=12),
)

ALL_KEYS = sorted(
    kw.JOB
    | kw.BRIDGE
    | kw.GLOBAL
    | kw.RULE_KEYS
    | kw.ARTIFACTS_KEYS
    | kw.CACHE_KEYS
    | kw.IMAGE_KEYS
    | kw.SERVICE_KEYS
    | kw.ENVIRONMENT_KEYS
    | kw.RETRY_KEYS
    | kw.NEED_KEYS
    | kw.TRIGGER_KEYS
    | kw.ONLY_KEYS
    | kw.INHERIT_KEYS
    | {"matrix", "paths", "files", "prefix", "compare_to", "exit_codes", "spec"}
)


def _hashable(value: object) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


class Reference(list[Any]):
    """A `!reference [...]` tag in a generated document."""


class Dumper(yaml.SafeDumper):
    """SafeDumper that writes Reference as `!reference`."""


def _represent_reference(dumper: yaml.SafeDumper, data: Reference) -> yaml.Node:
    return dumper.represent_sequence("!reference", list(data), flow_style=True)


Dumper.add_representer(Reference, _represent_reference)

references = st.tuples(
    st.sampled_from([*JOB_NAMES, ".base", "variables"]),
    st.sampled_from(["script", "variables", "rules", "A", "image"]),
).map(Reference)

values = st.recursive(
    st.one_of(scalars, scalars, scalars, references),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(ALL_KEYS), scalars.filter(_hashable)),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=12,
)


def _keyed(keys: frozenset[str] | tuple[str, ...]) -> st.SearchStrategy[Any]:
    """A mapping of some of `keys` to any values."""
    return st.dictionaries(st.sampled_from(sorted(keys)), values, max_size=5)


INCLUDE_KEYS = frozenset(
    {"local", "remote", "template", "project", "file", "ref", "rules", "inputs"}
)

# Right values most of the time, so that loading goes deep and plans are made.
words = st.sampled_from(WORDS)
paths = st.lists(st.sampled_from(["dist/", "*.txt", "src/**/*.py", "build.env"]))
names = st.sampled_from(JOB_NAMES)
expressions = st.sampled_from(
    [
        "$CI_COMMIT_TAG",
        '$CI_COMMIT_BRANCH == "main"',
        "$A =~ /^a/ && $B",
        "$CI_PIPELINE_SOURCE == 'push' || $X != null",
        "$A =~ $PATTERN",
        "(",
    ]
)
variable_maps = st.dictionaries(
    st.sampled_from(["A", "B", "C", "PATTERN", "CI_DEBUG_TRACE", "A B"]),
    st.one_of(
        st.sampled_from(["a", "$B-x", "${C}", "$$A", "/^a/", "$A$A"]),
        st.fixed_dictionaries(
            {"value": st.sampled_from(["v", "$A"])},
            optional={"expand": st.booleans(), "description": words},
        ),
        scalars,
    ),
    max_size=4,
)
rule = st.fixed_dictionaries(
    {},
    optional={
        "if": expressions,
        "when": st.sampled_from(kw.RULE_WHEN),
        "changes": paths,
        "exists": paths,
        "allow_failure": st.booleans(),
        "variables": variable_maps,
        "needs": st.lists(names, max_size=2),
        "start_in": st.just("1 minute"),
    },
)
cache_value = st.fixed_dictionaries(
    {"paths": paths},
    optional={
        "key": st.one_of(words, st.fixed_dictionaries({"files": paths})),
        "policy": st.sampled_from(["pull", "push", "pull-push", "$POLICY"]),
        "when": st.sampled_from(kw.CACHE_WHEN),
        "untracked": st.booleans(),
    },
)
right: dict[str, st.SearchStrategy[Any]] = {
    "script": st.one_of(words, st.lists(words, min_size=1)),
    "before_script": st.lists(words),
    "after_script": st.lists(words),
    "stage": st.sampled_from(STAGES),
    "when": st.sampled_from(kw.JOB_WHEN),
    "start_in": st.sampled_from(["1 minute", "2 weeks", "soon"]),
    "allow_failure": st.one_of(
        st.booleans(), st.fixed_dictionaries({"exit_codes": st.just([1, 2])})
    ),
    "rules": st.lists(rule, max_size=3),
    "only": st.lists(st.sampled_from(["main", "tags", "branches", "/^v/"])),
    "except": st.lists(st.sampled_from(["main", "tags", "schedules"])),
    "needs": st.lists(
        st.one_of(
            names,
            st.fixed_dictionaries(
                {"job": names},
                optional={"artifacts": st.booleans(), "optional": st.booleans()},
            ),
        ),
        max_size=3,
    ),
    "dependencies": st.lists(names, max_size=2),
    "extends": st.one_of(names, st.lists(names, max_size=2)),
    "variables": variable_maps,
    "artifacts": st.fixed_dictionaries(
        {},
        optional={
            "paths": paths,
            "when": st.sampled_from(kw.ARTIFACTS_WHEN),
            "expire_in": st.sampled_from(["1 day", "never", "3 mins"]),
            "untracked": st.booleans(),
            "reports": st.just({"dotenv": "build.env"}),
        },
    ),
    "cache": st.one_of(cache_value, st.lists(cache_value, max_size=5)),
    "image": st.one_of(
        words,
        st.fixed_dictionaries(
            {"name": words},
            optional={
                "entrypoint": st.just([""]),
                "pull_policy": st.sampled_from(kw.PULL_POLICIES),
            },
        ),
    ),
    "services": st.lists(
        st.one_of(words, st.fixed_dictionaries({"name": words, "alias": words}))
    ),
    "environment": st.one_of(
        words,
        st.fixed_dictionaries(
            {"name": words},
            optional={"action": st.sampled_from(kw.ENVIRONMENT_ACTIONS)},
        ),
    ),
    "retry": st.one_of(
        st.integers(-1, 3),
        st.fixed_dictionaries(
            {"max": st.integers(0, 3)},
            optional={"when": st.sampled_from(kw.RETRY_WHEN[:4])},
        ),
    ),
    "parallel": st.one_of(
        st.integers(0, 201),
        st.fixed_dictionaries(
            {
                "matrix": st.lists(
                    st.dictionaries(
                        st.sampled_from(["OS", "V"]),
                        st.one_of(words, st.lists(words, max_size=3)),
                    ),
                    max_size=3,
                )
            }
        ),
    ),
    "trigger": st.one_of(
        words,
        st.fixed_dictionaries(
            {"include": st.sampled_from([*INCLUDED, "missing.yml"])},
            optional={"strategy": st.sampled_from(["depend", "mirror"])},
        ),
    ),
    "inherit": st.fixed_dictionaries(
        {},
        optional={
            "default": st.one_of(st.booleans(), st.just(["image", "nope"])),
            "variables": st.one_of(st.booleans(), st.lists(st.just("A"))),
        },
    ),
    "tags": st.lists(words, max_size=3),
    "timeout": st.sampled_from(["1h", "30 minutes", "forever"]),
    "interruptible": st.booleans(),
    "coverage": st.sampled_from(["/\\d+%/", "nope", "/(/"]),
    "resource_group": words,
    "include": st.one_of(
        st.sampled_from([*INCLUDED, "ci/*.yml", "missing.yml"]),
        st.lists(
            st.one_of(
                st.sampled_from([*INCLUDED, "https://example.com/x.yml"]),
                st.fixed_dictionaries(
                    {"local": st.sampled_from([*INCLUDED, "../x.yml"])},
                    optional={"rules": st.lists(rule, max_size=2)},
                ),
                st.dictionaries(st.sampled_from(sorted(INCLUDE_KEYS)), words),
            ),
            max_size=3,
        ),
    ),
    "workflow": st.fixed_dictionaries(
        {},
        optional={
            "rules": st.lists(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "if": expressions,
                        "when": st.sampled_from(["always", "never", "manual"]),
                        "variables": variable_maps,
                    },
                ),
                max_size=3,
            ),
            "name": words,
        },
    ),
    "stages": st.lists(st.sampled_from(STAGES), max_size=5),
    "types": st.lists(st.sampled_from(STAGES), max_size=5),
    "default": st.fixed_dictionaries(
        {},
        optional={
            "image": words,
            "before_script": st.lists(words),
            "retry": st.integers(0, 2),
            "interruptible": st.booleans(),
        },
    ),
}


def keyword_value(key: str) -> st.SearchStrategy[Any]:
    """A right value for `key` most of the time, any value otherwise."""
    good = right.get(key)
    return values if good is None else st.one_of(good, good, good, good, values)


jobs = st.dictionaries(
    st.sampled_from(sorted(kw.JOB | kw.BRIDGE)), st.just(None), max_size=7
).flatmap(
    lambda chosen: st.fixed_dictionaries(
        {key: keyword_value(key) for key in chosen} | {"script": right["script"]}
    )
)

documents = st.fixed_dictionaries(
    {"build": jobs},
    optional={
        **{key: keyword_value(key) for key in sorted(kw.GLOBAL)},
        **{name: jobs for name in JOB_NAMES if name != "build"},
        "default": st.one_of(right["default"], _keyed(frozenset(kw.DEFAULT_KEYS))),
        "workflow": keyword_value("workflow"),
    },
)


@st.composite
def configurations(draw: st.DrawFn) -> bytes:
    """A generated document, sometimes with shared parts (anchors) and mutated."""
    document = draw(documents)
    names = [name for name in document if name in JOB_NAMES]
    if len(names) >= 2 and draw(st.booleans()):
        # The same object twice is dumped as an anchor and an alias.
        document[names[1]] = document[names[0]]
    text = yaml.dump(document, Dumper=Dumper, allow_unicode=True, sort_keys=False)
    data = text.encode()
    for _ in range(draw(st.sampled_from([0, 0, 0, 0, 0, 0, 1, 3]))):
        data = draw(mutations(data))
    return data


@st.composite
def mutations(draw: st.DrawFn, data: bytes) -> bytes:
    """One edit of the bytes: an inserted piece, a cut, a swapped line."""
    at = draw(st.integers(0, len(data)))
    kind = draw(st.sampled_from(["insert", "cut", "lines"]))
    if kind == "insert":
        piece = draw(
            st.one_of(
                st.sampled_from(
                    [
                        b":",
                        b"-",
                        b"[",
                        b"]",
                        b"{",
                        b"&a ",
                        b"*a",
                        b"!reference [x]",
                        b"<<: *a\n",
                        b"\t",
                        b"\n  ",
                        b"'",
                        b'"',
                        b"#",
                        b"|\n",
                        b"\xff",
                        b"\x00",
                        b"%YAML 1.1\n---\n",
                        b"---\n",
                        b"? ",
                    ]
                ),  # fmt: skip
                st.binary(max_size=4),
            )
        )
        return data[:at] + piece + data[at:]
    if kind == "cut":
        return data[:at] + data[at + draw(st.integers(1, 20)) :]
    lines = data.split(b"\n")
    if len(lines) > 2:
        index = st.integers(0, len(lines) - 1)
        first, second = draw(index), draw(index)
        lines[first], lines[second] = lines[second], lines[first]
    return b"\n".join(lines)


def tree_of(files: Mapping[str, bytes]) -> GitTree:
    """A commit's tree as the loader reads it, from plain data."""
    return GitTree(lambda: {path: path for path in files}, lambda blob: files[blob])


def inputs(tree: GitTree) -> RuleInputs:
    def compare_to(ref: str) -> frozenset[str] | None:
        raise ConfigError(f"unknown revision '{ref}'")

    return RuleInputs(
        variables={"CI_COMMIT_BRANCH": "main", "A": "a"},
        source="push",
        ref_kind="branch",
        ref_name="main",
        changed_paths=frozenset({"inc.yml"}),
        compare_to=compare_to,
        tree=tree,
    )


PIPELINE = {
    "CI_COMMIT_BRANCH": "main",
    "CI_COMMIT_REF_NAME": "main",
    "CI_PIPELINE_SOURCE": "push",
    "CI_DEFAULT_BRANCH": "main",
}


@FUZZ
@given(config=configurations())
def test_any_configuration_loads_or_raises_config_error(config: bytes) -> None:
    files = {**{k: v.encode() for k, v in INCLUDED.items()}, ".gitlab-ci.yml": config}
    tree = tree_of(files)
    try:
        loaded = load_config(tree, include_map={})
    except ConfigError as error:
        message = error.format_message()
        assert message and "Traceback" not in message
        event("refused")
        return
    try:
        plan = make_plan(loaded, inputs(tree), PIPELINE, {"B": "b"})
    except ConfigError:
        event("loaded, not planned")
        return
    event("planned")
    assert {job.name for job in plan.jobs} <= {job.name for job in loaded.jobs}


@FUZZ
@given(config=configurations())
def test_the_merged_view_loads_or_raises_config_error(config: bytes) -> None:
    files = {**{k: v.encode() for k, v in INCLUDED.items()}, ".gitlab-ci.yml": config}
    try:
        merged = expanded_config(tree_of(files), include_map={})
    except ConfigError:
        return
    assert isinstance(merged, dict)


# Cases the fuzzing found, kept as plain tests.


def test_the_merged_view_keeps_stages_that_are_not_names() -> None:
    files = {".gitlab-ci.yml": b"build:\n  script: echo\nstages:\n- []\n"}

    merged = expanded_config(tree_of(files), include_map={})

    assert merged["stages"] == [[]]
