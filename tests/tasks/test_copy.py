"""The copy task (Graves et al. 2014, NTM §4.1): the layout of every sample read back from the batch, the
docstring's worked example, seeds, metrics on perfect and wrong logits, settings."""

from __future__ import annotations

import math
import re

import pytest
import torch

import rnnlab.tasks.copy
from rnnlab.tasks.base import Batch
from rnnlab.tasks.copy import CopyTask
from worked_examples import docstring_table


def sample(batch_size=64, seed=0, **config):
    task = CopyTask(CopyTask.Config(**config))
    return task, task.sample(batch_size, torch.Generator().manual_seed(seed))


def check_layout(task: CopyTask, batch: Batch) -> None:
    """Every sequence of ``batch``, read back from its tensors: L vectors of random bits, the delimiter
    alone on its channel at step L, zeros after; the targets are the vectors at steps L + 1 .. 2L, scored
    there and nowhere else; zeros past the length."""
    W = task.config.bits
    T, B, _ = batch.inputs.shape
    lengths = batch.lengths if batch.lengths is not None else torch.full((B,), T)
    assert T == int(lengths.max())
    for b in range(B):
        x, y, total = batch.inputs[:, b], batch.targets[:, b], int(lengths[b])
        assert total % 2 == 1
        L = (total - 1) // 2
        assert task.config.min_length <= L <= task.config.max_length
        assert ((x[:L, :W] == 0) | (x[:L, :W] == 1)).all() and (x[:L, W] == 0).all()
        assert torch.equal(x[L], torch.eye(W + 1)[W]), "the delimiter alone at step L"
        assert (x[L + 1 :] == 0).all(), "no input while answering, nor past the length"
        assert torch.equal(y[L + 1 : 2 * L + 1, :W], x[:L, :W]), "the targets are the vectors, after the delimiter"
        flag = torch.zeros(T)
        flag[L + 1 : 2 * L + 1] = 1
        assert torch.equal(y[:, W], flag), "scored exactly in the answer phase"
        assert (y[: L + 1] == 0).all() and (y[2 * L + 1 :] == 0).all()


def test_shapes_dtypes_and_class_attributes():
    task, batch = sample(32)
    assert (task.input_size, task.output_size, task.output_kind) == (9, 8, "every")
    assert (task.main_metric, task.main_metric_goal) == ("bit_errors_per_sequence", "min")
    T = batch.inputs.shape[0]
    assert batch.inputs.shape == (T, 32, 9) and batch.inputs.dtype == torch.float32
    assert batch.targets.shape == (T, 32, 9) and batch.targets.dtype == torch.float32
    assert batch.lengths.shape == (32,) and batch.lengths.dtype == torch.int64
    assert T == int(batch.lengths.max()) <= 41


@pytest.mark.parametrize("config", [{}, {"bits": 3, "min_length": 4, "max_length": 9}, {"max_length": 1}])
def test_every_sample_follows_the_layout(config):
    task, batch = sample(200, **config)
    check_layout(task, batch)


def test_lengths_and_bits_are_uniform():
    _, batch = sample(2000, seed=1)
    L = (batch.lengths - 1) // 2
    assert set(L.tolist()) == set(range(1, 21))
    assert abs(L.float().mean().item() - 10.5) < 0.4
    reading = torch.arange(batch.inputs.shape[0]).unsqueeze(1) < L  # (T, B)
    bits = batch.inputs[..., :8][reading]  # the vectors' bits
    assert abs(bits.mean().item() - 0.5) < 0.01


def test_the_docstrings_worked_example():
    rows = docstring_table(rnnlab.tasks.copy)
    inputs = torch.tensor([rows[f"x[{i}]"] for i in range(4)]).T.unsqueeze(1)  # (7, 1, 4)
    targets = torch.tensor([rows[f"y[{i}]"] for i in range(4)]).T.unsqueeze(1)  # (7, 1, 4)
    task = CopyTask(CopyTask.Config(bits=3, min_length=3, max_length=3))
    vectors = inputs[:3, :, :3]  # (3, 1, 3)
    batch = task.make_batch(vectors, torch.tensor([3]))
    assert torch.equal(batch.inputs, inputs) and torch.equal(batch.targets, targets)
    assert batch.lengths is None  # a fixed length
    check_layout(task, batch)


def test_eval_set_is_fixed():
    task = CopyTask()
    a, b = task.eval_set(700, seed=3), task.eval_set(700, seed=3)
    assert [x.inputs.shape[1] for x in a] == [500, 200]
    assert all(torch.equal(x.inputs, y.inputs) for x, y in zip(a, b))


# ---- loss and metrics ---------------------------------------------------------------------------

def test_perfect_and_wrong_logits():
    task, batch = sample(100, seed=2)
    signs = 2 * batch.targets[..., :8] - 1  # (T, B, 8)
    perfect = task.metrics(20 * signs, batch)
    assert perfect["bit_errors_per_sequence"] == 0 and 0 <= perfect["bits_per_sequence"] < 1e-5
    scored_bits = 8 * ((batch.lengths - 1) // 2).double().mean().item()  # 8 bits per answer step
    wrong = task.metrics(-20 * signs, batch)
    assert wrong["bit_errors_per_sequence"] == pytest.approx(scored_bits)
    half = task.metrics(torch.zeros_like(signs), batch)  # p = ½ everywhere: one bit per scored bit
    assert half["bits_per_sequence"] == pytest.approx(scored_bits, rel=1e-6)
    assert half["loss"] == pytest.approx(math.log(2), rel=1e-6)
    assert task.loss(torch.zeros_like(signs), batch).item() == pytest.approx(math.log(2), rel=1e-6)


def test_outputs_of_the_wrong_shape_are_refused():
    task, batch = sample(4, min_length=2, max_length=2)
    with pytest.raises(ValueError, match=re.escape("task 'copy' expects outputs of shape (T, B, 8) = (5, 4, 8)")):
        task.loss(torch.zeros(5, 4, 9), batch)


# ---- settings -----------------------------------------------------------------------------------

def test_defaults_are_the_papers():
    assert CopyTask().config == CopyTask.Config(bits=8, min_length=1, max_length=20)


@pytest.mark.parametrize("field, value, message", [
    ("bits", 0, "bits must be an int >= 1"),
    ("bits", 8.0, "bits must be an int >= 1"),
    ("min_length", 0, "min_length must be an int >= 1"),
    ("max_length", 0, "max_length must be an int >= 1 (min_length = 1)"),
    ("max_length", True, "max_length must be an int >= 1 (min_length = 1)"),
])
def test_bad_settings_name_the_field_and_the_value(field, value, message):
    with pytest.raises(ValueError, match=re.escape(f"copy task: {message}") + r".*; got " + re.escape(repr(value))):
        CopyTask(CopyTask.Config(**{field: value}))


def test_max_length_below_min_length_is_refused():
    with pytest.raises(ValueError, match=re.escape("copy task: max_length must be an int >= 30 (min_length = 30); "
                                                   "got 20")):
        CopyTask(CopyTask.Config(min_length=30))


def test_generalisation_settings():
    """The paper's test lengths after training on 1..20: 120 (fixed), and a range up to 120."""
    task, batch = sample(3, min_length=120, max_length=120)
    assert batch.inputs.shape == (241, 3, 9) and batch.lengths is None
    check_layout(task, batch)
    task, batch = sample(50, max_length=120)
    check_layout(task, batch)
