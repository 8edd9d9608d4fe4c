"""Temporal XOR (Elman 1990, "Exclusive-OR"): the XOR rule in every stream, the phases, the worked example,
the losses and the per-phase errors of an exact Bayes-optimal predictor, bad settings."""

from __future__ import annotations

import re

import pytest
import torch
from torch import Tensor

import rnnlab.tasks.elman_xor
from rnnlab.tasks.base import Batch
from rnnlab.tasks.elman_xor import ElmanXorTask
from rnnlab.tasks.registry import describe, get


def sample(batch_size=16, seed=0, **config):
    task = ElmanXorTask(ElmanXorTask.Config(**config))
    return task, task.sample(batch_size, torch.Generator().manual_seed(seed))


def check_rules(batch: Batch, length: int) -> None:
    """Targets are the inputs shifted by one; bits 3k+2 of the stream are the XOR of bits 3k and 3k+1."""
    B = batch.inputs.shape[1]
    assert batch.inputs.shape == batch.targets.shape == (length, B, 1) and batch.lengths is None
    assert batch.inputs.dtype == batch.targets.dtype == torch.float32
    assert torch.equal(batch.inputs[1:], batch.targets[:-1])
    stream = torch.cat([batch.inputs[:1], batch.targets])[:, :, 0].long()  # (T + 1, B)
    assert ((stream == 0) | (stream == 1)).all()
    for t in range(2, length + 1, 3):
        assert torch.equal(stream[t], stream[t - 2] ^ stream[t - 1]), f"bit {t} is not the XOR"


def test_class_attributes():
    task = ElmanXorTask()
    assert get("elman_xor") is ElmanXorTask and task.output_kind == "every"
    assert "Elman 1990" in describe("elman_xor")
    assert (task.input_size, task.output_size, task.main_metric) == (1, 1, "error_phase_2")
    assert task.config == ElmanXorTask.Config(length=3000, loss="squared_error")


@pytest.mark.parametrize("length", [3000, 3, 4, 5, 31])
def test_the_xor_rule_holds_in_every_stream(length):
    _, batch = sample(64, length=length)
    check_rules(batch, length)


def test_the_random_bits_are_fair_coins():
    _, batch = sample(200, length=300)
    stream = torch.cat([batch.inputs[:1], batch.targets])[:, :, 0]
    assert stream[0::3].mean().item() == pytest.approx(0.5, abs=0.02)
    assert stream[1::3].mean().item() == pytest.approx(0.5, abs=0.02)


def test_same_seed_same_batch():
    _, a = sample(seed=2, length=30)
    _, b = sample(seed=2, length=30)
    _, c = sample(seed=3, length=30)
    assert torch.equal(a.inputs, b.inputs) and not torch.equal(a.inputs, c.inputs)


def test_the_docstrings_worked_example():
    rows = {}
    for line in rnnlab.tasks.elman_xor.__doc__.splitlines():
        name, _, rest = line.strip().partition(" ")
        if line.startswith("    ") and name in ("input", "target", "phase"):
            values = rest.split()
            rows[name] = [int(v) for v in values[: next(i for i, v in enumerate(values + ["end"]) if not v.isdigit())]]
    inputs = torch.tensor(rows["input"], dtype=torch.float32).reshape(12, 1, 1)
    targets = torch.tensor(rows["target"], dtype=torch.float32).reshape(12, 1, 1)
    check_rules(Batch(inputs, targets, None), 12)
    assert ElmanXorTask.phases(12).tolist() == rows["phase"]
    assert rows["input"] == [1, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0]  # the paper's example stream


# ---- loss and metrics ---------------------------------------------------------------------------

def bayes_optimal(batch: Batch) -> Tensor:
    """Logits of the best possible predictor: 0 (p = 1/2) for the random bits, ±20 for the XOR bits,
    computed from the inputs alone."""
    inputs = batch.inputs[:, :, 0]  # (T, B)
    logits = torch.zeros_like(batch.inputs)
    for t in range(1, inputs.shape[0], 3):  # phase 2: the target of step t is x_{t-1} XOR x_t
        xor = inputs[t - 1].long() ^ inputs[t].long()
        logits[t, :, 0] = 20.0 * (2 * xor - 1)
    return logits


def test_metrics_of_the_bayes_optimal_predictor():
    """Error 1/4 at phases 0 and 1 (a coin flip predicted by 1/2), 0 at phase 2; 1/6 overall."""
    task, batch = sample(32, length=300)
    got = task.metrics(bayes_optimal(batch), batch)
    assert got.keys() == {"loss", "error", "error_phase_0", "error_phase_1", "error_phase_2", "count"}
    assert got["error_phase_0"] == pytest.approx(0.25) and got["error_phase_1"] == pytest.approx(0.25)
    assert got["error_phase_2"] < 1e-12
    assert got["error"] == pytest.approx(1 / 6) and got["loss"] == got["error"] and got["count"] == 32


def test_a_wrong_xor_costs_one_at_phase_2():
    task, batch = sample(8, length=30)
    got = task.metrics(-bayes_optimal(batch), batch)  # XNOR instead of XOR
    assert got["error_phase_2"] == pytest.approx(1.0) and got["error_phase_0"] == pytest.approx(0.25)


def test_the_two_losses_on_a_hand_computed_case():
    """Outputs 0 everywhere: squared error (1/2 − x)² = 1/4, cross-entropy log 2 per step."""
    _, batch = sample(4, length=9)
    outputs = torch.zeros(9, 4, 1)
    assert ElmanXorTask(ElmanXorTask.Config(length=9)).loss(outputs, batch).item() == pytest.approx(0.25)
    task = ElmanXorTask(ElmanXorTask.Config(length=9, loss="cross_entropy"))
    assert task.loss(outputs, batch).item() == pytest.approx(0.6931472)
    got = task.metrics(outputs, batch)
    assert got["loss"] == pytest.approx(0.6931472) and got["error"] == pytest.approx(0.25)  # error stays squared


def test_the_losses_have_gradients():
    _, batch = sample(4, length=9)
    for loss in ("squared_error", "cross_entropy"):
        outputs = torch.zeros(9, 4, 1, requires_grad=True)
        ElmanXorTask(ElmanXorTask.Config(length=9, loss=loss)).loss(outputs, batch).backward()
        # d/dz of (σ(z) − x)² at z = 0 is 2(1/2 − x)·1/4; of the cross-entropy σ(z) − x; both over T·B = 36.
        scale = 0.5 if loss == "squared_error" else 1.0
        torch.testing.assert_close(outputs.grad, scale * (0.5 - batch.targets) / 36)


@pytest.mark.parametrize("shape", [(9, 4), (9, 4, 2), (8, 4, 1)])
def test_outputs_of_the_wrong_shape_are_refused(shape):
    task, batch = sample(4, length=9)
    message = re.escape(f"task 'elman_xor' expects outputs of shape (T, B, 1) = (9, 4, 1), one readout per step; "
                        f"got {shape}")
    with pytest.raises(ValueError, match=message):
        task.loss(torch.zeros(shape), batch)
    with pytest.raises(ValueError, match=message):
        task.metrics(torch.zeros(shape), batch)


# ---- settings -----------------------------------------------------------------------------------

@pytest.mark.parametrize("config, message", [
    ({"length": 2}, "length must be an int >= 3 (one triplet at least); got 2"),
    ({"length": 30.0}, "length must be an int >= 3 (one triplet at least); got 30.0"),
    ({"loss": "mse"}, "loss must be one of 'squared_error', 'cross_entropy'; got 'mse'"),
])
def test_bad_settings_name_the_field_and_the_value(config, message):
    with pytest.raises(ValueError, match=re.escape(f"elman_xor task: {message}")):
        ElmanXorTask(ElmanXorTask.Config(**config))
