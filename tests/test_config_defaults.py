"""default: and the deprecated top-level keys, inherit:default and inherit:variables."""

from __future__ import annotations

from pathlib import Path

from config_support import error, load

from minirunner.config.model import Cache, Image, Retry, Service

DEFAULTS = """
default:
  image: ruby:3.3
  services: [postgres:16]
  before_script: [bundle install]
  after_script: [echo done]
  cache: {key: gems, paths: [vendor/]}
  retry: 2
  interruptible: true
  tags: [docker]
  timeout: 20m
  artifacts: {paths: [log/]}
  hooks: {pre_get_sources_script: [echo hook]}
  id_tokens: {TOKEN: {aud: https://example.com}}
"""


def test_default_keywords_fill_what_a_job_lacks(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        DEFAULTS
        + """
plain:
  script: rake
own:
  script: rake
  image: alpine
  before_script: [echo own]
  retry: 0
  tags: []
""",
    )
    plain, own = config.jobs
    assert plain.image == Image("ruby:3.3")
    assert plain.services == (Service("postgres:16"),)
    assert (plain.before_script, plain.after_script) == (
        ("bundle install",),
        ("echo done",),
    )
    assert plain.cache == (Cache(key="gems", paths=("vendor/",)),)
    assert (plain.retry, plain.interruptible, plain.tags) == (
        Retry(max=2),
        True,
        ("docker",),
    )
    assert plain.timeout == "20m"
    assert plain.artifacts is not None and plain.artifacts.paths == ("log/",)
    assert own.image == Image("alpine")
    assert own.before_script == ("echo own",)
    assert (own.retry, own.tags) == (Retry(max=0), ())
    assert own.after_script == ("echo done",)


def test_inherit_default_false_and_list(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        DEFAULTS
        + """
none:
  script: rake
  inherit: {default: false}
some:
  script: rake
  inherit:
    default: [image, after_script]
""",
    )
    none, some = config.jobs
    assert (none.image, none.before_script, none.tags, none.retry) == (
        None,
        (),
        (),
        Retry(),
    )
    assert (some.image, some.after_script) == (Image("ruby:3.3"), ("echo done",))
    assert (some.before_script, some.tags, some.interruptible) == ((), (), False)


def test_inherit_variables(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
        variables: {A: "1", B: "2"}
        all:
          script: echo
        none:
          script: echo
          inherit: {variables: false}
        some:
          script: echo
          inherit: {variables: [B]}
        """,
    )
    assert [job.inherit_variables for job in config.jobs] == [True, False, ("B",)]


def test_deprecated_top_level_keys_act_as_defaults(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
        image: node:20
        services: [redis]
        before_script: [npm ci]
        after_script: [echo bye]
        cache: {paths: [node_modules/]}
        job:
          script: npm test
        """,
    )
    job = config.jobs[0]
    assert (job.image, job.services) == (Image("node:20"), (Service("redis"),))
    assert (job.before_script, job.after_script) == (("npm ci",), ("echo bye",))
    assert job.cache == (Cache(paths=("node_modules/",)),)


def test_top_level_and_default_together_is_an_error(tmp_path: Path) -> None:
    text = "image: a\ndefault:\n  image: b\njob:\n  script: echo\n"
    assert error(tmp_path, text) == (
        ".gitlab-ci.yml:1: image: image is defined in top-level and `default:` entry"
    )


def test_unknown_default_keyword(tmp_path: Path) -> None:
    text = "default:\n  image: a\n  variables: {A: b}\njob:\n  script: echo\n"
    assert error(tmp_path, text) == (
        ".gitlab-ci.yml:3: default: contains unknown keys: variables"
    )


def test_bad_default_value_names_default(tmp_path: Path) -> None:
    text = "default:\n  retry: 5\njob:\n  script: echo\n"
    assert error(tmp_path, text) == (
        ".gitlab-ci.yml:2: default:retry: should be between 0 and 2"
    )


def test_trigger_jobs_take_only_interruptible(tmp_path: Path) -> None:
    config = load(tmp_path, DEFAULTS + "child:\n  trigger: {include: child.yml}\n")
    child = config.jobs[0]
    assert (child.image, child.before_script, child.interruptible) == (None, (), True)
