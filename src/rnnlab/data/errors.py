"""``DataError``: a data file that cannot be used, with a message that names the file and the place;
``read_bytes``: a file's bytes, or the DataError that says why they cannot be read."""

from __future__ import annotations

from pathlib import Path


class DataError(ValueError):
    """A data file that cannot be used as it is.

    The message is one line that starts with the file, then the line or the byte where the
    problem is (when one place is to blame), then what is wrong, e.g.

        data/reviews.txt, line 17: no tab between sentence and label in 'Great phone 1'

    A ``ValueError``, so that the command line reports it as a one-line error (exit 2).
    ``path``, ``line`` (1-based) and ``byte`` (0-based offset) are kept as attributes.
    """

    def __init__(self, path: str | Path, problem: str, *, line: int | None = None, byte: int | None = None) -> None:
        self.path, self.problem, self.line, self.byte = str(path), problem, line, byte
        # a control character of the path (a newline is legal in a file name) as \xNN: the message stays one line
        where = "".join(f"\\x{ord(c):02x}" if c < " " or c == "\x7f" else c for c in self.path)
        if line is not None:
            where += f", line {line}"
        if byte is not None:
            where += f", byte {byte}"
        super().__init__(f"{where}: {problem}")

    def __reduce__(self):  # picklable with its keyword arguments (the default pickles args only)
        return _rebuild, (self.path, self.problem, self.line, self.byte)


def _rebuild(path: str, problem: str, line: int | None, byte: int | None) -> DataError:
    return DataError(path, problem, line=line, byte=byte)


def read_bytes(path: Path, kind: str) -> bytes:
    """The bytes of ``path``; DataError naming it if it is missing, a directory (not ``kind``, e.g.
    "a text file") or unreadable."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DataError(path, "no such file") from None
    except IsADirectoryError:
        raise DataError(path, f"is a directory, not {kind}") from None
    except OSError as error:
        raise DataError(path, f"cannot be read: {error.strerror or error}") from None
    except ValueError as error:  # a path the system refuses: a NUL byte, a lone surrogate
        raise DataError(path, f"cannot be read: {error}") from None
