"""The registry of cells by name: ``available()`` and ``create(name, ...)``."""

from __future__ import annotations

from typing import Callable

from torch import nn

_CELLS: dict[str, Callable[..., nn.Module]] = {}


def register(name: str, factory: Callable[..., nn.Module]) -> None:
    """Make ``factory(input_size, hidden_size, **options)`` available as ``name``."""
    if name in _CELLS:
        raise ValueError(f"cell name {name!r} is registered already")
    _CELLS[name] = factory


def available() -> list[str]:
    """Names of every registered cell, in registration order."""
    return list(_CELLS)


def create(name: str, input_size: int, hidden_size: int, **options) -> nn.Module:
    """One-time-step module of the cell ``name``.

    >>> cell = create("gru1", input_size=28, hidden_size=100)
    >>> y, h = cell(x_t, cell.initial_state(batch_size=8))
    """
    if not isinstance(name, str) or name not in _CELLS:
        raise ValueError(f"unknown cell {name!r}; available cells: {', '.join(_CELLS)}")
    return _CELLS[name](input_size, hidden_size, **options)
