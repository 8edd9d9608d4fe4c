"""The Child-Sum Tree-LSTM (Tai et al. 2015, eqs. 2–8): a hand-computed tree, a forget gate per child, any
arity, children unordered, gradcheck in float64."""

import math

import pytest
import torch
from tree_checks import gradcheck_levels, gradcheck_node, ids

from rnnlab.trees import ChildSumTreeLSTMCell, batch_trees, evaluate_levels, evaluate_nodes


def sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


# H = I = 1: W^(i), W^(o), W^(u); U^(i), U^(o), U^(u); U^(f); b^(i), b^(o), b^(f), b^(u)
W = {"i": -0.5, "o": 0.7, "u": 1.3}
U = {"i": 0.6, "o": -0.8, "u": 1.2, "f": -1.1}
B = {"i": 0.2, "o": 0.1, "f": 0.9, "u": -0.15}


def scalar_cell() -> ChildSumTreeLSTMCell:
    cell = ChildSumTreeLSTMCell(1, 1).double()
    with torch.no_grad():
        cell.weight_x.copy_(torch.tensor([[W["i"]], [W["o"]], [W["u"]]], dtype=torch.float64))
        cell.weight_iou.copy_(torch.tensor([[U["i"]], [U["o"]], [U["u"]]], dtype=torch.float64))
        cell.weight_f.copy_(torch.tensor([[U["f"]]], dtype=torch.float64))
        cell.bias.copy_(torch.tensor([B["i"], B["o"], B["f"], B["u"]], dtype=torch.float64))
    return cell


def by_hand_leaf(x: float) -> tuple[float, float]:
    i, o, u = sigmoid(W["i"] * x + B["i"]), sigmoid(W["o"] * x + B["o"]), math.tanh(W["u"] * x + B["u"])
    c = i * u
    return o * math.tanh(c), c


def by_hand_node(*children: tuple[float, float]) -> tuple[float, float]:
    h_sum = sum(h for h, _ in children)  # (2)
    i, o = sigmoid(U["i"] * h_sum + B["i"]), sigmoid(U["o"] * h_sum + B["o"])
    u = math.tanh(U["u"] * h_sum + B["u"])
    c = i * u + sum(sigmoid(U["f"] * h + B["f"]) * c_k for h, c_k in children)  # (4), (7): f_jk from h_k
    return o * math.tanh(c), c


def test_a_hand_computed_tree():
    """( 1 ( 2 ) ( 3 4 1 ) ): a unary node and a ternary one."""
    x = {1: 0.9, 2: -1.7, 3: 0.35, 4: 1.25}
    leaf = {t: by_hand_leaf(v) for t, v in x.items()}
    unary = by_hand_node(leaf[2])
    ternary = by_hand_node(leaf[3], leaf[4], leaf[1])
    root = by_hand_node(leaf[1], unary, ternary)
    expected = [leaf[1], leaf[2], unary, leaf[3], leaf[4], leaf[1], ternary, root]  # postorder
    cell = scalar_cell()
    vectors = torch.tensor([[0.0]] + [[x[t]] for t in (1, 2, 3, 4)], dtype=torch.float64)
    tree = ids("( 1 ( 2 ) ( 3 4 1 ) )")
    batch = batch_trees([tree])
    state = evaluate_levels(cell, vectors[batch.leaf_tokens()], batch)
    order = batch.tree_nodes(0)
    assert state.h[order].flatten().tolist() == pytest.approx([h for h, _ in expected], abs=1e-14)
    assert state.c[order].flatten().tolist() == pytest.approx([c for _, c in expected], abs=1e-14)
    nodes = evaluate_nodes(cell, [tree], lambda t: vectors[t : t + 1])[0]
    assert nodes.h.flatten().tolist() == pytest.approx([h for h, _ in expected], abs=1e-14)


def test_children_are_unordered():
    torch.manual_seed(0)
    cell = ChildSumTreeLSTMCell(3, 4).double()
    vectors = torch.randn(6, 3, dtype=torch.float64)
    batch = batch_trees([ids("( 1 ( 2 3 ) 4 5 )"), ids("( 5 4 ( 3 2 ) 1 )"), ids("( ( 2 3 ) 1 5 4 )")])
    h = evaluate_levels(cell, vectors[batch.leaf_tokens()], batch).h[batch.roots]
    assert torch.allclose(h[1], h[0], atol=1e-12) and torch.allclose(h[2], h[0], atol=1e-12)


def test_each_child_has_its_own_forget_gate():
    """f_jk = σ(U^(f) h_k + b^(f)) reads its own child: a child with h = +1 keeps its memory, h = −1 drops it."""
    cell = ChildSumTreeLSTMCell(1, 1).double()
    with torch.no_grad():
        for p in cell.parameters():
            p.zero_()
        cell.weight_f.fill_(40.0)
        cell.bias[0] = -40.0  # i ≈ 0
    children = cell.state_type(torch.tensor([[1.0], [-1.0]], dtype=torch.float64),
                               torch.tensor([[0.8], [5.0]], dtype=torch.float64))
    level = next(batch_trees([ids("( 1 2 )")]).levels())
    assert cell.combine(children, level).c.item() == pytest.approx(0.8, abs=1e-12)


@pytest.mark.parametrize("bias", [True, False])
def test_gradcheck_of_the_level_batched_path(bias):
    torch.manual_seed(0)
    gradcheck_levels(ChildSumTreeLSTMCell(2, 3, bias=bias),
                     ["( ( 1 2 3 ) ( 4 ) ( 5 ( 6 7 ) ) )", "8", "( 1 2 )", "( ( ( 3 ) ) )"])


@pytest.mark.parametrize("arity", [0, 1, 3])
def test_gradcheck_of_the_one_node_reference(arity):
    torch.manual_seed(0)
    gradcheck_node(ChildSumTreeLSTMCell(2, 3), arity)


def test_parameters_and_repr():
    cell = ChildSumTreeLSTMCell(5, 3)
    shapes = {name: tuple(p.shape) for name, p in cell.named_parameters()}
    assert shapes == {"weight_x": (9, 5), "weight_iou": (9, 3), "weight_f": (3, 3), "bias": (12,)}
    assert repr(cell) == "ChildSumTreeLSTMCell(5, 3, bias=True)" and not cell.binary
