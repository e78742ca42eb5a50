"""The local registry's credentials: a generated password and its htpasswd file."""

from __future__ import annotations

import io
import os
import secrets
import stat
import tarfile
from pathlib import Path

import bcrypt

# GitLab's value of CI_REGISTRY_USER, see
# https://docs.gitlab.com/ee/ci/variables/predefined_variables.html
REGISTRY_USER = "gitlab-ci-token"
# The registry checks the bcrypt hash on every request (basic auth has no session),
# so the cost is that of Apache's `htpasswd -B` rather than bcrypt's slow default.
BCRYPT_ROUNDS = 5


def registry_password(path: Path) -> str:
    """Return the password kept in `path`, generating it on first use.

    The file is readable by its owner only (mode 0600); a file that is not is made so.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        _create(path, secrets.token_urlsafe(24))
    if stat.S_IMODE(path.stat().st_mode) != 0o600:
        path.chmod(0o600)
    return path.read_text().strip()


def _create(path: Path, password: str) -> None:
    """Write `password` to `path` whole or not at all; a concurrent writer wins."""
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as stream:
        stream.write(password + "\n")
    try:
        os.link(partial, path)
    except FileExistsError:
        pass
    finally:
        partial.unlink()


def htpasswd_line(user: str, password: str) -> str:
    """Return an htpasswd line for `user` with a bcrypt hash of `password`."""
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=BCRYPT_ROUNDS))
    return f"{user}:{hashed.decode()}\n"


def htpasswd_archive(user: str, password: str, path: str) -> bytes:
    """Return a tar archive holding an htpasswd file at `path` (relative)."""
    content = htpasswd_line(user, password).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        folder = tarfile.TarInfo(os.path.dirname(path))
        folder.type = tarfile.DIRTYPE
        folder.mode = 0o755
        archive.addfile(folder)
        entry = tarfile.TarInfo(path)
        entry.size = len(content)
        entry.mode = 0o644
        archive.addfile(entry, io.BytesIO(content))
    return buffer.getvalue()
