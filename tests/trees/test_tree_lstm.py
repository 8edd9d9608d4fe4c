"""The binary N-ary Tree-LSTM (Tai et al. 2015, eqs. 9–14): a hand-computed tree, a forget gate per child,
gradcheck in float64, and binary trees only."""

import math

import pytest
import torch
from tree_checks import gradcheck_levels, gradcheck_node, ids

from rnnlab.trees import TreeLSTMCell, batch_trees, evaluate_levels, evaluate_nodes


def sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


# H = I = 1.  W^(i), W^(o), W^(u); U rows i, o, f_1, f_2, u with columns (left, right); b^(i), b^(o), b^(f), b^(u)
W = {"i": 0.4, "o": -0.6, "u": 1.1}
U = {"i": (0.3, -0.2), "o": (0.5, 0.9), "f1": (1.5, -0.7), "f2": (-1.2, 0.4), "u": (0.8, -1.4)}
B = {"i": 0.1, "o": -0.3, "f": 0.6, "u": 0.05}


def scalar_cell() -> TreeLSTMCell:
    cell = TreeLSTMCell(1, 1).double()
    with torch.no_grad():
        cell.weight_x.copy_(torch.tensor([[W["i"]], [W["o"]], [W["u"]]], dtype=torch.float64))
        cell.weight_h.copy_(torch.tensor([U[g] for g in ("i", "o", "f1", "f2", "u")], dtype=torch.float64))
        cell.bias.copy_(torch.tensor([B["i"], B["o"], B["f"], B["u"]], dtype=torch.float64))
    return cell


def by_hand_leaf(x: float) -> tuple[float, float]:
    i, o, u = sigmoid(W["i"] * x + B["i"]), sigmoid(W["o"] * x + B["o"]), math.tanh(W["u"] * x + B["u"])
    c = i * u
    return o * math.tanh(c), c


def by_hand_node(left: tuple[float, float], right: tuple[float, float]) -> tuple[float, float]:
    (hl, cl), (hr, cr) = left, right

    def pre(gate):
        return U[gate][0] * hl + U[gate][1] * hr

    i, o, u = sigmoid(pre("i") + B["i"]), sigmoid(pre("o") + B["o"]), math.tanh(pre("u") + B["u"])
    f1, f2 = sigmoid(pre("f1") + B["f"]), sigmoid(pre("f2") + B["f"])  # (10): one gate per child, b^(f) shared
    c = i * u + f1 * cl + f2 * cr
    return o * math.tanh(c), c


def test_a_hand_computed_tree():
    x = {1: 0.9, 2: -1.7, 3: 0.35}
    l1, l2, l3 = by_hand_leaf(x[1]), by_hand_leaf(x[2]), by_hand_leaf(x[3])
    inner = by_hand_node(l2, l3)
    root = by_hand_node(l1, inner)
    expected = [l1, l2, l3, inner, root]  # postorder of ( 1 ( 2 3 ) )
    cell = scalar_cell()
    vectors = torch.tensor([[0.0], [x[1]], [x[2]], [x[3]]], dtype=torch.float64)
    batch = batch_trees([ids("( 1 ( 2 3 ) )")])
    state = evaluate_levels(cell, vectors[batch.leaf_tokens()], batch)
    order = batch.tree_nodes(0)
    assert state.h[order].flatten().tolist() == pytest.approx([h for h, _ in expected], abs=1e-14)
    assert state.c[order].flatten().tolist() == pytest.approx([c for _, c in expected], abs=1e-14)
    nodes = evaluate_nodes(cell, [ids("( 1 ( 2 3 ) )")], lambda t: vectors[t : t + 1])[0]
    assert nodes.c.flatten().tolist() == pytest.approx([c for _, c in expected], abs=1e-14)


def test_each_child_has_its_own_forget_gate():
    """f_j1 open and f_j2 shut (through U_kl^(f) alone): the parent keeps the left memory and drops the right."""
    cell = TreeLSTMCell(2, 2).double()
    with torch.no_grad():
        cell.weight_x.zero_()
        cell.weight_h.zero_()
        cell.bias.zero_()
        cell.bias[0:2] = -40.0  # i ≈ 0: nothing new is written
        cell.weight_h[4:6, 0:2] = 40.0 * torch.eye(2)  # f_1 reads the left h
        cell.weight_h[6:8, 0:2] = -40.0 * torch.eye(2)  # f_2 reads the left h, with the other sign
    children = cell.state_type(torch.tensor([[1.0, 1.0], [0.0, 0.0]], dtype=torch.float64),  # h_left, h_right
                               torch.tensor([[0.7, -0.4], [2.0, 3.0]], dtype=torch.float64))  # c_left, c_right
    level = batch_trees([ids("( 1 2 )")]).levels().__next__()
    c = cell.combine(children, level).c
    assert torch.allclose(c, torch.tensor([[0.7, -0.4]], dtype=torch.float64), atol=1e-12)


def test_left_and_right_are_told_apart():
    torch.manual_seed(0)
    cell = TreeLSTMCell(3, 4).double()
    vectors = torch.randn(3, 3, dtype=torch.float64)
    batch = batch_trees([ids("( 1 2 )"), ids("( 2 1 )")])
    h = evaluate_levels(cell, vectors[batch.leaf_tokens()], batch).h[batch.roots]
    assert not torch.allclose(h[0], h[1])


@pytest.mark.parametrize("bias", [True, False])
def test_gradcheck_of_the_level_batched_path(bias):
    torch.manual_seed(0)
    gradcheck_levels(TreeLSTMCell(2, 3, bias=bias), ["( ( 1 2 ) ( 3 ( 4 5 ) ) )", "6", "( 7 8 )"])


@pytest.mark.parametrize("arity", [0, 2])
def test_gradcheck_of_the_one_node_reference(arity):
    torch.manual_seed(0)
    gradcheck_node(TreeLSTMCell(2, 3), arity)


def test_parameters_and_repr():
    cell = TreeLSTMCell(5, 3)
    shapes = {name: tuple(p.shape) for name, p in cell.named_parameters()}
    assert shapes == {"weight_x": (9, 5), "weight_h": (15, 6), "bias": (12,)}
    assert repr(cell) == "TreeLSTMCell(5, 3, bias=True)"
    assert TreeLSTMCell(5, 3, bias=False).bias is None


def test_the_node_reference_refuses_other_arities():
    cell = TreeLSTMCell(2, 2)
    child = cell.state_type(torch.zeros(1, 2), torch.zeros(1, 2))
    with pytest.raises(ValueError, match=r"^tree_lstm combines exactly 2 children \(a binary tree\); got an inner "
                                         r"node with 3 children \(binarise the trees, or use child_sum_tree_lstm "
                                         r"for any number of children\)$"):
        cell.node(None, [child] * 3)
