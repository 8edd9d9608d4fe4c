"""The latch problem (Bengio et al. 1994; Hochreiter & Schmidhuber 1996, variant II): the rules of each sample, how it
relates to the 2-sequence problem, the worked example, the tanh unit's loss and metrics by hand, bad settings, and
a short learning check."""

from __future__ import annotations

import math
import re

import pytest
import torch

import rnnlab.tasks.latch
from rnnlab.models import SequenceClassifier
from rnnlab.tasks import Batch
from rnnlab.tasks.latch import LatchTask
from rnnlab.tasks.two_sequence import TwoSequenceTask


def sample(batch_size=64, seed=0, **config):
    task = LatchTask(LatchTask.Config(**config))
    return task, task.sample(batch_size, torch.Generator().manual_seed(seed))


def check_rules(task: LatchTask, batch: Batch) -> None:
    c = task.config
    steps, B, features = batch.inputs.shape
    assert features == 1 and batch.targets.shape == (B, 1) and batch.targets.dtype == torch.float32
    lengths = batch.lengths if batch.lengths is not None else torch.full((B,), steps)
    assert ((c.min_length <= lengths) & (lengths <= c.max_length)).all() and steps == int(lengths.max())
    x = batch.inputs[..., 0]
    assert (x[~(torch.arange(steps).unsqueeze(1) < lengths)] == 0).all(), "padding must be zero"
    assert set(batch.targets[:, 0].tolist()) <= {-1.0, 1.0}
    assert torch.equal(x[0], batch.targets[:, 0]), "the first element is the target: +1 for class 1, −1 for class 2"


def test_every_sample_follows_the_papers_rules_with_its_statistics():
    """The defaults: lengths 500..600, the first element ±1, then noise of mean 0 and variance 0.2; classes 50/50."""
    task, batch = sample(4000)
    check_rules(task, batch)
    assert batch.lengths.min() == 500 and batch.lengths.max() == 600
    assert abs(batch.targets.mean().item()) < 0.05
    x = batch.inputs[1:500, :, 0]
    assert abs(x.mean().item()) < 0.002 and abs(x.var().item() - 0.2) < 0.002


def test_it_is_the_two_sequence_problem_with_one_relevant_element_and_targets_plus_minus_one():
    """The same draws give the same inputs as two_sequence with relevant = 1; the targets are 2d − 1."""
    latch, a = sample(300, seed=5, min_length=20, max_length=25)
    two = TwoSequenceTask(TwoSequenceTask.Config(min_length=20, max_length=25, relevant=1))
    b = two.sample(300, torch.Generator().manual_seed(5))
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.lengths, b.lengths)
    assert torch.equal(a.targets, 2 * b.targets - 1)
    z = torch.randn(300, 1)  # the tanh unit at z judges as the logistic unit at 2z, with half the error
    assert latch.loss(z, a).item() == pytest.approx(two.loss(2 * z, b).item(), rel=1e-6)
    assert latch.metrics(z, a)["abs_error"] == pytest.approx(2 * two.metrics(2 * z, b)["abs_error"], rel=1e-5)


def test_the_docstrings_worked_example():
    rows = {}
    for line in rnnlab.tasks.latch.__doc__.splitlines():
        match = re.match(r"    (t|x) +(.*)", line)
        if match:
            rows[match[1]] = [float(v.replace("−", "-")) for v in match[2].split()[:6]]
    task = LatchTask(LatchTask.Config(min_length=6, max_length=8))
    batch = Batch(torch.tensor(rows["x"]).view(6, 1, 1), torch.tensor([[1.0]]), torch.tensor([6]))
    check_rules(task, batch)
    assert task.metrics(torch.tensor([[1.60]]), batch)["accuracy"] == 1.0  # y = tanh(1.6) = 0.92
    assert task.metrics(torch.tensor([[1.40]]), batch)["accuracy"] == 0.0  # y = 0.89
    assert math.tanh(1.6) == pytest.approx(0.92, abs=0.005) and math.tanh(1.4) == pytest.approx(0.89, abs=0.005)


def test_loss_and_metrics_by_hand():
    """z = 2, −0.5, 3 against 1, 1, −1: y = tanh z; the loss is the cross-entropy of (1 + y)/2 against (1 + d)/2."""
    task = LatchTask()
    z, d = [2.0, -0.5, 3.0], [1.0, 1.0, -1.0]
    batch = Batch(torch.zeros(4, 3, 1), torch.tensor(d).unsqueeze(1), None)
    y = [math.tanh(v) for v in z]
    p, q = [(1 + v) / 2 for v in y], [(1 + v) / 2 for v in d]
    cross_entropy = -sum(b * math.log(a) + (1 - b) * math.log(1 - a) for a, b in zip(p, q)) / 3
    got = task.metrics(torch.tensor(z).unsqueeze(1), batch)
    assert got["loss"] == pytest.approx(cross_entropy, rel=1e-5)
    assert got["accuracy"] == pytest.approx(1 / 3)  # tanh 2 = 0.964 is 0.036 from 1
    assert got["mse"] == pytest.approx(sum((a - b) ** 2 for a, b in zip(y, d)) / 3, rel=1e-6)
    assert got["abs_error"] == pytest.approx(sum(abs(a - b) for a, b in zip(y, d)) / 3, rel=1e-6)


@pytest.mark.parametrize("config, message", [
    ({"min_length": 0}, "latch task: min_length must be an int >= 1 (the first element is the bit); got 0"),
    ({"max_length": 499}, "latch task: max_length must be an int >= 500 (min_length = 500); got 499"),
    ({"noise_variance": "0.2"}, "latch task: noise_variance must be a finite number >= 0; got '0.2'"),
    ({"tolerance": 1.5}, "latch task: tolerance must be a number in (0, 1.0] (half the distance between the two "
                         "targets); got 1.5"),
])
def test_bad_settings_are_refused(config, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        LatchTask(LatchTask.Config(**config))


def test_an_lstm_learns_to_latch():
    """Lengths 40..50, a small LSTM with the recommended forget-gate bias: every one of 100 held-out sequences
    within 0.1 of its target ±1 after 200 batches of 32 (from 175 on, with these seeds)."""
    torch.manual_seed(0)
    task = LatchTask(LatchTask.Config(min_length=40, max_length=50))
    model = SequenceClassifier("lstm", 1, 8, 1, forget_bias=5.0)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    gen = torch.Generator().manual_seed(1)
    for _ in range(200):
        batch = task.sample(32, gen)
        loss = task.loss(model(batch.inputs, batch.lengths)[0], batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    (held_out,) = task.eval_set(100, seed=0)
    with torch.no_grad():
        assert task.metrics(model(held_out.inputs, held_out.lengths)[0], held_out)["accuracy"] == 1.0
