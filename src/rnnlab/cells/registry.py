"""The registry of cells by name: ``available()``, ``describe(name)`` and ``create(name, ...)``."""

from __future__ import annotations

import re
from typing import Callable, NamedTuple

from torch import nn


class _Entry(NamedTuple):
    factory: Callable[..., nn.Module]
    description: str


_CELLS: dict[str, _Entry] = {}


def register(name: str, factory: Callable[..., nn.Module], description: str) -> None:
    """Make ``factory(input_size, hidden_size, **options)`` available as ``name``."""
    if name in _CELLS:
        raise ValueError(f"cell name {name!r} is registered already")
    _CELLS[name] = _Entry(factory, description)


def available() -> list[str]:
    """Names of every registered cell, in registration order."""
    return list(_CELLS)


def _entry(name: str) -> _Entry:
    if not isinstance(name, str) or name not in _CELLS:
        raise ValueError(f"unknown cell {name!r}; available cells: {', '.join(_CELLS)}")
    return _CELLS[name]


def describe(name: str) -> str:
    """One line: what the cell ``name`` computes and where it comes from."""
    return _entry(name).description


def create(name: str, input_size: int, hidden_size: int, **options) -> nn.Module:
    """One-time-step module of the cell ``name``.

    >>> cell = create("gru1", input_size=28, hidden_size=100)
    >>> y, h = cell(x_t, cell.initial_state(batch_size=8))
    """
    factory = _entry(name).factory
    try:
        return factory(input_size, hidden_size, **options)
    except TypeError as error:
        unknown = re.search(r"unexpected keyword argument '(\w+)'", str(error))
        if unknown:
            raise TypeError(f"cell {name!r} does not take the option {unknown[1]!r}") from None
        raise
