"""The tree cells by name (trees/cells.py)."""

import pytest

from rnnlab.trees import ChildSumTreeLSTMCell, TreeLSTMCell, TreeRNNCell, available, create


def test_names_and_classes():
    assert available() == ["tree_rnn", "tree_lstm", "child_sum_tree_lstm"]
    for name, cls in zip(available(), [TreeRNNCell, TreeLSTMCell, ChildSumTreeLSTMCell]):
        cell = create(name, 4, 4)
        assert type(cell) is cls and cell.name == name and (cell.input_size, cell.hidden_size) == (4, 4)
    assert create("tree_lstm", 3, 5, bias=False).bias is None


def test_an_unknown_name_lists_the_cells():
    with pytest.raises(ValueError) as error:
        create("tree_gru", 4, 4)
    assert str(error.value) == "unknown tree cell 'tree_gru'; available: tree_rnn, tree_lstm, child_sum_tree_lstm"


def test_an_unknown_option_is_named():
    with pytest.raises(TypeError) as error:
        create("child_sum_tree_lstm", 4, 4, proj_size=2)
    assert str(error.value) == "tree cell 'child_sum_tree_lstm' does not take the option 'proj_size'"
