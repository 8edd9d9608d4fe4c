"""What the tree cells share (trees/base.py): sizes checked, hidden(), arity checks, the initial weights."""

import math

import pytest
import torch

from rnnlab.trees import ChildSumTreeLSTMCell, TreeCell, TreeLSTMCell, TreeLSTMState, TreeRNNCell


@pytest.mark.parametrize("cls", [TreeRNNCell, TreeLSTMCell, ChildSumTreeLSTMCell])
@pytest.mark.parametrize("sizes, kind, message", [
    ((0, 4), ValueError, "input_size must be a positive int; got 0"),
    ((4, -2), ValueError, "hidden_size must be a positive int; got -2"),
    ((4.0, 4), TypeError, "input_size must be a positive int; got 4.0 of type float"),
])
def test_sizes_are_checked(cls, sizes, kind, message):
    with pytest.raises(kind) as error:
        cls(*sizes)
    assert str(error.value) == message


def test_hidden_reads_h():
    h, c = torch.randn(2, 3), torch.randn(2, 3)
    assert TreeCell.hidden(h) is h and TreeCell.hidden(TreeLSTMState(h, c)) is h


def test_only_binary_cells_check_arities():
    ChildSumTreeLSTMCell(2, 2).check_arities([1, 2, 7])
    TreeLSTMCell(2, 2).check_arities([2])
    with pytest.raises(ValueError, match=r"^tree_lstm combines exactly 2 children \(a binary tree\); got an inner "
                                         r"node with 7 children"):
        TreeLSTMCell(2, 2).check_arities([2, 7])


@pytest.mark.parametrize("cls", [TreeRNNCell, TreeLSTMCell, ChildSumTreeLSTMCell])
def test_weights_start_uniform_within_one_over_root_h(cls):
    torch.manual_seed(0)
    cell = cls(16, 16)
    bound = 1 / math.sqrt(16)
    for p in cell.parameters():
        assert p.abs().max() <= bound and p.std() > bound / 3


def test_the_base_entries_are_abstract():
    cell = TreeCell(2, 2)
    for call in (lambda: cell.leaf(torch.zeros(1, 2)), lambda: cell.combine(torch.zeros(2, 2), None),
                 lambda: cell.node(None, [])):
        with pytest.raises(NotImplementedError):
            call()
