"""TreeClassifier (tree→1): equal to its node-by-node forward (values and gradients), per-node outputs, the
trainer's calling convention (inputs ignored, structure narrowed), every bad input's message, and small
learning checks: the parity of random binary trees of bits."""

import pytest
import torch
from torch.nn import functional as F

from rnnlab.models.tree_classifier import TreeClassifier
from rnnlab.trees import Tree, batch_trees, parse, random_trees

CELLS = ["tree_rnn", "tree_lstm", "child_sum_tree_lstm"]
VOCAB = 9


def ids(text: str) -> Tree:
    return parse(text).map_tokens(int)


def trees_for(cell: str, count: int = 12, seed: int = 0) -> list[Tree]:
    most = 4 if cell == "child_sum_tree_lstm" else 2
    return random_trees(count, torch.Generator().manual_seed(seed), min_leaves=1, max_leaves=14, vocab_size=VOCAB,
                        max_children=most)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("literal", [True, False])
def test_equals_the_node_by_node_forward(cell, literal):
    torch.manual_seed(0)
    embedding = None if cell == "tree_rnn" else 3
    model = TreeClassifier(VOCAB, 5, 4, cell=cell, embedding_size=embedding).double()
    trees = trees_for(cell)
    targets = torch.randint(4, (len(trees),))
    results = []
    for run in (lambda: model(None, structure=batch_trees(trees)),
                lambda: model.reference_forward(trees, literal=literal)):
        logits, state = run()
        h = state.h
        grads = torch.autograd.grad(F.cross_entropy(logits, targets), list(model.parameters()))
        results.append((logits, h, grads))
    (logits, h, grads), (ref_logits, ref_h, ref_grads) = results
    assert logits.shape == (len(trees), 4) and h.shape == (len(trees), 5)
    assert torch.allclose(logits, ref_logits, atol=1e-6, rtol=0) and torch.allclose(h, ref_h, atol=1e-6, rtol=0)
    for got, want in zip(grads, ref_grads):
        assert torch.allclose(got, want, atol=1e-6, rtol=0)


@pytest.mark.parametrize("cell", CELLS)
def test_node_outputs_read_out_every_node(cell):
    torch.manual_seed(0)
    model = TreeClassifier(VOCAB, 6, 3, cell=cell).double()
    trees = trees_for(cell)
    batch = batch_trees(trees)
    logits, h = model.node_outputs(batch)
    assert logits.shape == (batch.num_nodes, 3) and h.shape == (batch.num_nodes, 6)
    root_logits, state = model(None, structure=batch)
    assert torch.allclose(logits[batch.roots], root_logits, atol=1e-12)
    assert torch.allclose(h[batch.roots], state.h, atol=1e-12) and state.auxiliary_loss is None
    # a leaf's row is its token's: the same token gives the same row wherever it is
    leaves = batch.leaf_tokens()
    first = leaves[0].item()
    same = (leaves == first).nonzero().squeeze(1)
    assert torch.allclose(logits[same], logits[same[:1]].expand(len(same), -1), atol=1e-12)


def test_the_trainers_call_inputs_ignored_and_a_narrowed_structure():
    torch.manual_seed(0)
    model = TreeClassifier(VOCAB, 4, 2).double()
    trees = trees_for("tree_lstm")
    batch = batch_trees(trees)
    tokens = torch.randint(VOCAB, (15, len(trees)))
    a, _ = model(tokens, lengths=torch.full((len(trees),), 15), state=None, structure=batch)
    b, _ = model(torch.zeros_like(tokens), structure=batch)
    assert torch.equal(a, b) and model.reads_structure
    part, _ = model(tokens[:, 3:8], structure=batch.narrow(3, 8))
    assert torch.allclose(part, a[3:8], atol=1e-12)


def test_float32_by_default_and_repr():
    model = TreeClassifier(VOCAB, 4, 2, cell="child_sum_tree_lstm")
    logits, _ = model(None, structure=batch_trees(trees_for("child_sum_tree_lstm")))
    assert logits.dtype == torch.float32
    assert "cell='child_sum_tree_lstm'" in repr(model)
    assert model.embedding.weight.shape == (VOCAB, 4)  # embedding_size None: hidden_size


# ---- bad inputs ---------------------------------------------------------------------------------

@pytest.mark.parametrize("options, kind, message", [
    (dict(cell="tree_gru"), ValueError,
     "TreeClassifier: unknown cell 'tree_gru'; tree cells: tree_rnn, tree_lstm, child_sum_tree_lstm"),
    (dict(cell="tree_rnn", embedding_size=8), ValueError,
     "tree_rnn uses the token's vector as the leaf's state (Socher et al. 2011), so input_size must equal "
     "hidden_size; got input_size=8, hidden_size=4"),
    (dict(cell="tree_lstm", proj_size=2), TypeError, "tree cell 'tree_lstm' does not take the option 'proj_size'"),
    (dict(embedding_size=0), ValueError, "embedding_size must be a positive int; got 0"),
])
def test_bad_settings(options, kind, message):
    with pytest.raises(kind) as error:
        TreeClassifier(VOCAB, 4, 2, **options)
    assert str(error.value) == message


@pytest.mark.parametrize("sizes, kind, message", [
    ((1, 4, 2), ValueError, "TreeClassifier: vocab_size must be >= 2 (id 0 is padding, never a real token); got 1"),
    ((VOCAB, 0, 2), ValueError, "hidden_size must be a positive int; got 0"),
    ((VOCAB, 4, None), TypeError, "output_size must be a positive int; got None of type NoneType"),
])
def test_bad_sizes(sizes, kind, message):
    with pytest.raises(kind) as error:
        TreeClassifier(*sizes)
    assert str(error.value) == message


def test_bad_calls():
    model = TreeClassifier(VOCAB, 4, 2)
    batch = batch_trees([ids("( 1 2 )"), ids("( 3 ( 4 5 ) )")])
    with pytest.raises(TypeError, match=r"^TreeClassifier expects structure= a TreeBatch \(rnnlab.trees.batch_trees\); "
                                        r"got list$"):
        model(None, structure=[ids("( 1 2 )")])
    with pytest.raises(ValueError, match=r"^TreeClassifier carries no state from batch to batch; got a state "
                                         r"\(pass state=None\)$"):
        model(None, state=torch.zeros(2, 4), structure=batch)
    with pytest.raises(ValueError, match=r"^TreeClassifier: the inputs hold 3 sequences \(T, B\) but the structure "
                                         r"2 trees; they must be the same examples$"):
        model(torch.ones(4, 3, dtype=torch.long), structure=batch)
    with pytest.raises(ValueError, match=r"^TreeClassifier: token ids must lie in \[1, 9\) \(the vocabulary size\); "
                                         r"got a leaf with id 9$"):
        model(None, structure=batch_trees([ids("( 1 9 )")]))
    with pytest.raises(ValueError, match=r"^tree_lstm combines exactly 2 children \(a binary tree\); got an inner "
                                         r"node with 3 children"):
        model(None, structure=batch_trees([ids("( 1 2 3 )")]))
    with pytest.raises(ValueError, match=r"^TreeClassifier: token ids must lie in \[1, 9\); got 12$"):
        model.reference_forward([ids("( 1 12 )")])
    with pytest.raises(TypeError, match=r"^TreeClassifier expects structure= a TreeBatch"):
        model.node_outputs(None)


# ---- learning -----------------------------------------------------------------------------------

def with_parity(tree: Tree) -> Tree:
    """Token 1 is the bit 0, token 2 the bit 1; every node labelled with the parity of the bits below it."""
    if tree.is_leaf():
        return Tree(tree.token, (), tree.token - 1)
    children = tuple(with_parity(child) for child in tree.children)
    return Tree(None, children, sum(child.label for child in children) % 2)


def parity_trees(count: int, generator: torch.Generator, max_children: int) -> list[Tree]:
    return [with_parity(t) for t in random_trees(count, generator, min_leaves=2, max_leaves=8, vocab_size=3,
                                                 max_children=max_children)]


@pytest.mark.parametrize("cell, per_node, goal", [
    ("tree_lstm", False, 0.95),  # the root's label alone
    ("tree_rnn", True, 0.95),  # every node's label (node_outputs)
    ("child_sum_tree_lstm", True, 0.85),  # up to 3 children a node, unordered sums: harder, a lower goal
])
def test_learns_the_parity_of_random_trees(cell, per_node, goal):
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    max_children = 3 if cell == "child_sum_tree_lstm" else 2
    model = TreeClassifier(3, 16, 2, cell=cell)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.03)
    for _ in range(150):
        trees = parity_trees(64, generator, max_children)
        batch = batch_trees(trees)
        if per_node:
            logits, _ = model.node_outputs(batch)
            loss = F.cross_entropy(logits, batch.labels, ignore_index=-1)
        else:
            logits, _ = model(None, structure=batch)
            loss = F.cross_entropy(logits, torch.tensor([t.label for t in trees]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    fresh = parity_trees(1000, torch.Generator().manual_seed(99), max_children)
    with torch.no_grad():
        logits, _ = model(None, structure=batch_trees(fresh))
    accuracy = (logits.argmax(1) == torch.tensor([t.label for t in fresh])).float().mean().item()
    assert accuracy >= goal, f"{cell}: parity accuracy {accuracy:.3f} on fresh trees"


def test_node_labels_train_the_labelled_inner_nodes_but_the_roots():
    torch.manual_seed(0)
    model = TreeClassifier(VOCAB, 6, 3, cell="tree_lstm", node_labels=0.5).double()
    labelled = [Tree(children=(Tree(children=(Tree(1), Tree(2)), label=2), Tree(3)), label=1),  # one inner label
                Tree(children=(Tree(1, label=0), Tree(children=(Tree(2), Tree(3)), label=1)), label=2)]
    batch = batch_trees(labelled)
    logits, h = model.node_outputs(batch)
    inner = (batch.arity > 0) & (batch.labels >= 0)
    inner[batch.roots] = False
    assert int(inner.sum()) == 2  # the two labelled inner nodes that are not roots; the leaf's label is left out
    expected = 0.5 * F.cross_entropy(logits[inner], batch.labels[inner])
    _, state = model(None, structure=batch)
    assert torch.allclose(state.auxiliary_loss, expected, atol=1e-12)
    state.auxiliary_loss.backward()
    assert model.readout.weight.grad.abs().sum() > 0
    unlabelled = batch_trees([Tree(children=(Tree(1), Tree(2)), label=1)])
    assert float(model(None, structure=unlabelled)[1].auxiliary_loss) == 0.0


@pytest.mark.parametrize("value", [-1.0, "1", True, float("nan")])
def test_node_labels_must_be_a_weight(value):
    with pytest.raises(ValueError, match=r"^TreeClassifier: node_labels must be a number >= 0"):
        TreeClassifier(VOCAB, 6, 3, node_labels=value)
