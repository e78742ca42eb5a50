"""The HTTP routes of server-app and how to serve them."""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue

from sample_project import __version__

SERVICE = "server-app"
# Inside a container a server bound to 127.0.0.1 cannot be reached from the host
# (published ports arrive on the container's own interface), so listen on all.
DEFAULT_HOST = "0.0.0.0"
DEFAULT_PORT = 8000


def create_app() -> Flask:
    """Make the Flask application; its version comes from APP_VERSION if set."""
    app = Flask(SERVICE)
    version = os.environ.get("APP_VERSION") or __version__

    @app.get("/")
    def index() -> ResponseReturnValue:
        return jsonify(
            service=SERVICE, version=version, message=f"Hello from {SERVICE}"
        )

    @app.get("/healthz")
    def healthz() -> ResponseReturnValue:
        return jsonify(status="ok")

    return app


def main() -> None:
    """Serve on $HOST:$PORT (default 0.0.0.0:8000)."""
    host = os.environ.get("HOST") or DEFAULT_HOST
    port = int(os.environ.get("PORT") or DEFAULT_PORT)
    # As a container's process 1, Python would ignore `docker stop`'s SIGTERM.
    signal.signal(signal.SIGTERM, _exit)
    create_app().run(host=host, port=port)


def _exit(signum: int, frame: FrameType | None) -> None:
    sys.exit(0)


if __name__ == "__main__":
    main()
