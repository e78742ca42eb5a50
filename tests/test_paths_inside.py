"""Paths stay inside the project: nothing outside is read, copied or written.

`artifacts:paths`, `cache:paths`, `include:local` and `rules:exists` patterns
that point outside (`../`, absolute paths, links leading out) are refused or
kept inside. What lies outside holds SECRET, so a copy would show. The end of
the module tests the repository guard itself.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from cli_support import minirunner
from conftest import MakeRepo, git
from repo_guard import RepoGuard, read_state

SECRET = "SECRET-outside-the-project"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder next to the project: a secret file, a secret folder, a victim."""
    folder = tmp_path / "outside"
    (folder / "secretdir").mkdir(parents=True)
    (folder / "secret.txt").write_text(SECRET + "\n")
    (folder / "secretdir" / "inner.txt").write_text(SECRET + "\n")
    (folder / "victim").mkdir()
    (folder / "outside.yml").write_text("leaked:\n  script: [echo leaked]\n")
    return folder


def with_links(
    make_repo: MakeRepo,
    repo_guard: RepoGuard,
    config: dict[str, object],
    links: dict[str, str],
) -> Path:
    """A repository whose commit holds the configuration and these symbolic links."""
    repo = make_repo({".gitlab-ci.yml": yaml.safe_dump(config)})
    for name, target in links.items():
        link = repo / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", "Add links")
    repo_guard.settle(repo)
    return repo


def run(repo: Path, *args: str) -> dict[str, dict[str, object]]:
    """Run the pipeline; each job's report entry, with its log's text as `text`."""
    report = repo.parent / "report.json"
    done = minirunner(repo, "run", "--report", str(report), *args)
    assert done.returncode in (0, 1), done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    jobs = {}
    for job in json.loads(report.read_text())["jobs"]:
        job["text"] = Path(job["log"]).read_text() if job["log"] else ""
        jobs[job["name"]] = job
    report.unlink()
    return jobs


def regular_files(folder: Path) -> Iterator[Path]:
    """The regular files below folder, links not followed."""
    for root, _, names in os.walk(folder):
        for name in names:
            path = Path(root) / name
            if path.is_file() and not path.is_symlink():
                yield path


def copies_of_the_secret(project: Path) -> list[str]:
    """Files minirunner keeps for the project (runs, caches) that hold SECRET."""
    return sorted(
        str(path.relative_to(project))
        for path in regular_files(project / ".minirunner")
        if SECRET in path.read_text(errors="replace")
    )


# artifacts:paths and cache:paths


@pytest.mark.parametrize("keyword", ["artifacts", "cache"])
@pytest.mark.parametrize("where", ["../outside.txt", "absolute"])
def test_paths_outside_the_project_are_refused(
    guarded_repo: MakeRepo, outside: Path, keyword: str, where: str
) -> None:
    pattern = str(outside / "secret.txt") if where == "absolute" else where
    stored = {"paths": [pattern, "inside.txt"]}
    if keyword == "cache":
        stored["key"] = "k"
    config = {
        "stages": ["make", "use"],
        "make": {
            "stage": "make",
            "script": [
                f"cp {outside / 'secret.txt'} ../outside.txt",
                "echo in > inside.txt",
            ],
            keyword: stored,
        },
        "use": {"stage": "use", "script": ["ls"], "cache": {"key": "k", "paths": []}},
    }
    repo = guarded_repo({".gitlab-ci.yml": yaml.safe_dump(config)})

    jobs = run(repo)

    message = (
        f"WARNING: artifacts: '{pattern}' points outside the project; it is left out"
        if keyword == "artifacts"
        else f"ERROR: cache: '{pattern}' points outside the project; not saved"
    )
    assert message in str(jobs["make"]["text"])
    assert jobs["make"]["status"] == "success"
    assert "outside.txt" not in str(jobs["use"]["text"])
    # The artifacts inside the project are still handed on; a cache is all or none.
    assert ("inside.txt" in str(jobs["use"]["text"])) == (keyword == "artifacts")
    assert copies_of_the_secret(repo) == []


@pytest.mark.parametrize("keyword", ["artifacts", "cache"])
def test_links_leading_out_are_kept_as_links(
    guarded_repo: MakeRepo, repo_guard: RepoGuard, outside: Path, keyword: str
) -> None:
    paths = ["leak", "leakdir", "leakdir/*", "leakdir/**", "relative"]
    stored: dict[str, object] = {"paths": paths}
    if keyword == "cache":
        stored["key"] = "k"
    config = {
        "stages": ["make", "use"],
        "make": {"stage": "make", "script": ["true"], keyword: stored},
        "use": {
            "stage": "use",
            "script": ["ls -l leak leakdir relative"],
            "cache": {"key": "k", "paths": [], "policy": "pull"},
        },
    }
    links = {
        "leak": str(outside / "secret.txt"),
        "leakdir": str(outside / "secretdir"),
        "relative": "../outside/secret.txt",
    }
    repo = with_links(guarded_repo, repo_guard, config, links)

    jobs = run(repo)

    assert (jobs["make"]["status"], jobs["use"]["status"]) == ("success", "success")
    assert copies_of_the_secret(repo) == []
    kept = (
        repo / ".minirunner" / "runs" / "1" / "artifacts" / "make"
        if keyword == "artifacts"
        else next((repo / ".minirunner" / "cache").glob("k-*"))
    )
    assert sorted(path.name for path in kept.iterdir()) == [
        "leak",
        "leakdir",
        "relative",
    ]
    assert all(path.is_symlink() for path in kept.iterdir())
    assert os.readlink(kept / "leak") == str(outside / "secret.txt")


@pytest.mark.parametrize("keyword", ["artifacts", "cache"])
def test_a_link_in_the_checkout_cannot_lead_a_download_out(
    guarded_repo: MakeRepo, repo_guard: RepoGuard, outside: Path, keyword: str
) -> None:
    # The commit has `out` -> victim; a job replaces it with a folder and keeps
    # out/planted. Laying that over the next checkout, where `out` is the link
    # again, must not write into the victim folder.
    stored: dict[str, object] = {"paths": ["out/"]}
    if keyword == "cache":
        stored["key"] = "k"
    config = {
        "stages": ["make", "use"],
        "make": {
            "stage": "make",
            "script": ["rm -rf out && mkdir out && echo planted > out/planted"],
            keyword: stored,
        },
        "use": {
            "stage": "use",
            "script": ["cat out/planted"],
            "cache": {"key": "k", "paths": [], "policy": "pull"},
        },
    }
    repo = with_links(
        guarded_repo, repo_guard, config, {"out": str(outside / "victim")}
    )

    jobs = run(repo)

    assert (jobs["make"]["status"], jobs["use"]["status"]) == ("success", "success")
    assert "planted\n" in str(jobs["use"]["text"])
    assert list((outside / "victim").iterdir()) == []


def test_a_dotenv_report_cannot_read_a_file_outside(
    guarded_repo: MakeRepo, outside: Path
) -> None:
    (outside / "secret.env").write_text(f"LEAKED={SECRET}\n")
    config = {
        "stages": ["make", "use"],
        "make": {
            "stage": "make",
            "script": [f"ln -s {outside / 'secret.env'} build.env"],
            "artifacts": {"reports": {"dotenv": "build.env"}},
        },
        "use": {"stage": "use", "script": ['echo "leaked=[$LEAKED]"']},
    }
    repo = guarded_repo({".gitlab-ci.yml": yaml.safe_dump(config)})

    jobs = run(repo)

    assert "leaked=[]\n" in str(jobs["use"]["text"])


def test_cache_key_files_are_not_read_outside(
    guarded_repo: MakeRepo, repo_guard: RepoGuard, outside: Path
) -> None:
    config = {
        "job": {
            "script": ["true"],
            "cache": {"key": {"files": ["leak"]}, "paths": ["x"]},
        }
    }
    repo = with_links(
        guarded_repo, repo_guard, config, {"leak": str(outside / "secret.txt")}
    )
    first = run(repo)
    (outside / "secret.txt").write_text("another secret\n")

    second = run(repo)

    def key(jobs: dict[str, dict[str, object]]) -> str:
        return str(jobs["job"]["text"]).split("Saved cache '")[1].split("'")[0]

    assert key(first) == key(second)


# include:local


@pytest.mark.parametrize("worktree", [False, True], ids=["commit", "worktree"])
@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            "../outside/outside.yml",
            "Local file `../outside/outside.yml` does not exist!",
        ),
        ("ABSOLUTE", "does not exist!"),
        ("ci/relative-link.yml", None),
        ("ci/absolute-link.yml", None),
    ],
    ids=["dotdot", "absolute", "relative-link", "absolute-link"],
)
def test_include_local_outside_is_not_read(
    guarded_repo: MakeRepo,
    repo_guard: RepoGuard,
    outside: Path,
    worktree: bool,
    target: str,
    message: str | None,
) -> None:
    target = str(outside / "outside.yml") if target == "ABSOLUTE" else target
    config = {"include": [{"local": target}], "job": {"script": ["true"]}}
    links = {
        "ci/relative-link.yml": "../../outside/outside.yml",
        "ci/absolute-link.yml": str(outside / "outside.yml"),
    }
    repo = with_links(guarded_repo, repo_guard, config, links)
    args = ["--worktree"] if worktree else []

    done = minirunner(repo, "list", "--json", *args)

    assert done.returncode == 2, done.stdout
    assert "leaked" not in done.stdout + done.stderr
    line = done.stderr.strip()
    assert line.startswith("Error: ") and "\n" not in line
    if message is not None:
        assert message in line
    elif worktree:
        assert f"Local file `{target}` does not exist!" in line
    else:
        # The commit holds the link itself: its text is not a configuration.
        assert line == (
            f"Error: {target}:1: invalid configuration format: "
            "expected a mapping of keys, found a single value"
        )


# rules:exists


@pytest.mark.parametrize("worktree", [False, True], ids=["commit", "worktree"])
@pytest.mark.parametrize(
    "pattern",
    [
        "../outside/secret.txt",
        "ABSOLUTE",
        "leakdir/inner.txt",
        "leakdir/*.txt",
        "**/inner.txt",
        "../**/secret.txt",
    ],
)
def test_rules_exists_does_not_look_outside(
    guarded_repo: MakeRepo,
    repo_guard: RepoGuard,
    outside: Path,
    worktree: bool,
    pattern: str,
) -> None:
    pattern = str(outside / "secret.txt") if pattern == "ABSOLUTE" else pattern
    config = {
        "inside": {"script": ["true"]},
        "probe": {"script": ["true"], "rules": [{"exists": [pattern]}]},
    }
    repo = with_links(
        guarded_repo, repo_guard, config, {"leakdir": str(outside / "secretdir")}
    )
    args = ["--worktree"] if worktree else []

    done = minirunner(repo, "list", "--json", *args)

    assert done.returncode == 0, done.stderr
    assert [job["name"] for job in json.loads(done.stdout)["jobs"]] == ["inside"]


# The guard itself.


def test_the_guard_sees_every_kind_of_change(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    repo = make_repo({"a.txt": "a\n", "tool.sh": "echo\n"}, tag="v1")
    before = read_state(repo)
    (repo / ".minirunner").mkdir()
    (repo / ".minirunner" / "ignored.log").write_text("minirunner's own\n")
    assert before.differences(read_state(repo)) == []

    git(repo, "tag", "v2")
    git(repo, "branch", "other")
    (repo / "a.txt").write_text("changed\n")
    git(repo, "stash", "-q")
    (repo / "new.txt").write_text("new\n")
    (repo / "tool.sh").chmod(0o755)
    git(repo, "update-index", "--chmod=+x", "tool.sh")

    found = before.differences(read_state(repo))

    kinds = sorted({line.split(":")[0] for line in found})
    assert kinds == ["index", "refs", "stash", "tree"]
    assert "refs: refs/tags/v2 added" in found
    assert "refs: refs/heads/other added" in found
    assert "tree: new.txt added" in found
    assert any(line.startswith("tree: tool.sh changed: ('0o100644'") for line in found)


def test_the_guard_fails_a_test_that_changed_a_repository(
    make_repo: MakeRepo,
) -> None:
    guard = RepoGuard()
    repo = guard.watch(make_repo({"a.txt": "a\n"}))
    git(repo, "commit", "-q", "--allow-empty", "-m", "Another")

    with pytest.raises(pytest.fail.Exception) as failed:
        guard.check()

    assert f"{repo}: head: " in str(failed.value)
    assert f"{repo}: refs: refs/heads/main changed: " in str(failed.value)
    guard.settle(repo)
    guard.check()


def test_a_run_leaves_a_stale_index_alone(
    guarded_repo: MakeRepo, repo_guard: RepoGuard
) -> None:
    repo = guarded_repo({".gitlab-ci.yml": "job:\n  script: [echo]\n", "a.txt": "a\n"})
    # The same content, a new modification time: the index's stat data is stale.
    stamp = (repo / "a.txt").stat().st_mtime + 100
    os.utime(repo / "a.txt", (stamp, stamp))

    done = minirunner(repo, "run")

    assert done.returncode == 0, done.stdout + done.stderr
    assert repo_guard.changes() == []
    repo_guard.settle(repo)
