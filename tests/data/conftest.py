"""Fixtures of the file-format tests."""

from __future__ import annotations

import builtins
import errno
import io
import os
from pathlib import Path

import pytest


@pytest.fixture
def unreadable(monkeypatch):
    """``unreadable(path)``: from now on, opening ``path`` fails as a file without read permission does
    (PermissionError, EACCES).  The open itself is replaced, not the file's mode, so the refusal happens
    for root too, who reads every file whatever its mode."""
    denied: set[str] = set()
    real_open = io.open

    def refusing_open(file, *args, **kwargs):
        if isinstance(file, (str, bytes, os.PathLike)) and os.path.abspath(os.fsdecode(file)) in denied:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fsdecode(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(io, "open", refusing_open)  # what pathlib's read_bytes and read_text call
    monkeypatch.setattr(builtins, "open", refusing_open)

    def deny(path: Path) -> Path:
        denied.add(os.path.abspath(path))
        return path

    return deny
