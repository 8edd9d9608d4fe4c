"""How a training run stops on something other than its budget: the exceptions the trainer raises.

    TrainingError   the run cannot go on (e.g. too many non-finite steps in a row); exit code 1
    WriteError      a file of the run could not be written (disk full, read-only, ...); exit code 1.
                    The newest good checkpoint stays valid and ``--resume`` continues from it.
    Interrupted     SIGINT or SIGTERM asked the run to stop; it finished its step and saved a
                    checkpoint first; exit code 128 + the signal's number (130, 143)

Each message is one line that says what happened and where.
"""

from __future__ import annotations

import signal
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


class TrainingError(RuntimeError):
    """The run cannot go on (e.g. too many non-finite steps in a row); the message says why."""


class WriteError(TrainingError):
    """A file of the run could not be written; the message names the path and the OS's reason."""


class Interrupted(Exception):
    """A signal (SIGINT, SIGTERM) stopped the run after its step ``step``, with a checkpoint of that step saved."""

    def __init__(self, signum: int, step: int) -> None:
        self.signum, self.step = signum, step
        super().__init__(f"interrupted at step {step} ({signal.Signals(signum).name})")

    @property
    def exit_code(self) -> int:
        """128 + the signal's number: 130 for SIGINT, 143 for SIGTERM (the shell's convention)."""
        return 128 + self.signum


@contextmanager
def writing(path: str | Path) -> Iterator[None]:
    """Turn an OSError raised while writing ``path`` (or a file under it) into a one-line WriteError."""
    try:
        yield
    except OSError as error:
        where = error.filename if error.filename is not None else path
        raise WriteError(f"cannot write {where}: {error.strerror or error}") from None
