"""Arithmetic expression trees: the evaluator on hand-computed cases, the binary trees and their per-node labels, the
docstring's worked example, the generator's depths and values against exact counts, seeds, the held-out rule and
depth generalisation, batches, metrics, bad settings, a learning check."""

from __future__ import annotations

import collections
import itertools
import re
import zlib

import pytest
import torch

import rnnlab.tasks.expression_trees as expression_trees
from rnnlab.models import SequenceClassifier
from rnnlab.tasks import registry
from rnnlab.tasks.expression_trees import ExpressionTreesTask, evaluate, expression_tree
from rnnlab.trees import TreeBatch, batch_trees, parse

from training_loop import train_until

# (prefix expression, value mod 10, depth), computed by hand
CASES = [
    ("+ 3 4", 7, 1),
    ("- 3 5", 8, 1),  # -2 mod 10
    ("* 7 8", 6, 1),  # 56
    ("* + 3 4 - 9 2", 9, 2),  # 7 × 7 = 49
    ("- 0 * 9 9", 9, 2),  # 0 - 81 = -81 -> 9
    ("+ * 2 5 - 1 - 4 8", 5, 3),  # 10 + (1 - (4 - 8)) = 10 + 5 = 15
    ("* * * 2 2 2 2", 6, 3),  # 16
    ("5", 5, 0),
]


def make(**config) -> ExpressionTreesTask:
    return ExpressionTreesTask(ExpressionTreesTask.Config(**config))


def depth_of(tokens) -> int:
    """The number of operators on the longest path, read independently: the deepest stack of pending operands."""
    deepest, pending = 0, []  # per open operator, how many operands it still needs
    for token in tokens:
        if token in "+-*":
            pending.append(2)
            deepest = max(deepest, len(pending))
        else:
            while pending:
                pending[-1] -= 1
                if pending[-1]:
                    break
                pending.pop()
    return deepest


@pytest.mark.parametrize("text, value, depth", CASES)
def test_the_evaluator_on_hand_computed_cases(text, value, depth):
    assert evaluate(text) == (value, depth)
    assert depth_of(text.split()) == depth


@pytest.mark.parametrize("text, message", [
    ("+ 3", "token 1 ('+') has fewer than two operands after it"),
    ("3 4", "2 expressions side by side, not one (an operator is missing)"),
    ("+ 3 4 5", "2 expressions side by side"),
    ("/ 3 4", "token 1 ('/') is not a token of the expressions (digits 0-9, + - *)"),
    ("+ 3 12", "token 3 ('12') is not a token"),
    ("", "an empty expression"),
])
def test_malformed_expressions_are_named(text, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        evaluate(text)


def test_the_tree_is_binary_with_the_operator_first_and_values_as_labels():
    tree = expression_tree("+ * 2 5 - 1 - 4 8")
    assert tree.to_text() == "( ( + ( ( * 2 ) 5 ) ) ( ( - 1 ) ( ( - 4 ) 8 ) ) )"
    assert parse(tree.to_text()).to_text() == tree.to_text()
    assert tree.leaves() == "+ * 2 5 - 1 - 4 8".split()
    inner = [node for node in tree.preorder() if node.children]
    assert all(len(node.children) == 2 for node in inner)
    # the completed operations in preorder: the root 15 -> 5, 2 × 5 = 10 -> 0, 1 - (-4) = 5, 4 - 8 -> 6
    completed = [node for node in inner if node.children[0].children and node.children[0].children[0].token in "+-*"]
    assert [node.label for node in completed] == [5, 0, 5, 6]
    assert all(node.label is None for node in inner if node not in completed)
    leaves = [node for node in tree.preorder() if not node.children]
    assert [node.label for node in leaves] == [None, None, 2, 5, None, 1, None, 4, 8]
    assert expression_tree("+ 3 4", leaf=ExpressionTreesTask.stoi.__getitem__).leaves() == [11, 4, 5]


def test_the_docstrings_worked_example():
    rows = {}
    for line in expression_trees.__doc__.splitlines():
        match = re.match(r"    (tokens|ids|label|tree) +(.*)", line)
        if match and match[1] not in rows:
            rows[match[1]] = match[2]
    text = " ".join(rows["tokens"].split())
    assert text == "* + 3 4 - 9 2" and evaluate(text) == (9, 2)
    ids = [int(i) for i in rows["ids"].split()]
    assert ids == [ExpressionTreesTask.stoi[t] for t in text.split()]
    assert int(rows["label"].split()[0]) == 9
    assert rows["tree"] == expression_tree(text).to_text()
    batch = make().make_batch([text])
    assert batch.inputs[:, 0].tolist() == ids and batch.targets.tolist() == [9]


def test_tokens_ids_and_defaults():
    assert ExpressionTreesTask.TOKENS == ("<pad>", *"0123456789", "+", "-", "*")
    assert ExpressionTreesTask.input_vocab == 14 and ExpressionTreesTask.output_size == 10
    assert registry.get("expression_trees") is ExpressionTreesTask
    assert (ExpressionTreesTask.output_kind, ExpressionTreesTask.main_metric, ExpressionTreesTask.main_metric_goal) \
        == ("last", "accuracy", "max")
    assert ExpressionTreesTask.Config() == ExpressionTreesTask.Config(min_depth=1, max_depth=4, test_min_depth=None,
                                                                      test_max_depth=None)
    assert make().test_depths == (1, 4) and make(test_min_depth=5, test_max_depth=7).test_depths == (5, 7)


# ---- the generator ------------------------------------------------------------------------------------------

def test_depths_are_uniform_and_exact():
    examples = make(min_depth=2, max_depth=5).examples(4000, torch.Generator().manual_seed(0))
    depths = collections.Counter(example.depth for example in examples)
    assert sorted(depths) == [2, 3, 4, 5]
    assert all(abs(count / 4000 - 0.25) < 0.03 for count in depths.values())
    assert all(example.depth == depth_of(example.tokens) for example in examples)
    assert all(example.label == evaluate(example.tokens)[0] for example in examples)
    # the mean size by depth: 2·L(d) − 1 tokens, L(d) = L(d − 1) + mean(L(0..d − 1)) leaves
    leaves = [1.0]
    for d in range(1, 6):
        leaves.append(leaves[-1] + sum(leaves) / d)
    for d in (4, 5):
        sizes = [len(example.tokens) for example in examples if example.depth == d]
        assert abs(sum(sizes) / len(sizes) - (2 * leaves[d] - 1)) < 0.1 * (2 * leaves[d] - 1)


def test_depth_one_values_have_the_exact_distribution():
    """Depth 1 is an operator over two uniform digits: P(v) = (1/10 + 1/10 + P(a·b ≡ v mod 10)) / 3, counted over
    the 100 pairs; the 29 held-out expressions (CRC-32 rule) leave the training side 271."""
    products = collections.Counter(a * b % 10 for a, b in itertools.product(range(10), repeat=2))
    exact = [(0.2 + products[v] / 100) / 3 for v in range(10)]
    assert products[0] == 27
    examples = make(max_depth=1).examples(20_000, torch.Generator().manual_seed(1))
    counts = collections.Counter(example.label for example in examples)
    held = {(op, a, b) for op in "+-*" for a in "0123456789" for b in "0123456789"
            if zlib.crc32(f"{op} {a} {b}".encode()) % 10 == 0}
    assert len(held) == 29
    # the training side lacks the held-out 29: its exact distribution is over the other 271, each equally likely
    side = collections.Counter(evaluate([op, a, b])[0] for op in "+-*" for a in "0123456789" for b in "0123456789"
                               if (op, a, b) not in held)
    for v in range(10):
        assert abs(counts[v] / 20_000 - side[v] / 271) < 0.012
        assert abs(side[v] / 271 - exact[v]) < 0.03
    assert {tuple(example.tokens) for example in examples} == {
        (op, a, b) for op in "+-*" for a in "0123456789" for b in "0123456789" if (op, a, b) not in held}


def test_same_seed_same_batch_and_no_global_rng():
    task = make()
    torch.manual_seed(3)
    state = torch.get_rng_state()
    a = task.sample(50, torch.Generator().manual_seed(5))
    assert torch.equal(torch.get_rng_state(), state)
    b = make().sample(50, torch.Generator().manual_seed(5))
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets)
    assert torch.equal(a.structure.children, b.structure.children)
    assert not torch.equal(a.inputs, task.sample(50, torch.Generator().manual_seed(6)).inputs)


def test_training_and_held_out_never_share_an_expression():
    task = make(max_depth=2)
    assert task.split_by_text
    train = {example.tokens for example in task.examples(5000, torch.Generator().manual_seed(2))}
    held = [example.tokens for example in task.held_out(1000, seed=0)]
    assert not train & set(held)
    assert len(held) - len(set(held)) > 100, "depth 1 and 2 expressions recur: collisions could show"
    assert all(zlib.crc32(" ".join(tokens).encode()) % 10 == 0 for tokens in held)


def test_depth_generalisation_sets_the_sides_apart_by_depth():
    task = make(min_depth=1, max_depth=3, test_min_depth=4, test_max_depth=6)
    assert not task.split_by_text
    assert {e.depth for e in task.examples(600, torch.Generator().manual_seed(0))} == {1, 2, 3}
    held = task.held_out(600, seed=0)
    assert {e.depth for e in held} == {4, 5, 6}
    batches = task.eval_set(600, seed=0)
    assert [b.targets.shape[0] for b in batches] == [500, 100]
    assert torch.cat([b.targets for b in batches]).tolist() == [e.label for e in held]
    assert make(min_depth=1, max_depth=3, test_min_depth=4, test_max_depth=6).held_out(600, seed=0) == held


def test_a_batch_holds_the_tokens_the_trees_and_the_values():
    task = make(max_depth=5)
    examples = task.examples(30, torch.Generator().manual_seed(4))
    batch = task.batch(examples)
    assert batch.inputs.dtype == torch.int64 and batch.inputs.shape == (int(batch.lengths.max()), 30)
    assert batch.lengths.tolist() == [len(e.tokens) for e in examples]
    real = torch.arange(batch.inputs.shape[0]).unsqueeze(1) < batch.lengths  # (T, B)
    assert (batch.inputs[~real] == 0).all() and (batch.inputs[real] > 0).all()
    for b, example in enumerate(examples):
        assert [ExpressionTreesTask.TOKENS[i] for i in batch.inputs[: len(example.tokens), b].tolist()] == \
            list(example.tokens)
    assert isinstance(batch.structure, TreeBatch) and batch.structure.arities == (2,)
    expected = batch_trees([expression_tree(e.tokens, leaf=task.stoi.__getitem__) for e in examples])
    assert torch.equal(batch.structure.tokens, expected.tokens) and torch.equal(batch.structure.labels, expected.labels)
    assert torch.equal(batch.structure.labels[batch.structure.roots], batch.targets)
    heights = [expression_tree(e.tokens).height() for e in examples]
    assert batch.structure.depth == max(heights)
    # ( ( op left ) right ): two levels above a deep left operand, one above a deep right one
    assert all(e.depth < h <= 2 * e.depth for e, h in zip(examples, heights))


def test_metrics_and_make_batch():
    task = make()
    batch = task.make_batch(["+ 3 4", "* 7 8"])  # 7, 6
    logits = torch.zeros(2, 10)
    logits[0, 7] = logits[1, 5] = 3.0
    got = task.metrics(logits, batch)
    assert got["accuracy"] == 0.5 and got["count"] == 2
    assert got["loss"] == pytest.approx(float(torch.nn.functional.cross_entropy(logits, torch.tensor([7, 6]))))
    with pytest.raises(ValueError, match=re.escape("expression_trees task: '+ 3': token 1 ('+') has fewer than two")):
        task.make_batch(["+ 3"])


@pytest.mark.parametrize("config, message", [
    ({"min_depth": 0}, "min_depth must be an int >= 1 (an expression of depth 0 is a digit); got 0"),
    ({"max_depth": 31}, "max_depth must be at most 30 (expressions of depth 30 hold about 9,000 tokens); got 31"),
    ({"max_depth": 2.0}, "max_depth must be an int >= 1"),
    ({"min_depth": 3, "max_depth": 2}, "min_depth 3 is above max_depth 2"),
    ({"test_min_depth": 5}, "the held-out depths run from 5 to 4 (test_min_depth, test_max_depth; none = the "
                            "training depth): none is left"),
    ({"test_max_depth": 0}, "test_max_depth must be an int >= 1"),
])
def test_bad_settings_name_the_field_and_the_value(config, message):
    with pytest.raises(ValueError, match=re.escape(f"expression_trees task: {message}")):
        make(**config)


def test_an_lstm_learns_depth_one_and_answers_unseen_expressions():
    """Depth 1, the 29 held-out expressions never seen in training: an LSTM on the tokens gets 45% of them within
    600 batches (at step 150 here, 1 s), from what it learnt of the other 271; the most frequent value, 0, is
    16%."""
    torch.manual_seed(0)
    task = make(max_depth=1)
    model = SequenceClassifier("lstm", None, 64, 10, input_vocab=task.input_vocab)
    got = train_until(task, model, lr=0.01, steps=600, check_every=50, held_out=500,
                      reached=lambda got: got["accuracy"] >= 0.45)
    assert got["accuracy"] >= 0.45
