"""The parity problem (Bengio et al. 1994; Hochreiter & Schmidhuber 1996): the rules of each sample read back from the
inputs, with and without noise, the worked example, metrics by hand, bad settings, and a short learning check."""

from __future__ import annotations

import math
import re

import pytest
import torch

import rnnlab.tasks.parity
from rnnlab.models import SequenceClassifier
from rnnlab.tasks import Batch
from rnnlab.tasks.parity import ParityTask


def sample(batch_size=64, seed=0, **config):
    task = ParityTask(ParityTask.Config(**config))
    return task, task.sample(batch_size, torch.Generator().manual_seed(seed))


def check_rules(task: ParityTask, batch: Batch) -> None:
    """Every element's bit is its sign; the target is 1.0 exactly when the number of +1 bits is odd (counted in
    Python); without noise every real element is exactly ±1; padding is zero."""
    c = task.config
    steps, B, features = batch.inputs.shape
    assert features == 1 and batch.targets.shape == (B, 1) and batch.targets.dtype == torch.float32
    lengths = batch.lengths if batch.lengths is not None else torch.full((B,), steps)
    assert ((c.min_length <= lengths) & (lengths <= c.max_length)).all() and steps == int(lengths.max())
    for b, column in enumerate(batch.inputs[..., 0].t().tolist()):
        n = int(lengths[b])
        real, padding = column[:n], column[n:]
        assert all(v == 0 for v in padding), "padding must be zero"
        bits = [1 if v > 0 else -1 for v in real]
        assert all(abs(v - bit) <= c.noise for v, bit in zip(real, bits))
        if c.noise == 0:
            assert real == [float(bit) for bit in bits]
        assert batch.targets[b, 0].item() == bits.count(1) % 2


@pytest.mark.parametrize("config", [{}, {"min_length": 25, "max_length": 50}, {"noise": 0.2, "min_length": 25,
                                    "max_length": 50}, {"min_length": 1, "max_length": 1}], ids=str)
def test_every_sample_follows_the_papers_rules(config):
    task, batch = sample(200, **config)
    check_rules(task, batch)
    assert (batch.lengths is None) == (task.config.min_length == task.config.max_length)


def test_bits_targets_lengths_and_noise_have_the_papers_statistics():
    """Lengths 25..50 (Bengio et al. 1994) with uniform noise in [−0.2, 0.2]: bits and classes 50/50, every length
    occurs, and the noise has mean 0 and variance 0.2²/3 and reaches both ends of its range."""
    _, batch = sample(8000, seed=1, min_length=25, max_length=50, noise=0.2)
    assert set(batch.lengths.tolist()) == set(range(25, 51))
    assert abs(batch.targets.mean().item() - 0.5) < 0.02
    x = batch.inputs[:25, :, 0]  # steps every sequence has
    bits = torch.sign(x)
    assert abs(bits.mean().item()) < 0.01
    noise = x - bits
    assert abs(noise.mean().item()) < 0.002 and abs(noise.var().item() - 0.04 / 3) < 0.0005
    assert noise.abs().max() <= 0.2 and noise.abs().max() > 0.199


def test_the_docstrings_worked_example():
    rows = {}
    for line in rnnlab.tasks.parity.__doc__.splitlines():
        match = re.match(r"    (t|x) +(.*)", line)
        if match:
            rows[match[1]] = [float(v.replace("−", "-")) for v in match[2].split()[:6]]
    task = ParityTask(ParityTask.Config(min_length=6, max_length=8))
    batch = Batch(torch.tensor(rows["x"]).view(6, 1, 1), torch.tensor([[1.0]]), torch.tensor([6]))
    check_rules(task, batch)
    assert task.metrics(torch.tensor([[2.5]]), batch)["accuracy"] == 1.0  # y = 0.92
    assert task.metrics(torch.tensor([[2.0]]), batch)["accuracy"] == 0.0  # y = 0.88


def test_metrics_by_hand():
    """z = 3, −2.5, 0 against 1, 0, 1: y = σ(z) = 0.953, 0.076, 0.5; within 0.1 of the target: the first two."""
    task = ParityTask()
    z, d = [3.0, -2.5, 0.0], [1.0, 0.0, 1.0]
    batch = Batch(torch.zeros(7, 3, 1), torch.tensor(d).unsqueeze(1), None)
    y = [1 / (1 + math.exp(-v)) for v in z]
    got = task.metrics(torch.tensor(z).unsqueeze(1), batch)
    assert got["accuracy"] == pytest.approx(2 / 3)
    assert got["loss"] == pytest.approx(-sum(b * math.log(a) + (1 - b) * math.log(1 - a) for a, b in zip(y, d)) / 3,
                                        rel=1e-6)
    assert got["mse"] == pytest.approx(sum((a - b) ** 2 for a, b in zip(y, d)) / 3, rel=1e-6)
    assert got["abs_error"] == pytest.approx(sum(abs(a - b) for a, b in zip(y, d)) / 3, rel=1e-6)


@pytest.mark.parametrize("config, message", [
    ({"min_length": 0}, "parity task: min_length must be an int >= 1 (a sequence holds one bit at least); got 0"),
    ({"max_length": 400}, "parity task: max_length must be an int >= 500 (min_length = 500); got 400"),
    ({"noise": 1.0}, "parity task: noise must be a number in [0, 1), so that the sign of an element is its bit; "
                     "got 1.0"),
    ({"noise": -0.2}, "parity task: noise must be a number in [0, 1)"),
    ({"tolerance": 0.7}, "parity task: tolerance must be a number in (0, 0.5] (half the distance between the two "
                         "targets); got 0.7"),
])
def test_bad_settings_are_refused(config, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        ParityTask(ParityTask.Config(**config))


def test_an_lstm_learns_short_parity():
    """Lengths 1..8 and a small LSTM: every one of 256 held-out sequences within 0.1 of its target after 200 batches
    of 32 (from 150 on, with these seeds).  The short sequences are the way in: with lengths 6..8 alone the same
    model stays at chance (loss 0.693) for 400 batches, the long-time-lag failure that weight guessing sidesteps."""
    torch.manual_seed(0)
    task = ParityTask(ParityTask.Config(min_length=1, max_length=8))
    model = SequenceClassifier("lstm", 1, 16, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    gen = torch.Generator().manual_seed(1)
    for _ in range(200):
        batch = task.sample(32, gen)
        loss = task.loss(model(batch.inputs, batch.lengths)[0], batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    (held_out,) = task.eval_set(256, seed=0)
    with torch.no_grad():
        assert task.metrics(model(held_out.inputs, held_out.lengths)[0], held_out)["accuracy"] == 1.0
