"""Recurrent states as values: a tensor or a tuple of tensors (e.g. the LSTM's (h, c))."""

from __future__ import annotations

from torch import Tensor


def detached(state):
    """A recurrent state (a tensor or a tuple of them, e.g. LSTM's (h, c)) cut from its graph; None stays None."""
    if state is None or isinstance(state, Tensor):
        return None if state is None else state.detach()
    return type(state)(*(detached(part) for part in state)) if hasattr(state, "_fields") else \
        type(state)(detached(part) for part in state)
