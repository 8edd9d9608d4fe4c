"""Level batching: the layout of a hand example, d + 1 cell calls, equality with the node-by-node reference
(values and gradients of every node, float64, random trees of mixed shapes and depths), independence from
the other trees of the batch, narrow and to, and every bad input's message."""

import pytest
import torch

from rnnlab.trees import Tree, TreeLSTMState, batch_trees, create, evaluate_levels, evaluate_nodes, parse, random_trees

CELLS = ["tree_rnn", "tree_lstm", "child_sum_tree_lstm"]
VOCAB = 11


def ids(text: str) -> Tree:
    return parse(text).map_tokens(int)


def fields(state):
    return (state,) if isinstance(state, torch.Tensor) else tuple(state)


def mixed_trees(cell: str, seed: int = 0) -> list[Tree]:
    """Random trees of mixed sizes, heights and (for the Child-Sum cell) arities, with hand-made extremes."""
    generator = torch.Generator().manual_seed(seed)
    binary = create(cell, 4, 4).binary
    most = 2 if binary else 5
    trees = []
    for max_height in (None, 3, 6):
        trees += random_trees(5, generator, min_leaves=1, max_leaves=16, vocab_size=VOCAB, max_children=most,
                              max_height=max_height)
    trees += [ids("3"), ids("( ( ( ( 1 2 ) 3 ) 4 ) 5 )"), ids("( 1 ( 2 ( 3 ( 4 5 ) ) ) )")]
    if not binary:
        trees += [ids("( ( 7 ) 8 )"), ids("( ( ( 1 ) ) ( 2 3 4 5 6 7 ) )")]  # unary nodes, wide nodes
    return trees


def table(size: int) -> torch.Tensor:
    """A float64 token table: row t is token t's vector (row 0, padding, never read)."""
    return torch.randn(VOCAB, size, dtype=torch.float64, requires_grad=True)


def reference_in_batch_order(cell, trees, vectors, batch):
    """The node-by-node states placed at the batch's node indices: (N, H) per field."""
    per_tree = evaluate_nodes(cell, trees, lambda t: vectors[t : t + 1])
    out = [torch.zeros(batch.num_nodes, cell.hidden_size, dtype=torch.float64) for _ in fields(per_tree[0])]
    for b, state in enumerate(per_tree):
        index = batch.tree_nodes(b)
        for whole, part in zip(out, fields(state)):
            whole.index_copy_(0, index, part)
    return out


# ---- the layout -------------------------------------------------------------------------------

def test_layout_of_a_hand_example():
    tree0 = Tree(None, (ids("( 1 2 )"), Tree(3)), label=1)  # postorder: 1 2 (1 2) 3 root
    batch = batch_trees([tree0, ids("4"), ids("( 5 6 )")])
    # level 0: the leaves by tree, then postorder; level 1: (1 2) and (5 6); level 2: tree 0's root
    assert batch.level_offsets == (0, 6, 8, 9) and batch.edge_offsets == (0, 0, 4, 6)
    assert batch.tokens.tolist() == [1, 2, 3, 4, 5, 6, 0, 0, 0]
    assert batch.tree_of.tolist() == [0, 0, 0, 1, 2, 2, 0, 2, 0]
    assert batch.postorder.tolist() == [0, 1, 3, 0, 0, 1, 2, 2, 4]
    assert batch.labels.tolist() == [-1] * 8 + [1]
    assert batch.arity.tolist() == [0] * 6 + [2, 2, 2]
    assert batch.roots.tolist() == [8, 3, 7]
    assert batch.children.tolist() == [0, 1, 4, 5, 6, 2] and batch.parents.tolist() == [0, 0, 1, 1, 0, 0]
    assert (batch.size, batch.num_nodes, batch.num_leaves, batch.depth, batch.arities) == (3, 9, 6, 2, (2,))
    assert batch.leaf_tokens().tolist() == [1, 2, 3, 4, 5, 6]
    assert [(lv.height, lv.begin, lv.end, lv.count) for lv in batch.levels()] == [(1, 6, 8, 2), (2, 8, 9, 1)]
    assert batch.tree_nodes(0).tolist() == [0, 1, 6, 2, 8] and batch.tree_nodes(1).tolist() == [3]
    assert repr(batch) == "TreeBatch(size=3, nodes=9, leaves=6, depth=2, arities=(2,))"


def test_every_child_lies_on_a_lower_level_and_parents_are_consistent():
    batch = batch_trees(mixed_trees("child_sum_tree_lstm"))
    for level in batch.levels():
        assert (level.children < level.begin).all()
        assert torch.equal(torch.bincount(level.parents, minlength=level.count), batch.arity[level.begin:level.end])
        assert (level.parents[1:] >= level.parents[:-1]).all()  # grouped by parent, in level order
    assert set(batch.arities) == {1, 2, 3, 4, 5, 6}


@pytest.mark.parametrize("cell_name", CELLS)
def test_a_batch_of_depth_d_costs_d_plus_one_cell_calls(cell_name, monkeypatch):
    torch.manual_seed(0)
    cell = create(cell_name, 4, 4)
    trees = mixed_trees(cell_name)
    batch = batch_trees(trees)
    calls = {"leaf": 0, "combine": 0}
    for entry in calls:
        original = getattr(cell, entry)

        def counted(*args, _entry=entry, _original=original):
            calls[_entry] += 1
            return _original(*args)

        monkeypatch.setattr(cell, entry, counted)
    evaluate_levels(cell, torch.randn(batch.num_leaves, 4), batch)
    assert calls == {"leaf": 1, "combine": batch.depth}
    assert batch.depth == max(t.height() for t in trees) and batch.num_nodes == sum(t.size() for t in trees)


# ---- equal to the node-by-node reference --------------------------------------------------------

@pytest.mark.parametrize("cell_name", CELLS)
@pytest.mark.parametrize("seed", [0, 1])
def test_every_node_and_gradient_equals_the_node_by_node_reference(cell_name, seed):
    torch.manual_seed(seed)
    cell = create(cell_name, 5, 5).double()
    trees = mixed_trees(cell_name, seed)
    batch = batch_trees(trees)
    vectors = table(5)
    levels = fields(evaluate_levels(cell, vectors[batch.leaf_tokens()], batch))
    nodes = reference_in_batch_order(cell, trees, vectors, batch)
    for got, want in zip(levels, nodes):
        assert got.shape == (batch.num_nodes, 5)
        assert torch.allclose(got, want, atol=1e-6, rtol=0)
    weights = [torch.randn_like(f) for f in levels]  # a loss that reads every node's every field
    grads = []
    for states in (levels, nodes):
        loss = sum((w * f).sum() for w, f in zip(weights, states))
        grads.append(torch.autograd.grad(loss, [vectors, *cell.parameters()]))
    for got, want in zip(*grads):
        assert torch.allclose(got, want, atol=1e-6, rtol=0)
    assert grads[0][0].abs().sum() > 0  # the token vectors do get a gradient


@pytest.mark.parametrize("cell_name", CELLS)
def test_a_tree_does_not_depend_on_the_other_trees_of_its_batch(cell_name):
    torch.manual_seed(0)
    cell = create(cell_name, 4, 4).double()
    trees = mixed_trees(cell_name)
    vectors = table(4).detach()

    def roots(batch_of_trees):
        batch = batch_trees(batch_of_trees)
        return fields(evaluate_levels(cell, vectors[batch.leaf_tokens()], batch))[0][batch.roots]

    together = roots(trees)
    order = torch.randperm(len(trees), generator=torch.Generator().manual_seed(1)).tolist()
    shuffled = roots([trees[i] for i in order])
    assert torch.allclose(shuffled, together[order], atol=1e-12, rtol=0)
    for b in (0, 6, len(trees) - 1):
        assert torch.allclose(roots([trees[b]]), together[b : b + 1], atol=1e-12, rtol=0)
    deep = ids("( " * 30 + "1" + " 2 )" * 30)  # a much deeper neighbour changes nothing either
    assert torch.allclose(roots([deep, trees[3]])[1], together[3], atol=1e-12, rtol=0)


def test_a_deep_chain_equals_a_plain_loop():
    """1,200 levels (beyond the recursion limit of a recursive reference): the Tree-RNN along the left spine
    is h ← tanh(W_left h + W_right x_t + b), checked against that loop."""
    torch.manual_seed(0)
    depth = 1200
    cell = create("tree_rnn", 3, 3).double()
    batch = batch_trees([ids("( " * depth + "1" + " 2 )" * depth)])
    vectors = table(3).detach()
    h = fields(evaluate_levels(cell, vectors[batch.leaf_tokens()], batch))[0][batch.roots][0]
    expected = vectors[1]
    for _ in range(depth):
        expected = torch.tanh(cell.weight[:, :3] @ expected + cell.weight[:, 3:] @ vectors[2] + cell.bias)
    assert batch.depth == depth and torch.allclose(h, expected, atol=1e-12)


# ---- narrow and to ------------------------------------------------------------------------------

_FIELDS = ("tokens", "labels", "arity", "tree_of", "postorder", "roots", "children", "parents", "level_offsets",
           "edge_offsets", "arities", "size")


def assert_same_batch(a, b):
    for name in _FIELDS:
        x, y = getattr(a, name), getattr(b, name)
        assert (torch.equal(x, y) if isinstance(x, torch.Tensor) else x == y), name


def test_narrow_equals_batching_the_slice():
    trees = mixed_trees("child_sum_tree_lstm")
    trees = [t if i % 3 else Tree(t.token, t.children, label=i) for i, t in enumerate(trees)]  # some labels
    batch = batch_trees(trees)
    for begin, end in [(0, 1), (0, 7), (3, 9), (10, len(trees)), (len(trees) - 1, len(trees)), (0, len(trees))]:
        assert_same_batch(batch.narrow(begin, end), batch_trees(trees[begin:end]))
    assert_same_batch(batch.narrow(2, 12).narrow(3, 7), batch_trees(trees[5:9]))


@pytest.mark.parametrize("cell_name", CELLS)
def test_a_batch_of_leaves_alone_is_one_cell_call(cell_name):
    torch.manual_seed(0)
    cell = create(cell_name, 3, 3).double()
    trees = [ids("( ( 1 2 ) ( 3 4 ) )"), ids("5"), ids("6")]
    batch = batch_trees(trees).narrow(1, 3)
    assert (batch.depth, batch.num_nodes, batch.arities, batch.level_offsets) == (0, 2, (), (0, 2))
    assert_same_batch(batch, batch_trees(trees[1:]))
    vectors = table(3).detach()
    state = evaluate_levels(cell, vectors[batch.leaf_tokens()], batch)
    want = reference_in_batch_order(cell, trees[1:], vectors, batch)
    for got, expected in zip(fields(state), want):
        assert torch.allclose(got, expected, atol=1e-12)


def test_to_moves_the_tensors_and_keeps_the_schedule():
    batch = batch_trees(mixed_trees("tree_lstm"))
    moved = batch.to("cpu")
    assert_same_batch(moved, batch)
    assert moved.device == torch.device("cpu")


# ---- bad inputs ---------------------------------------------------------------------------------

@pytest.mark.parametrize("trees, kind, message", [
    ([], ValueError, "batch_trees: no trees (a batch needs at least one)"),
    (Tree(1), TypeError, "batch_trees expects a sequence of Trees; got Tree"),
    ("( 1 2 )", TypeError, "batch_trees expects a sequence of Trees; got str"),
    ([Tree(1), "( 1 2 )"], TypeError, "batch_trees: item 1 is a str, not a Tree"),
    ([parse("( a b )")], TypeError, "batch_trees: tree 0 has the leaf token 'a' (str); leaf tokens must be int ids "
                                    "(map them with Tree.map_tokens)"),
    ([Tree(1), Tree(True)], TypeError, "batch_trees: tree 1 has the leaf token True (bool); leaf tokens must be int"),
    ([Tree(None, (Tree(0), Tree(1)))], ValueError,
     "batch_trees: tree 0 has the leaf token id 0; ids start at 1 (0 is padding, never a real token)"),
    ([Tree(-3)], ValueError, "batch_trees: tree 0 has the leaf token id -3; ids start at 1"),
    ([Tree(None, (Tree(1, label=-2), Tree(1)))], ValueError,
     "batch_trees: tree 0 has the node label -2; labels are classes >= 0"),
])
def test_batch_trees_errors(trees, kind, message):
    with pytest.raises(kind) as error:
        batch_trees(trees)
    assert str(error.value).startswith(message)


@pytest.mark.parametrize("begin, end", [(2, 2), (3, 1), (-1, 2), (0, 5), (0.0, 1)])
def test_narrow_refuses_empty_or_outside_slices(begin, end):
    batch = batch_trees([ids("( 1 2 )"), ids("3"), ids("( 4 5 )"), ids("6")])
    with pytest.raises(ValueError) as error:
        batch.narrow(begin, end)
    assert str(error.value) == f"TreeBatch.narrow: trees {begin}:{end} are not a non-empty slice of a batch of 4 trees"


def test_tree_nodes_refuses_an_index_outside_the_batch():
    with pytest.raises(IndexError, match=r"^TreeBatch: tree 2 is out of range for a batch of 2 trees$"):
        batch_trees([ids("1"), ids("2")]).tree_nodes(2)


def test_evaluate_levels_checks_the_leaf_inputs():
    cell = create("tree_lstm", 4, 3)
    batch = batch_trees([ids("( 1 2 )"), ids("( 3 ( 4 5 ) )")])
    with pytest.raises(ValueError) as error:
        evaluate_levels(cell, torch.zeros(5, 3), batch)
    assert str(error.value) == ("TreeLSTMCell expects leaf inputs of shape (5, 4) (the batch's leaves, the cell's "
                                "input size); got (5, 3)")
    with pytest.raises(ValueError, match=r"got list$"):
        evaluate_levels(cell, [[0.0] * 4] * 5, batch)


@pytest.mark.parametrize("cell_name", ["tree_rnn", "tree_lstm"])
@pytest.mark.parametrize("text, arity", [("( 1 2 3 )", "3 children"), ("( ( 1 ) 2 )", "1 child")])
def test_binary_cells_refuse_other_arities_before_any_work(cell_name, text, arity, monkeypatch):
    cell = create(cell_name, 4, 4)
    monkeypatch.setattr(cell, "leaf", lambda x: pytest.fail("work done before the check"))
    batch = batch_trees([ids("( 1 2 )"), ids(text)])
    with pytest.raises(ValueError) as error:
        evaluate_levels(cell, torch.zeros(batch.num_leaves, 4), batch)
    assert str(error.value) == (f"{cell_name} combines exactly 2 children (a binary tree); got an inner node with "
                                f"{arity} (binarise the trees, or use child_sum_tree_lstm for any number of "
                                "children)")


def test_tree_lstm_state_is_h_then_c():
    cell = create("tree_lstm", 2, 3)
    batch = batch_trees([ids("( 1 2 )")])
    state = evaluate_levels(cell, torch.randn(2, 2), batch)
    assert isinstance(state, TreeLSTMState) and state.h.shape == state.c.shape == (3, 3)
