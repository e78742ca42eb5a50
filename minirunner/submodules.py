"""A checkout's submodules, as GIT_SUBMODULE_STRATEGY asks, from the user's clones.

GitLab Runner runs `git submodule sync` and `git submodule update --init` (with
`--recursive` for `recursive`) and cleans each submodule
(https://docs.gitlab.com/ci/runners/configure_runners/#git-submodule-strategy).
Offline, a submodule's URL cannot be fetched: each comes from the clone the user's
repository keeps of it (`.git/modules/<name>`), which `git submodule update --init`
made there.
"""

from __future__ import annotations

from pathlib import Path

from minirunner.errors import GitError, UsageError
from minirunner.files import inside
from minirunner.snapshot import git, remove_path

STRATEGIES = ("none", "normal", "recursive")
ALLOW_LOCAL = ("-c", "protocol.file.allow=always")


def check_strategy(strategy: str) -> None:
    """UsageError unless GIT_SUBMODULE_STRATEGY is one GitLab Runner knows."""
    if strategy not in STRATEGIES:
        raise UsageError(
            f"GIT_SUBMODULE_STRATEGY '{strategy}' is not one of: "
            f"{', '.join(STRATEGIES)}"
        )


def update_submodules(modules: Path, checkout: Path, strategy: str) -> int:
    """Check out the submodules of `checkout` from the clones in `modules` (the
    user's `.git/modules`); how many were checked out. With `none`, only what
    an earlier job left of them is emptied."""
    if not (checkout / ".gitmodules").is_file():
        return 0
    recursive = strategy == "recursive"
    own_modules = _git_dir(checkout) / "modules"
    count = 0
    for name, path in _submodules(checkout):
        if not inside(checkout, checkout / path) or ".." in Path(path).parts:
            raise GitError(f"submodule '{name}' has a path out of the project: {path}")
        if not (own_modules / name).is_dir():
            # A reused checkout has a new git folder: what an earlier job
            # checked out of the submodule has lost its repository, and goes.
            remove_path(checkout / path)
            (checkout / path).mkdir(parents=True, exist_ok=True)
        if strategy == "none":
            continue
        source = modules / name
        if not (source / "HEAD").is_file():
            raise GitError(
                f"submodule '{name}' ({path}) has no clone in your repository to "
                "copy offline: run `git submodule update --init` there first"
            )
        git(checkout, "submodule", "init", "--", path)
        git(checkout, "config", f"submodule.{name}.url", str(source))
        # The user's clones are local folders, which git does not clone a
        # submodule from unless told.
        git(checkout, *ALLOW_LOCAL, "submodule", "update", "--force", "--", path)
        git(checkout / path, "clean", "-ffdx")
        count += 1
        if recursive:
            count += update_submodules(source / "modules", checkout / path, strategy)
    return count


def _git_dir(folder: Path) -> Path:
    return Path(git(folder, "rev-parse", "--absolute-git-dir").strip())


def _submodules(checkout: Path) -> list[tuple[str, str]]:
    """(name, path) of each submodule `.gitmodules` declares."""
    try:
        listed = git(
            checkout,
            "config",
            "--file",
            ".gitmodules",
            "--get-regexp",
            r"^submodule\..*\.path$",
        )
    except GitError:
        return []
    found = []
    for line in listed.splitlines():
        key, _, path = line.partition(" ")
        name = key.removeprefix("submodule.").removesuffix(".path")
        found.append((name, path))
    return found
