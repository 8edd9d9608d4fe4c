"""Signals that ask a run to stop: SIGINT (Ctrl-C) and SIGTERM (a scheduler's pre-emption, ``timeout``).

Inside ``StopSignals()`` the first such signal only records itself (``requested``): the trainer
finishes the step it is in, saves a checkpoint and stops (training/trainer.py).  A second SIGINT
while that happens raises KeyboardInterrupt at once: the checkpoint being written is abandoned
half-way, which is safe, since checkpoints are written under a temporary name and renamed into
place (training/checkpoint.py), so the previous one stays valid.  On leaving, the handlers that
were there before are put back.  Signals can only be caught in the main thread; elsewhere (a
run started from a worker thread) the context does nothing and ``requested`` stays None.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    """Context manager: SIGINT and SIGTERM set ``requested`` (the signal's number) instead of killing."""

    def __init__(self) -> None:
        self.requested: int | None = None
        self._previous: dict[int, object] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt  # the second Ctrl-C: stop now
        self.requested = signum

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()
