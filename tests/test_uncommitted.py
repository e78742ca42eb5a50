"""The `git status` a run of the commit starts early to name what it leaves out."""

from __future__ import annotations

from pathlib import Path

from conftest import MakeRepo

from minirunner.uncommitted import UncommittedChanges, uncommitted_changes


def test_paths_are_relative_to_the_root_from_a_subfolder(make_repo: MakeRepo) -> None:
    repo = make_repo({"app/main.py": "print(1)\n", "README": "hello\n"})
    (repo / "README").write_text("edited\n")
    (repo / "app" / "new.py").write_text("print(2)\n")
    with uncommitted_changes(repo / "app") as changes:
        assert sorted(changes.paths()) == ["README", "app/new.py"]


def test_minirunners_own_folder_is_never_a_change(make_repo: MakeRepo) -> None:
    repo = make_repo({"README": "hello\n"})
    # As on a first run: the folder is made before it ignores itself.
    (repo / ".minirunner" / "runs").mkdir(parents=True)
    (repo / ".minirunner" / "runs" / "1.log").write_text("log\n")
    (repo / "notes.txt").write_text("mine\n")
    # The settings apply as they are in the working tree, committed or not.
    (repo / ".minirunner.toml").write_text("[minirunner]\n")
    with uncommitted_changes(repo) as changes:
        assert changes.paths() == ["notes.txt"]


def test_a_clean_checkout_and_a_folder_outside_git_have_none(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    repo = make_repo({"README": "hello\n"})
    outside = tmp_path / "outside"
    outside.mkdir()
    with uncommitted_changes(repo) as clean, uncommitted_changes(outside) as none:
        assert clean.paths() == []
        assert none.paths() == []
    with uncommitted_changes(None) as unasked:
        assert unasked.paths() == []


def test_an_unread_status_is_ended_with_the_block(make_repo: MakeRepo) -> None:
    repo = make_repo({"README": "hello\n"})
    with uncommitted_changes(repo) as changes:
        process = changes._process
        assert process is not None
    assert process.returncode is not None


def test_a_folder_that_is_gone_has_none(tmp_path: Path) -> None:
    changes = UncommittedChanges(tmp_path / "gone")
    assert changes.paths() == []
    changes.close()
