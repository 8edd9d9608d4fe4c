"""The scored-bits loss and metrics of the NTM bit-vector tasks (tasks/bits.py): a hand-computed table,
perfect and wrong logits, unscored entries that never count, gradients, refused shapes."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F

from rnnlab.tasks.base import Batch
from rnnlab.tasks.bits import ScoredBitsTask, scored_bits_loss, scored_bits_metrics, sequence_costs


class ToyTask(ScoredBitsTask):
    """A toy task with two output bits (for these tests only, not registered)."""

    @dataclass
    class Config:
        pass

    name = "toy"
    input_size = 1
    output_size = 2


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def hand_batch() -> tuple[torch.Tensor, Batch]:
    """T = 3 steps, B = 2 sequences, O = 2 bits.  Sequence 0 is scored at steps 1 and 2, sequence 1 at
    step 2 only.  Scored entries (target, p = σ(output)):

        seq 0, t 1: (1, 0.8) (0, 0.25)      bits −log2 0.8 = 0.321928, −log2 0.75 = 0.415037; wrong: none
        seq 0, t 2: (1, 0.5) (1, 0.9)       bits 1, 0.152003; wrong: the first (p = ½ is not > ½)
        seq 1, t 2: (0, 0.6) (1, 0.1)       bits 1.321928, 3.321928; wrong: both

    Unscored entries hold arbitrary values (and their targets arbitrary bits)."""
    targets = torch.zeros(3, 2, 3)
    outputs = torch.zeros(3, 2, 2)
    targets[1, 0] = torch.tensor([1.0, 0.0, 1.0])
    outputs[1, 0] = torch.tensor([logit(0.8), logit(0.25)])
    targets[2, 0] = torch.tensor([1.0, 1.0, 1.0])
    outputs[2, 0] = torch.tensor([0.0, logit(0.9)])
    targets[2, 1] = torch.tensor([0.0, 1.0, 1.0])
    outputs[2, 1] = torch.tensor([logit(0.6), logit(0.1)])
    # unscored steps: targets and outputs that would cost a lot if they counted
    targets[0, :, :2] = 1.0
    outputs[0] = -30.0
    targets[1, 1, :2] = torch.tensor([0.0, 1.0])
    outputs[1, 1] = torch.tensor([50.0, -50.0])
    return outputs, Batch(inputs=torch.zeros(3, 2, 1), targets=targets, lengths=None)


SEQ0_BITS = -math.log2(0.8) - math.log2(0.75) + 1.0 - math.log2(0.9)
SEQ1_BITS = -math.log2(0.4) - math.log2(0.1)


def test_metrics_on_a_hand_computed_table():
    outputs, batch = hand_batch()
    got = scored_bits_metrics(ToyTask(), outputs, batch)
    assert got.keys() == {"loss", "bits_per_sequence", "bit_errors_per_sequence", "count"}
    assert got["bits_per_sequence"] == pytest.approx((SEQ0_BITS + SEQ1_BITS) / 2, rel=1e-6)
    assert got["bit_errors_per_sequence"] == (1 + 2) / 2
    assert got["count"] == 2
    # the loss: the mean cross-entropy in nats over the 6 scored bits
    assert got["loss"] == pytest.approx((SEQ0_BITS + SEQ1_BITS) * math.log(2) / 6, rel=1e-6)
    bits, errors = sequence_costs(ToyTask(), outputs, batch)
    torch.testing.assert_close(bits, torch.tensor([SEQ0_BITS, SEQ1_BITS], dtype=torch.float64))
    torch.testing.assert_close(errors, torch.tensor([1.0, 2.0], dtype=torch.float64))


def test_loss_is_the_mean_binary_cross_entropy_over_scored_bits():
    outputs, batch = hand_batch()
    scored = batch.targets[..., 2:] == 1  # (T, B, 1)
    scored = scored.expand(-1, -1, 2)
    expected = F.binary_cross_entropy_with_logits(outputs[scored], batch.targets[..., :2][scored])
    assert ToyTask().loss(outputs, batch).item() == pytest.approx(expected.item(), rel=1e-6)
    assert scored_bits_loss(ToyTask(), outputs, batch).item() == pytest.approx(expected.item(), rel=1e-6)


def test_unscored_entries_never_count_and_get_no_gradient():
    outputs, batch = hand_batch()
    scored = (batch.targets[..., 2] == 1).unsqueeze(2).expand(-1, -1, 2)
    wild = torch.where(scored, outputs, torch.tensor(float("nan")))  # NaN wherever nothing is scored
    wild.requires_grad_(True)
    loss = ToyTask().loss(wild, batch)
    loss.backward()
    assert torch.isfinite(loss)
    assert (wild.grad[~scored] == 0).all() and (wild.grad[scored] != 0).all()
    assert scored_bits_metrics(ToyTask(), wild.detach(), batch) == scored_bits_metrics(ToyTask(), outputs, batch)


def test_gradient_is_sigmoid_minus_target_over_the_scored_bits():
    outputs, batch = hand_batch()
    outputs.requires_grad_(True)
    ToyTask().loss(outputs, batch).backward()
    scored = (batch.targets[..., 2] == 1).unsqueeze(2).expand(-1, -1, 2)
    expected = (torch.sigmoid(outputs.detach()) - batch.targets[..., :2]) / 6 * scored
    torch.testing.assert_close(outputs.grad, expected)


def test_perfect_and_wrong_logits():
    _, batch = hand_batch()
    signs = 2 * batch.targets[..., :2] - 1  # +1 for a target 1, −1 for a target 0
    perfect = scored_bits_metrics(ToyTask(), 20 * signs, batch)
    assert perfect["bit_errors_per_sequence"] == 0
    assert 0 <= perfect["bits_per_sequence"] < 1e-6
    assert perfect["loss"] < 1e-8
    wrong = scored_bits_metrics(ToyTask(), -20 * signs, batch)
    assert wrong["bit_errors_per_sequence"] == (4 + 2) / 2  # every scored bit: 4 in sequence 0, 2 in 1
    assert wrong["bits_per_sequence"] == pytest.approx(20 / math.log(2) * 3, rel=1e-6)


def test_a_batch_without_scored_steps_has_zero_loss_with_a_graph():
    targets = torch.zeros(4, 3, 3)  # no flag anywhere (a chunk of the reading phase)
    batch = Batch(inputs=torch.zeros(4, 3, 1), targets=targets, lengths=None)
    outputs = torch.randn(4, 3, 2, requires_grad=True)
    loss = ToyTask().loss(outputs, batch)
    loss.backward()
    assert loss.item() == 0.0 and (outputs.grad == 0).all()
    metrics = ToyTask().metrics(outputs.detach(), batch)
    assert metrics["bits_per_sequence"] == 0 and metrics["bit_errors_per_sequence"] == 0 and metrics["count"] == 3


def test_float64_outputs_and_targets():
    outputs, batch = hand_batch()
    batch64 = Batch(batch.inputs.double(), batch.targets.double(), None)
    loss = ToyTask().loss(outputs.double(), batch64)
    assert loss.dtype == torch.float64
    assert loss.item() == pytest.approx(ToyTask().loss(outputs, batch).item(), rel=1e-6)
    assert ToyTask().metrics(outputs.double(), batch64) == pytest.approx(ToyTask().metrics(outputs, batch))


def test_class_attributes():
    task = ToyTask()
    assert task.output_kind == "every"
    assert (task.main_metric, task.main_metric_goal) == ("bit_errors_per_sequence", "min")


@pytest.mark.parametrize("shape", [(3, 2), (3, 2, 3), (2, 2, 2), (3, 1, 2)])
def test_outputs_of_the_wrong_shape_are_refused(shape):
    _, batch = hand_batch()
    message = re.escape(f"task 'toy' expects outputs of shape (T, B, 2) = (3, 2, 2), one logit per target bit "
                        f"at every step; got {shape}")
    for call in (ToyTask().loss, ToyTask().metrics):
        with pytest.raises(ValueError, match=message):
            call(torch.zeros(shape), batch)


def test_targets_without_the_flag_column_are_refused():
    outputs, batch = hand_batch()
    flagless = Batch(batch.inputs, batch.targets[..., :2], None)
    message = re.escape("task 'toy' expects targets of shape (T, B, 2 + 1) = (3, 2, 3): the 2 target bits and "
                        "the scored flag; got (3, 2, 2)")
    with pytest.raises(ValueError, match=message):
        ToyTask().loss(outputs, flagless)
