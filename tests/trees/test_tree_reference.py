"""The node-by-node reference (trees/reference.py): its two ways of calling a cell agree (values and
gradients), its layout, and what it refuses."""

import pytest
import torch
from tree_checks import ids

from rnnlab.trees import create, evaluate_nodes, random_trees

CELLS = ["tree_rnn", "tree_lstm", "child_sum_tree_lstm"]


def fields(state):
    return (state,) if isinstance(state, torch.Tensor) else tuple(state)


@pytest.mark.parametrize("cell_name", CELLS)
def test_literal_equations_and_fused_entries_agree(cell_name):
    torch.manual_seed(0)
    cell = create(cell_name, 4, 4).double()
    most = 2 if cell.binary else 4
    trees = random_trees(8, torch.Generator().manual_seed(0), min_leaves=1, max_leaves=12, vocab_size=6,
                         max_children=most)
    vectors = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)
    results = []
    for literal in (True, False):
        states = evaluate_nodes(cell, trees, lambda t: vectors[t : t + 1], literal=literal)
        loss = sum((f ** 2).sum() for s in states for f in fields(s))
        results.append((states, torch.autograd.grad(loss, [vectors, *cell.parameters()])))
    (literal, grads_literal), (fused, grads_fused) = results
    for a, b in zip(literal, fused):
        for x, y in zip(fields(a), fields(b)):
            assert torch.allclose(x, y, atol=1e-12)
    for x, y in zip(grads_literal, grads_fused):
        assert torch.allclose(x, y, atol=1e-12)


def test_states_come_per_tree_in_postorder():
    cell = create("tree_rnn", 2, 2).double()
    vectors = torch.randn(5, 2, dtype=torch.float64)
    (first, second) = evaluate_nodes(cell, [ids("( 1 ( 2 3 ) )"), ids("4")], lambda t: vectors[t : t + 1])
    assert first.shape == (5, 2) and second.shape == (1, 2)
    assert torch.equal(first[:3], vectors[1:4]) and torch.equal(second[0], vectors[4])  # leaves are their vectors
    assert torch.allclose(first[3], cell.node(None, [vectors[2:3], vectors[3:4]])[0])


@pytest.mark.parametrize("literal", [True, False])
def test_binary_cells_refuse_other_arities_node_by_node(literal):
    cell = create("tree_lstm", 2, 2)
    with pytest.raises(ValueError, match=r"^tree_lstm combines exactly 2 children \(a binary tree\); got an inner "
                                         r"node with 3 children"):
        evaluate_nodes(cell, [ids("( 1 2 3 )")], lambda t: torch.zeros(1, 2), literal=literal)
