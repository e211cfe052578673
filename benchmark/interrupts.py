"""How the grid command answers Ctrl-C and SIGTERM, phase by phase.

While runs train, a signal raises KeyboardInterrupt at once (`stop_on_signals`): the
workers checkpoint and the grid stops. While the report is computed and written it
must not: a KeyboardInterrupt raised inside a finaliser or a weakref callback (which
matplotlib, jinja2 and the garbage collector run at any moment) is printed as
"Exception ignored" and lost, so the report would carry on and exit 0 after a
traceback. There the signal is only recorded (`deferred_interrupts`) and acted on at
the points the report builder checks, where stopping is safe. Once the grid has
decided to stop or exit, further signals are ignored (`ignore_interrupts`).
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def stop_on_signals() -> None:
    """SIGTERM (a cluster's preemption, `kill`) stops the grid the way Ctrl-C does."""
    for signum in SIGNALS:
        signal.signal(signum, _raise_interrupt)


def ignore_interrupts() -> None:
    """A further Ctrl-C or SIGTERM (a second press, a scheduler's repeat) would only
    print a traceback from the clean-up."""
    for signum in SIGNALS:
        signal.signal(signum, signal.SIG_IGN)


class Pending:
    """Whether a signal arrived inside `deferred_interrupts`; `check()` is the safe point."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def record(self, signum: int, frame: object) -> None:
        self.signum = self.signum or signum

    def check(self) -> None:
        if self.signum is not None:
            raise KeyboardInterrupt


@contextlib.contextmanager
def deferred_interrupts() -> Iterator[Pending]:
    """Record Ctrl-C/SIGTERM instead of raising; raise once at the end of the block if
    one came and the block did not stop at a `check()` of its own."""
    pending = Pending()
    previous = {signum: signal.getsignal(signum) for signum in SIGNALS}
    for signum in SIGNALS:
        signal.signal(signum, pending.record)
    try:
        yield pending
        pending.check()
    finally:
        if pending.signum is None:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        else:  # stopping: a second signal must not break off the caller's clean-up
            ignore_interrupts()
