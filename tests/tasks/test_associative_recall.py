"""Associative recall (Graves et al. 2014, NTM §4.3): the layout of every sample read back from the batch,
the answer is the item after the query, the docstring's worked example, seeds, metrics, settings."""

from __future__ import annotations

import re

import pytest
import torch

import rnnlab.tasks.associative_recall
from rnnlab.tasks.associative_recall import AssociativeRecallTask
from rnnlab.tasks.base import Batch
from worked_examples import docstring_table


def sample(batch_size=64, seed=0, **config):
    task = AssociativeRecallTask(AssociativeRecallTask.Config(**config))
    return task, task.sample(batch_size, torch.Generator().manual_seed(seed))


def read_back(task: AssociativeRecallTask, batch: Batch, b: int) -> tuple[list[torch.Tensor], torch.Tensor, int]:
    """(items, query, k) of sequence b, read from its inputs and checked against the layout: k items, each
    an item delimiter alone then ℓ vectors; the query delimiter alone, the query, the query delimiter again;
    zeros after.  Items and query are (ℓ, W) tensors."""
    W, ell = task.config.bits, task.config.item_length
    s = ell + 1
    x = batch.inputs[:, b]
    item_delimiters = torch.nonzero(x[:, W] == 1).squeeze(1).tolist()
    k = len(item_delimiters)
    assert item_delimiters == [s * i for i in range(k)]
    assert torch.nonzero(x[:, W + 1] == 1).squeeze(1).tolist() == [s * k, s * (k + 1)]
    delimiter, query_delimiter = torch.eye(W + 2)[W], torch.eye(W + 2)[W + 1]
    items = []
    for i in range(k):
        assert torch.equal(x[s * i], delimiter)
        item = x[s * i + 1 : s * i + s]
        assert ((item[:, :W] == 0) | (item[:, :W] == 1)).all() and (item[:, W:] == 0).all()
        items.append(item[:, :W])
    assert torch.equal(x[s * k], query_delimiter) and torch.equal(x[s * (k + 1)], query_delimiter)
    query = x[s * k + 1 : s * k + s]
    assert (query[:, W:] == 0).all()
    assert (x[s * (k + 1) + 1 :] == 0).all(), "no input while answering, nor past the length"
    return items, query[:, :W], k


def check_layout(task: AssociativeRecallTask, batch: Batch) -> list[int]:
    """Every sequence follows the layout, its query is one of its items but the last, and its target is
    the item after it, scored exactly at the ℓ answer steps.  Returns the query's place in each sequence."""
    W, ell, c = task.config.bits, task.config.item_length, task.config
    s = ell + 1
    T, B, _ = batch.inputs.shape
    places = []
    for b in range(B):
        items, query, k = read_back(task, batch, b)
        assert c.min_items <= k <= c.max_items
        total = s * (k + 1) + ell + 1
        assert (batch.lengths is None and total == T) or int(batch.lengths[b]) == total
        y = batch.targets[:, b]
        answer = y[s * (k + 1) + 1 : total]
        assert (answer[:, W] == 1).all() and (y[: s * (k + 1) + 1] == 0).all() and (y[total:] == 0).all()
        # the query is an item with a successor, and the answer is that successor
        candidates = [q for q in range(k - 1) if torch.equal(items[q], query) and torch.equal(items[q + 1],
                                                                                                answer[:, :W])]
        assert candidates, f"sequence {b}: the target is not the item after the query"
        places.append(candidates[0])
    return places


def test_shapes_dtypes_and_class_attributes():
    task, batch = sample(32)
    assert (task.input_size, task.output_size, task.output_kind) == (8, 6, "every")
    assert (task.main_metric, task.main_metric_goal) == ("bit_errors_per_sequence", "min")
    T = batch.inputs.shape[0]
    assert batch.inputs.shape == (T, 32, 8) and batch.inputs.dtype == torch.float32
    assert batch.targets.shape == (T, 32, 7) and batch.targets.dtype == torch.float32
    assert batch.lengths.shape == (32,) and batch.lengths.dtype == torch.int64
    assert T == int(batch.lengths.max()) <= 4 * 7 + 4


@pytest.mark.parametrize("config", [{}, {"bits": 3, "item_length": 1, "min_items": 4, "max_items": 9},
                                    {"min_items": 2, "max_items": 2}])
def test_every_sample_follows_the_layout_and_recalls_the_next_item(config):
    task, batch = sample(200, **config)
    check_layout(task, batch)


def test_item_counts_and_queries_cover_their_ranges():
    """k uniform in 2..6; the query is any item but the last: with k = 6, places 0..4 all occur, 5 never."""
    task, batch = sample(600, seed=1)
    counts = [len(torch.nonzero(batch.inputs[:, b, 6] == 1)) for b in range(600)]
    assert set(counts) == set(range(2, 7))
    task, batch = sample(300, seed=2, min_items=6, max_items=6)
    places = check_layout(task, batch)
    assert set(places) == set(range(5))


def test_the_docstrings_worked_example():
    rows = docstring_table(rnnlab.tasks.associative_recall)
    inputs = torch.tensor([rows[f"x[{i}]"] for i in range(4)]).T.unsqueeze(1)  # (15, 1, 4)
    targets = torch.tensor([rows[f"y[{i}]"] for i in range(3)]).T.unsqueeze(1)  # (15, 1, 3)
    task = AssociativeRecallTask(AssociativeRecallTask.Config(bits=2, item_length=2, min_items=3, max_items=3))
    items = torch.tensor([[[1, 0], [1, 1]], [[0, 1], [1, 0]], [[0, 0], [1, 1]]]).float().unsqueeze(2)  # (3, 2, 1, 2)
    batch = task.make_batch(items, torch.tensor([3]), torch.tensor([0]))
    assert torch.equal(batch.inputs, inputs) and torch.equal(batch.targets, targets)
    assert batch.lengths is None
    assert check_layout(task, batch) == [0]


# ---- loss and metrics ---------------------------------------------------------------------------

def test_perfect_and_wrong_logits():
    task, batch = sample(100, seed=3)
    signs = 2 * batch.targets[..., :6] - 1  # (T, B, 6)
    perfect = task.metrics(20 * signs, batch)
    assert perfect["bit_errors_per_sequence"] == 0 and 0 <= perfect["bits_per_sequence"] < 1e-5
    wrong = task.metrics(-20 * signs, batch)
    assert wrong["bit_errors_per_sequence"] == 18  # every bit of the 3-vector answer
    half = task.metrics(torch.zeros_like(signs), batch)
    assert half["bits_per_sequence"] == pytest.approx(18, rel=1e-6)  # chance: 18 bits, the paper's start


def test_answering_with_the_query_itself_is_wrong():
    """Echoing the query (an item that is not the answer) costs the bits in which the two items differ."""
    task, batch = sample(50, seed=4)
    s, W = 4, 6
    outputs = torch.zeros(batch.inputs.shape[0], 50, W)
    expected = []
    for b in range(50):
        items, query, k = read_back(task, batch, b)
        answer = batch.targets[s * (k + 1) + 1 : s * (k + 1) + 4, b, :W]
        outputs[s * (k + 1) + 1 : s * (k + 1) + 4, b] = 20 * (2 * query - 1)
        expected.append(int((query != answer).sum()))
    got = task.metrics(outputs, batch)["bit_errors_per_sequence"]
    assert got == pytest.approx(sum(expected) / 50) and got > 0


# ---- settings -----------------------------------------------------------------------------------

def test_defaults_are_the_papers():
    assert AssociativeRecallTask().config == AssociativeRecallTask.Config(bits=6, item_length=3, min_items=2,
                                                                          max_items=6)


@pytest.mark.parametrize("field, value, message", [
    ("bits", 0, "bits must be an int >= 1"),
    ("item_length", 0, "item_length must be an int >= 1"),
    ("min_items", 1, "min_items must be an int >= 2 (the query is an item that has a successor)"),
    ("max_items", 1, "max_items must be an int >= 2 (min_items = 2)"),
    ("max_items", "6", "max_items must be an int >= 2 (min_items = 2)"),
])
def test_bad_settings_name_the_field_and_the_value(field, value, message):
    with pytest.raises(ValueError, match=re.escape(f"associative_recall task: {message}") + r".*; got "
                       + re.escape(repr(value))):
        AssociativeRecallTask(AssociativeRecallTask.Config(**{field: value}))


def test_generalisation_settings():
    """Figure 11: 10, 15 and 20 items after training on 2..6."""
    task, batch = sample(20, min_items=20, max_items=20)
    assert batch.inputs.shape == (4 * 21 + 4, 20, 8) and batch.lengths is None
    check_layout(task, batch)
