"""The tree cells by name: ``available()`` and ``create(name, input_size, hidden_size, **options)``.

    tree_rnn              Socher et al. (2011): h = tanh(W [h_left; h_right] + b), binary trees
    tree_lstm             Tai et al. (2015) §3.2: the binary N-ary Tree-LSTM, a forget gate per child
    child_sum_tree_lstm   Tai et al. (2015) §3.1: the Child-Sum Tree-LSTM, any number of children

The names are the models' (``rnnlab train listops --model tree_lstm``).
"""

from __future__ import annotations

import re

from .base import TreeCell
from .child_sum_tree_lstm import ChildSumTreeLSTMCell
from .tree_lstm import TreeLSTMCell
from .tree_rnn import TreeRNNCell

_CELLS: dict[str, type[TreeCell]] = {cls.name: cls for cls in (TreeRNNCell, TreeLSTMCell, ChildSumTreeLSTMCell)}


def available() -> list[str]:
    """The tree cells' names."""
    return list(_CELLS)


def create(name: str, input_size: int, hidden_size: int, **options) -> TreeCell:
    """The tree cell ``name``: ``create("tree_lstm", input_size=32, hidden_size=64)``."""
    if not isinstance(name, str) or name not in _CELLS:
        raise ValueError(f"unknown tree cell {name!r}; available: {', '.join(_CELLS)}")
    try:
        return _CELLS[name](input_size, hidden_size, **options)
    except TypeError as error:
        unknown = re.search(r"unexpected keyword argument '(\w+)'", str(error))
        if unknown:
            raise TypeError(f"tree cell {name!r} does not take the option {unknown[1]!r}") from None
        raise
