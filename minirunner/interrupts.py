"""Ctrl-C, SIGTERM and a hangup during a run: cancel first, stop at once the
second time."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Protocol

from minirunner.output import Console

# A closed terminal or a dropped ssh session (SIGHUP) ends a run as Ctrl-C does.
HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Cancellable(Protocol):
    """What a signal acts on: a run's cancel and abort events."""

    cancel: threading.Event
    abort: threading.Event
    interrupted: int | None
    console: Console


@contextmanager
def cancel_on_signals(run: Cancellable, install: bool = True) -> Iterator[None]:
    """While inside, SIGINT/SIGTERM/SIGHUP cancel the run; a second one aborts it.

    Canceled jobs still get their after_script, as on GitLab; an abort stops
    that too. Handlers are only installed from the main thread.
    """
    if not install or threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        # After a hangup the terminal is gone: nothing more is said on it.
        quiet = signum == signal.SIGHUP
        if run.cancel.is_set():
            run.abort.set()
            if not quiet:
                run.console.warn("stopping at once; removing what was started")
            return
        run.interrupted = signum
        run.cancel.set()
        if not quiet:
            run.console.warn(
                "canceling the pipeline (after_script still runs; "
                "press Ctrl-C again to stop at once)"
            )

    previous = {sig: signal.signal(sig, handle) for sig in HANDLED}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
