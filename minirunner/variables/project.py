"""The project's path and GitLab server, read from the `origin` remote URL."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

# Without a remote there is no GitLab project to name: minirunner uses the
# namespace "local" and GitLab's documentation example host, so URLs built from
# them are recognisably not a real server.
LOCAL_NAMESPACE = "local"
LOCAL_SERVER_HOST = "gitlab.example.com"

_SCP_LIKE = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/]+):(?P<path>.+)$")


@dataclass(frozen=True)
class ProjectInfo:
    """The parts of `CI_PROJECT_*` and `CI_SERVER_*` a remote URL gives.

    `server_port` is None when the web URL uses the protocol's default port;
    `ssh_port` is the port of an `ssh://` remote, None for the default 22.
    """

    path: str
    namespace: str
    name: str
    root_namespace: str
    server_host: str
    server_port: str | None
    server_protocol: str
    ssh_port: str | None = None

    @property
    def server_url(self) -> str:
        """`CI_SERVER_URL`: protocol, host and a non-default port."""
        return f"{self.server_protocol}://{self.server_fqdn}"

    @property
    def server_fqdn(self) -> str:
        """`CI_SERVER_FQDN`: host, with the port when it is not the default."""
        if self.server_port:
            return f"{self.server_host}:{self.server_port}"
        return self.server_host

    @property
    def effective_port(self) -> str:
        """`CI_SERVER_PORT`: GitLab always sets it, 443 or 80 by default."""
        if self.server_port:
            return self.server_port
        return "443" if self.server_protocol == "https" else "80"

    @property
    def url(self) -> str:
        """`CI_PROJECT_URL`."""
        return f"{self.server_url}/{self.path}"


def project_info(remote_url: str | None, folder_name: str) -> ProjectInfo:
    """Parse `https://host[:port]/a/b.git`, `ssh://git@host[:port]/a/b.git`,
    `git@host:a/b.git` or `git://host/a/b.git` into the project's path and server.

    Credentials and a trailing `.git` or `/` are dropped. A missing remote, or one
    that is a local path or `file://` URL, gives namespace `local`, the folder's
    name and the host `gitlab.example.com` over https.
    """
    parsed = _parse(remote_url) if remote_url else None
    if parsed is None:
        local_path = f"{LOCAL_NAMESPACE}/{folder_name}"
        return _make(local_path, LOCAL_SERVER_HOST, None, "https")
    host, port, protocol, path, ssh_port = parsed
    segments = [part for part in path.split("/") if part]
    if segments:
        segments[-1] = segments[-1].removesuffix(".git")
    segments = [part for part in segments if part]
    if not segments:
        segments = [folder_name]
    if len(segments) == 1:
        segments.insert(0, LOCAL_NAMESPACE)
    return _make("/".join(segments), host, port, protocol, ssh_port)


def _parse(url: str) -> tuple[str, str | None, str, str, str | None] | None:
    if "://" in url:
        parts = urlsplit(url)
        host = parts.hostname
        if parts.scheme == "file" or not host:
            return None
        try:
            port = str(parts.port) if parts.port else None
        except ValueError:
            port = None
        if parts.scheme in ("http", "https"):
            if port == ("443" if parts.scheme == "https" else "80"):
                port = None
            return host, port, parts.scheme, parts.path, None
        ssh_port = port if "ssh" in parts.scheme and port != "22" else None
        return host, None, "https", parts.path, ssh_port
    match = _SCP_LIKE.match(url)
    if match is None:
        return None
    return match["host"], None, "https", match["path"], None


def _make(
    path: str, host: str, port: str | None, protocol: str, ssh_port: str | None = None
) -> ProjectInfo:
    namespace, _, name = path.rpartition("/")
    return ProjectInfo(
        path=path,
        namespace=namespace,
        name=name,
        root_namespace=path.split("/", 1)[0],
        server_host=host.lower(),
        server_port=port,
        server_protocol=protocol,
        ssh_port=ssh_port,
    )
