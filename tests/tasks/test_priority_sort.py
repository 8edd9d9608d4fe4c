"""Priority sort (Graves et al. 2014, NTM §4.5): the layout of every sample read back from the batch, targets
sorted by priority (highest first) against a plain-Python sort, the docstring's worked example, seeds,
metrics, settings."""

from __future__ import annotations

import re

import pytest
import torch

import rnnlab.tasks.priority_sort
from rnnlab.tasks.base import Batch
from rnnlab.tasks.priority_sort import PrioritySortTask
from worked_examples import docstring_table


def sample(batch_size=64, seed=0, **config):
    task = PrioritySortTask(PrioritySortTask.Config(**config))
    return task, task.sample(batch_size, torch.Generator().manual_seed(seed))


def check_layout(task: PrioritySortTask, batch: Batch) -> None:
    """Every sequence: N vectors with their priorities in [−1, 1), the delimiter alone at step N, zeros
    after; the targets are the K vectors of highest priority, highest first (a plain-Python sort of the
    inputs), scored exactly at steps N + 1 .. N + K."""
    W, N, K = task.config.bits, task.config.items, task.config.outputs
    T, B, _ = batch.inputs.shape
    assert T == N + 1 + K and batch.lengths is None
    for b in range(B):
        x, y = batch.inputs[:, b], batch.targets[:, b]
        vectors, priorities = x[:N, :W], x[:N, W]
        assert ((vectors == 0) | (vectors == 1)).all() and (x[:N, W + 1] == 0).all()
        assert ((-1 <= priorities) & (priorities < 1)).all()
        assert torch.equal(x[N], torch.eye(W + 2)[W + 1]) and (x[N + 1 :] == 0).all()
        ranked = sorted(zip(priorities.tolist(), vectors.tolist()), key=lambda pair: -pair[0])[:K]
        assert y[N + 1 :, :W].tolist() == [vector for _, vector in ranked]
        assert (y[N + 1 :, W] == 1).all() and (y[: N + 1] == 0).all()


def test_shapes_dtypes_and_class_attributes():
    task, batch = sample(32)
    assert (task.input_size, task.output_size, task.output_kind) == (10, 8, "every")
    assert (task.main_metric, task.main_metric_goal) == ("bit_errors_per_sequence", "min")
    assert batch.inputs.shape == (37, 32, 10) and batch.inputs.dtype == torch.float32
    assert batch.targets.shape == (37, 32, 9) and batch.targets.dtype == torch.float32
    assert batch.lengths is None


@pytest.mark.parametrize("config", [{}, {"bits": 3, "items": 7, "outputs": 7}, {"items": 1, "outputs": 1}])
def test_every_sample_is_sorted_by_priority_highest_first(config):
    task, batch = sample(200, **config)
    check_layout(task, batch)


def test_priorities_are_uniform_without_ties():
    task, batch = sample(500, seed=1)
    priorities = batch.inputs[:20, :, 8]  # (20, B)
    assert priorities.mean().item() == pytest.approx(0, abs=0.02)
    assert (priorities < -0.9).float().mean().item() == pytest.approx(0.05, abs=0.01)
    assert (priorities > 0.9).float().mean().item() == pytest.approx(0.05, abs=0.01)
    assert all(len(set(column)) == 20 for column in priorities.T.tolist())  # no ties: the order is defined


def test_the_docstrings_worked_example():
    rows = docstring_table(rnnlab.tasks.priority_sort)
    inputs = torch.tensor([rows[f"x[{i}]"] for i in range(5)]).T.unsqueeze(1)  # (8, 1, 5)
    targets = torch.tensor([rows[f"y[{i}]"] for i in range(4)]).T.unsqueeze(1)  # (8, 1, 4)
    task = PrioritySortTask(PrioritySortTask.Config(bits=3, items=4, outputs=3))
    batch = task.make_batch(inputs[:4, :, :3], inputs[:4, :, 3])
    assert torch.equal(batch.inputs, inputs) and torch.equal(batch.targets, targets)
    check_layout(task, batch)


# ---- loss and metrics ---------------------------------------------------------------------------

def test_perfect_and_wrong_logits():
    task, batch = sample(100, seed=2)
    signs = 2 * batch.targets[..., :8] - 1  # (T, B, 8)
    perfect = task.metrics(20 * signs, batch)
    assert perfect["bit_errors_per_sequence"] == 0 and 0 <= perfect["bits_per_sequence"] < 1e-5
    wrong = task.metrics(-20 * signs, batch)
    assert wrong["bit_errors_per_sequence"] == 16 * 8
    half = task.metrics(torch.zeros_like(signs), batch)
    assert half["bits_per_sequence"] == pytest.approx(128, rel=1e-6)  # chance: the paper's curves start near it


def test_the_input_order_is_not_the_answer():
    """Copying the first 16 input vectors (ignoring the priorities) gets many bits wrong."""
    task, batch = sample(100, seed=3)
    outputs = torch.zeros(37, 100, 8)
    outputs[21:] = 20 * (2 * batch.inputs[:16, :, :8] - 1)
    assert task.metrics(outputs, batch)["bit_errors_per_sequence"] > 40


# ---- settings -----------------------------------------------------------------------------------

def test_defaults_are_the_papers():
    assert PrioritySortTask().config == PrioritySortTask.Config(bits=8, items=20, outputs=16)


@pytest.mark.parametrize("field, value, message", [
    ("bits", 0, "bits must be an int >= 1"),
    ("items", 0, "items must be an int >= 1"),
    ("outputs", 0, "outputs must be an int >= 1"),
    ("outputs", 21, "outputs must be at most items = 20 (the answer is a subset of the input)"),
    ("outputs", 16.0, "outputs must be an int >= 1"),
])
def test_bad_settings_name_the_field_and_the_value(field, value, message):
    with pytest.raises(ValueError, match=re.escape(f"priority_sort task: {message}") + r".*; got "
                       + re.escape(repr(value))):
        PrioritySortTask(PrioritySortTask.Config(**{field: value}))


def test_generalisation_settings():
    """Longer inputs and answers than the paper's 20 and 16."""
    task, batch = sample(10, items=40, outputs=32)
    assert batch.inputs.shape == (73, 10, 10)
    check_layout(task, batch)
