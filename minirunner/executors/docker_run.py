"""Start a created container, stream its output in lines, stop it at a deadline."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from minirunner.executors.base import LineSink
from minirunner.executors.process import KILL_GRACE_S, OutputDecoder, ProcessResult

if TYPE_CHECKING:
    from docker import APIClient
    from docker.types import CancellableStream

POLL_S = 0.1


class StartFailed(Exception):
    """The engine could not start a container; the message says why."""


def run_container(
    api: APIClient,
    container: str,
    *,
    emit: LineSink,
    timeout_s: float,
    cancel: threading.Event,
) -> ProcessResult:
    """Start `container`, stream its output and wait; kill it on timeout or cancel.

    Raises StartFailed when the engine cannot start it (no `sh` in the image).
    """
    import docker

    try:
        api.start(container)
    except docker.errors.APIError as error:
        raise StartFailed(_one_line(error.explanation or str(error))) from error
    # From the start of the container and until it stops, whenever it is called.
    stream: CancellableStream = api.logs(
        container, stdout=True, stderr=True, stream=True, follow=True
    )
    reader = threading.Thread(target=_pump, args=(stream, emit), daemon=True)
    reader.start()

    deadline = time.monotonic() + timeout_s
    timed_out = canceled = False
    while reader.is_alive():
        reader.join(min(POLL_S, max(0.0, deadline - time.monotonic())))
        if not reader.is_alive():
            break
        canceled = cancel.is_set()
        timed_out = time.monotonic() >= deadline
        if canceled or timed_out:
            kill(api, container)
            break
    reader.join(KILL_GRACE_S)

    if timed_out or canceled:
        return ProcessResult(None, timed_out=timed_out, canceled=canceled)
    status: dict[str, int] = api.wait(container)
    return ProcessResult(status["StatusCode"])


def kill(api: APIClient, container: str) -> None:
    """SIGKILL the container; one that stopped already is fine."""
    import docker

    try:
        api.kill(container)
    except docker.errors.APIError as error:
        if error.status_code not in (404, 409):
            raise


def _pump(stream: CancellableStream, emit: LineSink) -> None:
    output = OutputDecoder(emit)
    try:
        for chunk in stream:
            output.feed(chunk)
    except Exception:  # noqa: BLE001
        # A killed container may drop the connection mid-frame; its exit code
        # (or the timeout) is what tells how the job ended, not the stream.
        pass
    finally:
        stream.close()
        output.flush()


def _one_line(text: str) -> str:
    return " ".join(str(text).split())
