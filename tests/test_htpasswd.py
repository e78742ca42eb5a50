"""The local registry's password and htpasswd file."""

from __future__ import annotations

import io
import stat
import tarfile
from pathlib import Path

import bcrypt

from minirunner.htpasswd import htpasswd_archive, htpasswd_line, registry_password


def test_the_password_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    path = tmp_path / "registry" / "password"

    first = registry_password(path)
    second = registry_password(path)

    assert first == second
    assert len(first) == 32
    assert path.read_text() == first + "\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [entry.name for entry in path.parent.iterdir()] == ["password"]


def test_an_existing_password_is_reused_and_made_private(tmp_path: Path) -> None:
    path = tmp_path / "password"
    path.write_text("chosen-by-hand\n")
    path.chmod(0o644)

    assert registry_password(path) == "chosen-by-hand"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_htpasswd_line_holds_a_cheap_bcrypt_hash() -> None:
    line = htpasswd_line("gitlab-ci-token", "s3cret")

    user, hashed = line.rstrip("\n").split(":")
    assert line.endswith("\n")
    assert user == "gitlab-ci-token"
    assert hashed.startswith("$2b$05$")
    assert bcrypt.checkpw(b"s3cret", hashed.encode())
    assert not bcrypt.checkpw(b"other", hashed.encode())


def test_the_archive_holds_the_file_at_its_path() -> None:
    data = htpasswd_archive("gitlab-ci-token", "s3cret", "auth/htpasswd")

    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        names = archive.getnames()
        entry = archive.getmember("auth/htpasswd")
        stream = archive.extractfile(entry)
        assert stream is not None
        content = stream.read().decode()
    assert names == ["auth", "auth/htpasswd"]
    assert entry.mode == 0o644
    assert content.startswith("gitlab-ci-token:$2b$05$")
