"""The reversal task (seq2seq; Sutskever et al. 2014, §3.3): token conventions, every target the reversed
source read back from the batch, the docstring's worked example, metrics on hand-made logits, bad settings."""

from __future__ import annotations

import re

import pytest
import torch
import torch.nn.functional as F

import rnnlab.tasks.reverse
from rnnlab.tasks.base import EOS, PAD, Batch
from rnnlab.tasks.registry import describe, get
from rnnlab.tasks.reverse import ReverseTask
from rnnlab.tasks.tokens import decode


def sample(batch_size=64, seed=0, **config):
    task = ReverseTask(ReverseTask.Config(**config))
    return task, task.sample(batch_size, torch.Generator().manual_seed(seed))


def check_rules(task: ReverseTask, batch: Batch) -> None:
    """Every rule of the module docstring, on every sequence, in plain Python."""
    c = task.config
    steps, B = batch.inputs.shape
    assert batch.inputs.dtype == torch.int64 and batch.targets.dtype == torch.int64
    lengths = batch.lengths if batch.lengths is not None else torch.full((B,), steps)
    assert steps == int(lengths.max())
    assert batch.targets.shape == (steps + 1, B)
    assert torch.equal(batch.target_lengths, lengths + 1)
    for inputs, targets, n in zip(batch.inputs.T.tolist(), batch.targets.T.tolist(), lengths.tolist()):
        assert c.min_length <= n <= c.max_length
        assert all(1 <= i <= c.symbols for i in inputs[:n]) and all(i == 0 for i in inputs[n:])
        source = [i - 1 for i in inputs[:n]]
        assert targets == [s + 3 for s in reversed(source)] + [EOS] + [PAD] * (steps - n)


def test_class_attributes():
    task = ReverseTask()
    assert get("reverse") is ReverseTask and task.output_kind == "sequence"
    assert "Sutskever" in describe("reverse") and "\n" not in describe("reverse")
    assert task.input_vocab == 11 and task.output_size == 13  # 10 symbols + padding / + PAD, BOS, EOS
    assert task.output_symbols[:4] == ("<pad>", "<bos>", "<eos>", "0") and len(task.output_symbols) == 13
    assert task.config == ReverseTask.Config(symbols=10, min_length=5, max_length=15)
    assert task.max_target_length == 16 == sample(500)[1].targets.shape[0]


@pytest.mark.parametrize("config", [{}, {"symbols": 1}, {"symbols": 3, "min_length": 1, "max_length": 2}])
def test_every_target_is_the_reversed_source(config):
    task, batch = sample(300, **config)
    check_rules(task, batch)


def test_every_length_and_symbol_occurs():
    _, batch = sample(2000)
    assert set(batch.lengths.tolist()) == set(range(5, 16))
    assert set(batch.inputs.flatten().tolist()) == set(range(11))


def test_fixed_length_has_no_lengths():
    task, batch = sample(8, min_length=4, max_length=4)
    assert batch.lengths is None and batch.inputs.shape == (4, 8)
    check_rules(task, batch)


def test_same_seed_same_batch_and_different_seeds_differ():
    _, a = sample(seed=3)
    _, b = sample(seed=3)
    _, c = sample(seed=4)
    assert all(torch.equal(x, y) for x, y in [(a.inputs, b.inputs), (a.targets, b.targets), (a.lengths, b.lengths)])
    assert not torch.equal(a.targets, c.targets) or not torch.equal(a.inputs, c.inputs)


def test_the_docstrings_worked_example():
    rows = {}
    for line in rnnlab.tasks.reverse.__doc__.splitlines():
        name, _, rest = line.strip().partition(" ")
        if line.startswith("    ") and name in ("source", "inputs", "target", "targets"):
            rows[name] = rest.strip().split("  ")[0].split()
    assert rows["source"] == ["3", "0", "7", "7", "2"]
    inputs = torch.tensor([[int(i)] for i in rows["inputs"]])  # (5, 1)
    targets = torch.tensor([[int(i)] for i in rows["targets"]])  # (6, 1)
    batch = Batch(inputs, targets, torch.tensor([5]), torch.tensor([6]))
    check_rules(ReverseTask(), batch)
    assert inputs.flatten().tolist() == [int(s) + 1 for s in rows["source"]]
    assert decode(targets[:, 0], ReverseTask().output_symbols, " ") == " ".join(rows["target"][:-1])


# ---- metrics ------------------------------------------------------------------------------------

def test_perfect_and_wrong_logits():
    task, batch = sample(50)
    perfect = F.one_hot(batch.targets, task.output_size).float() * 20  # (T_out, B, 13)
    got = task.metrics(perfect, batch)
    assert got["exact_match"] == 1.0 and got["token_accuracy"] == 1.0 and got["loss"] < 1e-6 and got["count"] == 50

    wrong = perfect.clone()
    wrong[..., EOS] = 0  # every symbol right, but the EOS is never the argmax: no sequence stops
    got = task.metrics(wrong, batch)
    assert got["exact_match"] == 0.0 and 0 < got["token_accuracy"] < 1
    assert task.loss(wrong, batch).item() == pytest.approx(got["loss"], rel=1e-6)


def test_one_wrong_token_in_one_sequence():
    task, batch = sample(4)
    logits = F.one_hot(batch.targets, task.output_size).float() * 20
    logits[0, 2] = 0
    logits[0, 2, 3 + (batch.targets[0, 2] - 3 + 1) % 10] = 20  # another symbol first in sequence 2
    got = task.metrics(logits, batch)
    assert got["exact_match"] == 0.75
    assert got["token_accuracy"] == pytest.approx(1 - 1 / int(batch.target_lengths.sum()))


def test_logits_of_the_wrong_shape_are_refused():
    task, batch = sample(4, min_length=3, max_length=3)
    message = re.escape("task 'reverse' expects logits of shape (T_out, B, 13) = (4, 4, 13)")
    with pytest.raises(ValueError, match=message + r".*; got \(3, 4, 13\)"):
        task.loss(torch.zeros(3, 4, 13), batch)
    with pytest.raises(ValueError, match=message + r".*; got \(4, 4, 12\)"):
        task.metrics(torch.zeros(4, 4, 12), batch)


# ---- settings -----------------------------------------------------------------------------------

@pytest.mark.parametrize("config, message", [
    ({"symbols": 0}, "symbols must be an int >= 1; got 0"),
    ({"symbols": 2.0}, "symbols must be an int >= 1; got 2.0"),
    ({"min_length": 0}, "min_length must be an int >= 1; got 0"),
    ({"min_length": 6, "max_length": 5}, "max_length must be an int >= 6 (min_length = 6); got 5"),
])
def test_bad_settings_name_the_field_and_the_value(config, message):
    with pytest.raises(ValueError, match=re.escape(f"reverse task: {message}")):
        ReverseTask(ReverseTask.Config(**config))
