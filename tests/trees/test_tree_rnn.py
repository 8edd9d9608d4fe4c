"""Tree-RNN (Socher et al. 2011): a hand-computed tree, gradcheck in float64, leaves as their vectors,
binary trees only, and the bad inputs' messages."""

import math

import pytest
import torch
from tree_checks import gradcheck_levels, gradcheck_node, ids

from rnnlab.trees import TreeRNNCell, batch_trees, evaluate_levels, evaluate_nodes


def scalar_cell(a: float, b: float, c: float) -> TreeRNNCell:
    cell = TreeRNNCell(1, 1).double()
    with torch.no_grad():
        cell.weight.copy_(torch.tensor([[a, b]], dtype=torch.float64))
        cell.bias.copy_(torch.tensor([c], dtype=torch.float64))
    return cell


def test_a_hand_computed_tree():
    """( 1 ( 2 3 ) ) with H = 1: inner = tanh(a·x2 + b·x3 + c), root = tanh(a·x1 + b·inner + c)."""
    a, b, c = 0.7, -1.3, 0.2
    x = {1: 0.5, 2: -0.25, 3: 2.0}
    inner = math.tanh(a * x[2] + b * x[3] + c)
    root = math.tanh(a * x[1] + b * inner + c)
    cell = scalar_cell(a, b, c)
    vectors = torch.tensor([[0.0], [x[1]], [x[2]], [x[3]]], dtype=torch.float64)
    batch = batch_trees([ids("( 1 ( 2 3 ) )")])
    h = evaluate_levels(cell, vectors[batch.leaf_tokens()], batch)
    assert h[batch.roots].item() == pytest.approx(root, abs=1e-14)
    assert h[batch.tree_nodes(0)].flatten().tolist() == pytest.approx([x[1], x[2], x[3], inner, root], abs=1e-14)
    nodes = evaluate_nodes(cell, [ids("( 1 ( 2 3 ) )")], lambda t: vectors[t : t + 1])[0]
    assert nodes.flatten().tolist() == pytest.approx([x[1], x[2], x[3], inner, root], abs=1e-14)


def test_a_leaf_is_its_vector():
    cell = TreeRNNCell(3, 3)
    x = torch.randn(4, 3)
    assert cell.leaf(x) is x


def test_left_and_right_are_told_apart():
    torch.manual_seed(0)
    cell = TreeRNNCell(4, 4).double()
    vectors = torch.randn(3, 4, dtype=torch.float64)
    batch = batch_trees([ids("( 1 2 )"), ids("( 2 1 )")])
    h = evaluate_levels(cell, vectors[batch.leaf_tokens()], batch)[batch.roots]
    assert not torch.allclose(h[0], h[1])


@pytest.mark.parametrize("bias", [True, False])
def test_gradcheck_of_the_level_batched_path(bias):
    torch.manual_seed(0)
    gradcheck_levels(TreeRNNCell(3, 3, bias=bias), ["( ( 1 2 ) ( 3 ( 4 5 ) ) )", "6", "( 7 8 )"])


@pytest.mark.parametrize("arity", [0, 2])
def test_gradcheck_of_the_one_node_reference(arity):
    torch.manual_seed(0)
    gradcheck_node(TreeRNNCell(3, 3), arity)


def test_without_bias():
    cell = TreeRNNCell(2, 2, bias=False)
    assert cell.bias is None and [n for n, _ in cell.named_parameters()] == ["weight"]
    assert repr(cell) == "TreeRNNCell(2, 2, bias=False)"


def test_leaf_size_must_equal_hidden_size():
    with pytest.raises(ValueError) as error:
        TreeRNNCell(8, 16)
    assert str(error.value) == ("tree_rnn uses the token's vector as the leaf's state (Socher et al. 2011), so "
                                "input_size must equal hidden_size; got input_size=8, hidden_size=16")


@pytest.mark.parametrize("arity, words", [(1, "1 child"), (3, "3 children")])
def test_the_node_reference_refuses_other_arities(arity, words):
    cell = TreeRNNCell(2, 2)
    with pytest.raises(ValueError, match=rf"^tree_rnn combines exactly 2 children \(a binary tree\); got an inner "
                                         rf"node with {words} "):
        cell.node(None, [torch.zeros(1, 2)] * arity)


def test_the_node_reference_checks_x():
    cell = TreeRNNCell(2, 2)
    with pytest.raises(ValueError, match=r"^tree_rnn: an inner node has no input x \(only leaves carry a token\); "
                                         r"got x$"):
        cell.node(torch.zeros(1, 2), [torch.zeros(1, 2)] * 2)
    with pytest.raises(ValueError, match=r"^tree_rnn: a leaf needs x of shape \(1, 2\); got \(2, 2\)$"):
        cell.node(torch.zeros(2, 2), [])
    with pytest.raises(ValueError, match=r"^tree_rnn: a leaf needs x of shape \(1, 2\); got None$"):
        cell.node(None, [])
