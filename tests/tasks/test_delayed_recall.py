"""Delayed recall (a continually running stream): the rule read back from the inputs, the worked example, pieces
of a stream that continue each other whatever their length, the loss as the mean of the steps' losses (what
online learning and truncated BPTT add up), the metrics of an exact predictor, bad settings, a short learning
check."""

from __future__ import annotations

import math
import re

import pytest
import torch
import torch.nn.functional as F

import rnnlab.tasks.delayed_recall as module
from rnnlab import tasks
from rnnlab.tasks.base import Batch
from rnnlab.tasks.delayed_recall import DelayedRecallTask, stream_bits


def make(**config) -> DelayedRecallTask:
    return DelayedRecallTask(DelayedRecallTask.Config(**config))


def check_rule(batch: Batch, task: DelayedRecallTask, first_step: int = 0) -> None:
    """Targets are the bits of d steps before (or their XOR); steps before d are unscored, every later one
    scored.  ``first_step``: the absolute step of the batch's first step (for pieces of a stream)."""
    d, T = task.config.delay, batch.inputs.shape[0]
    lines = 1 if task.config.rule == "recall" else 2
    assert batch.inputs.shape[2] == lines and batch.targets.shape == (T, batch.inputs.shape[1], 2)
    bits = batch.inputs.long()
    assert ((bits == 0) | (bits == 1)).all()
    positions = torch.arange(first_step, first_step + T)
    assert torch.equal(batch.targets[..., 1] == 1, (positions >= d).unsqueeze(1).expand(-1, bits.shape[1]))
    for t in range(T):
        if positions[t] >= d and t >= d:  # the bit it recalls is inside this batch
            source = bits[t - d]
            expected = source[:, 0] if lines == 1 else source[:, 0] ^ source[:, 1]
            assert torch.equal(batch.targets[t, :, 0].long(), expected), f"step {t}"


def test_class_attributes_and_registry():
    task = make()
    assert tasks.get("delayed_recall") is DelayedRecallTask and "Williams & Zipser" in tasks.describe("delayed_recall")
    assert (task.output_kind, task.stream, task.main_metric, task.main_metric_goal) == ("every", True, "accuracy", "max")
    assert (task.input_size, task.output_size) == (1, 1) and make(rule="xor").input_size == 2
    assert task.config == DelayedRecallTask.Config(delay=4, rule="recall", length=1000)


@pytest.mark.parametrize("config", [dict(), dict(delay=1, length=5), dict(rule="xor", delay=2, length=50),
                                    dict(delay=7, length=3)])
def test_the_rule_holds_in_every_stream(config):
    task = make(**config)
    check_rule(task.sample(16, torch.Generator().manual_seed(0)), task)


def test_the_docstrings_worked_example():
    rows = {}
    for line in module.__doc__.splitlines():
        name, _, rest = line.strip().partition(" ")
        if line.startswith("    ") and name in ("t", "input", "target") and name not in rows:
            rows[name] = [token for token in rest.split() if token.isdigit() or token == "-"]
    inputs = torch.tensor([int(v) for v in rows["input"]])
    assert rows["t"] == [str(t) for t in range(8)] and len(inputs) == 8
    # recall with d = 2: the target of step t is the input of step t − 2, the first two unscored
    assert rows["target"][:2] == ["-", "-"] and [int(v) for v in rows["target"][2:]] == inputs[:-2].tolist()
    task = make(delay=2, length=8)
    targets = torch.stack([torch.cat([torch.zeros(2), inputs[:-2].float()]), (torch.arange(8) >= 2).float()], dim=1)
    check_rule(Batch(inputs.float().reshape(8, 1, 1), targets.unsqueeze(1), None), task)


def test_pieces_of_a_stream_continue_each_other_whatever_their_length():
    long = make(delay=3, length=600).stream_batch(5, 0, seed=9)
    for length in (1, 7, 100, 600):
        task = make(delay=3, length=length)
        pieces = [task.stream_batch(5, i, seed=9) for i in range(600 // length)]
        joined = Batch(torch.cat([p.inputs for p in pieces]), torch.cat([p.targets for p in pieces]), None)
        assert torch.equal(joined.inputs, long.inputs[: len(joined.inputs)])
        assert torch.equal(joined.targets, long.targets[: len(joined.targets)])
    later = make(delay=3, length=50).stream_batch(5, 3, seed=9)  # the first steps of a later piece are scored
    check_rule(later, make(delay=3, length=50), first_step=150)
    assert bool((later.targets[:3, :, 1] == 1).all())


def test_stream_bits_span_blocks_and_depend_on_the_position_alone():
    whole = stream_bits(3, 2, 0, 2 * module.BLOCK + 10, seed=4)
    assert whole.shape == (2 * module.BLOCK + 10, 3, 2)
    part = stream_bits(3, 2, module.BLOCK - 5, module.BLOCK + 5, seed=4)
    assert torch.equal(part, whole[module.BLOCK - 5 : module.BLOCK + 5])
    assert not torch.equal(stream_bits(3, 2, 0, 100, seed=5), whole[:100])
    assert stream_bits(3, 1, 7, 7, seed=4).shape == (0, 3, 1)


def test_sampling_draws_only_from_the_given_generator_and_the_bits_are_fair():
    task = make(length=2000)
    torch.manual_seed(1)
    state = torch.get_rng_state()
    a = task.sample(50, torch.Generator().manual_seed(3))
    assert torch.equal(torch.get_rng_state(), state)
    b = task.sample(50, torch.Generator().manual_seed(3))
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets)
    assert not torch.equal(task.sample(50, torch.Generator().manual_seed(4)).inputs, a.inputs)
    assert a.inputs.mean().item() == pytest.approx(0.5, abs=0.01)


# ---- loss and metrics ---------------------------------------------------------------------------

def exact(batch: Batch, confidence: float = 20.0) -> torch.Tensor:
    """Logits of a predictor that knows the rule: ±confidence from the bits d steps back (0 where unscored)."""
    return (confidence * (2 * batch.targets[..., 0] - 1) * batch.targets[..., 1]).unsqueeze(2)


def test_metrics_of_the_exact_predictor_and_of_a_coin():
    task = make(delay=5, length=40)
    batch = task.sample(8, torch.Generator().manual_seed(0))
    got = task.metrics(exact(batch), batch)
    assert got.keys() == {"loss", "accuracy", "mse", "count"} and got["count"] == 8
    assert got["accuracy"] == 1.0 and got["mse"] < 1e-15 and got["loss"] < 1e-8
    wrong = task.metrics(-exact(batch), batch)
    assert wrong["accuracy"] == 0.0 and wrong["mse"] == pytest.approx(1.0)
    coin = task.metrics(torch.zeros(40, 8, 1), batch)  # p = 1/2: ln 2 on each of the 35 scored steps of 40
    assert coin["mse"] == pytest.approx(0.25) and coin["loss"] == pytest.approx(math.log(2) * 35 / 40)
    assert coin["accuracy"] == pytest.approx(float((batch.targets[5:, :, 0] == 0).float().mean()))  # 0 reads as 0


def test_the_loss_is_the_mean_of_the_steps_losses():
    """So that online learners (each step weighted 1/T) and truncated BPTT (each chunk by its share of the
    steps) add up to exactly BPTT's loss, unscored steps included."""
    task = make(delay=3, length=12)
    batch = task.sample(4, torch.Generator().manual_seed(1))
    outputs = torch.randn(12, 4, 1, generator=torch.Generator().manual_seed(2))
    whole = task.loss(outputs, batch)
    by_step = sum(task.loss(outputs[t : t + 1], batch.steps(t, t + 1)) for t in range(12)) / 12
    by_chunk = sum(task.loss(outputs[t : t + 4], batch.steps(t, t + 4)) * 4 / 12 for t in range(0, 12, 4))
    torch.testing.assert_close(by_step, whole)
    torch.testing.assert_close(by_chunk, whole)
    scored = batch.targets[..., 1] == 1
    by_hand = F.binary_cross_entropy_with_logits(outputs[..., 0][scored], batch.targets[..., 0][scored],
                                                 reduction="sum") / (12 * 4)
    torch.testing.assert_close(whole, by_hand)
    nothing = task.loss(outputs[:3].requires_grad_(), batch.steps(0, 3))  # no target yet: 0, with a graph
    assert nothing.item() == 0.0 and nothing.requires_grad


@pytest.mark.parametrize("shape", [(9, 4), (9, 4, 2), (8, 4, 1)])
def test_outputs_of_the_wrong_shape_are_refused(shape):
    task = make(length=9)
    batch = task.sample(4, torch.Generator().manual_seed(0))
    message = re.escape(f"task 'delayed_recall' expects outputs of shape (T, B, 1) = (9, 4, 1), one logit per step; "
                        f"got {shape}")
    for call in (task.loss, task.metrics):
        with pytest.raises(ValueError, match=message):
            call(torch.zeros(shape), batch)


@pytest.mark.parametrize("config, message", [
    ({"delay": 0}, "delay must be an int >= 1; got 0"),
    ({"delay": 2.0}, "delay must be an int >= 1; got 2.0"),
    ({"rule": "and"}, "rule must be one of 'recall', 'xor'; got 'and'"),
    ({"length": 0}, "length must be an int >= 1; got 0"),
])
def test_bad_settings_name_the_field_and_the_value(config, message):
    with pytest.raises(ValueError, match=re.escape(f"delayed_recall task: {message}")):
        make(**config)


def test_a_bad_piece_index_is_refused():
    with pytest.raises(ValueError, match=re.escape("delayed_recall task: index must be an int >= 0; got -1")):
        make().stream_batch(2, -1, seed=0)


def test_truncated_bptt_with_the_state_carried_learns_a_short_delay(tmp_path):
    """rnnlab train delayed_recall --set task.delay=2 task.length=8 train.carry_state=true: pieces of 8 steps of
    one stream, the state carried; the held-out accuracy climbs well above chance within 300 steps."""
    from rnnlab import config, runs

    run = config.build_config("delayed_recall", model="elman_tanh", overrides=[
        "task.delay=2", "task.length=8", "train.carry_state=true", "model.hidden_size=16", "train.batch_size=4",
        "train.steps=300", "train.eval_every=300", "train.eval_size=8", "train.log_every=100"])
    summary = runs.train(run, tmp_path / "run", log=lambda line: None)
    assert summary["accuracy"] > 0.9  # chance: 0.5
