"""Fixtures the picture tests of tests/analysis share."""

import matplotlib.pyplot as plt
import pytest


@pytest.fixture
def figures(monkeypatch):
    """The figures the drawing functions close, kept open for inspection."""
    kept, close = [], plt.close
    monkeypatch.setattr(plt, "close", kept.append)
    yield kept
    for figure in kept:
        close(figure)
