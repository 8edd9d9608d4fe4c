"""Experiment 2 of Hochreiter & Schmidhuber (1997, §5.2), Tasks 2a, 2b, 2c: the rules of each sample read back from the
inputs, 2c's length and distractor statistics, the worked example, loss and metrics on hand-made outputs, bad
settings, generation speed at lag 1,000, the recommendations and learning checks."""

from __future__ import annotations

import math
import re
import time

import pytest
import torch
import torch.nn.functional as F

import rnnlab.tasks.long_lag
from rnnlab.models import SequenceTagger
from rnnlab.tasks import Batch
from rnnlab.tasks.long_lag import LongLagTask

from training_loop import train_until


def sample(batch_size=64, seed=0, **config) -> tuple[LongLagTask, Batch]:
    task = LongLagTask(LongLagTask.Config(**config))
    return task, task.sample(batch_size, torch.Generator().manual_seed(seed))


def ids(task: LongLagTask, batch: Batch) -> torch.Tensor:
    """(T, B) the symbol ids, from token inputs or one-hot ones (−1 where a one-hot step is all zeros)."""
    if batch.inputs.dim() == 2:
        return batch.inputs
    assert ((batch.inputs == 0) | (batch.inputs == 1)).all() and (batch.inputs.sum(2) <= 1).all()
    return torch.where(batch.inputs.sum(2) == 1, batch.inputs.argmax(2), -1)


def check_rules(task: LongLagTask, batch: Batch) -> None:
    """The paper's sequences, from the inputs: 2a (x|y, a_1, ..., a_{p−1}, x|y); 2b the same with a random middle;
    2c (b, x|y, q + k distractors, e, x|y); targets the next symbol (2a, 2b) or the final x|y when e is read (2c)."""
    c = task.config
    symbols = ids(task, batch)  # (T, B)
    T, B = symbols.shape
    assert batch.targets.shape == (T, B) and batch.targets.dtype == torch.int64
    if c.variant in ("a", "b"):
        p = c.lag
        x, y = p - 1, p
        assert batch.lengths is None and T == p + 1
        assert ((symbols[0] == x) | (symbols[0] == y)).all() and torch.equal(symbols[-1], symbols[0])
        if c.variant == "a":
            assert torch.equal(symbols[1:-1], torch.arange(p - 1).unsqueeze(1).expand(p - 1, B))
        else:
            assert ((symbols[1:-1] >= 0) & (symbols[1:-1] < p - 1)).all()
        assert torch.equal(batch.targets[:-1], symbols[1:]) and (batch.targets[-1] == -1).all()
        return
    q, p = c.lag - 1, task.distractors
    e, b_, x, y = p, p + 1, p + 2, p + 3
    lengths = batch.lengths
    assert T == int(lengths.max()) and (lengths >= q + 4).all()
    for col in range(B):
        n = int(lengths[col])
        seq = symbols[:n, col]
        assert seq[0] == b_ and seq[1] in (x, y) and seq[-2] == e and seq[-1] == seq[1]
        assert ((seq[2:-2] >= 0) & (seq[2:-2] < p)).all(), "the middle holds distractors only"
        if batch.inputs.dim() == 2:
            assert (batch.inputs[n:, col] == 0).all()
        else:
            assert (symbols[n:, col] == -1).all(), "zero vectors past the length"
        expected = torch.full((T,), -1)
        expected[n - 2] = int(seq[1] - x)  # unit 0 for x, 1 for y
        assert torch.equal(batch.targets[:, col], expected)


@pytest.mark.parametrize("config", [{}, {"variant": "b"}, {"variant": "a", "lag": 4, "one_hot": True},
                                    {"variant": "c", "lag": 51}, {"variant": "c", "lag": 11, "distractors": 3},
                                    {"variant": "c", "lag": 6, "one_hot": True, "trigger_probability": 0.5},
                                    {"variant": "b", "lag": 2}, {"variant": "c", "lag": 2, "distractors": 1}], ids=str)
def test_every_sample_follows_the_papers_rules(config):
    task, batch = sample(300, **config)
    check_rules(task, batch)


def test_sizes_by_variant():
    """2a, 2b: p + 1 inputs and outputs; 2c: p + 4 inputs and 2 outputs; token ids by default, one-hot vectors
    with one_hot."""
    for config, sizes in (({}, (101, 101, 101)), ({"variant": "b", "lag": 10}, (11, 11, 11)),
                          ({"variant": "c"}, (103, 103, 2)), ({"variant": "c", "lag": 1001, "distractors": 50},
                                                               (54, 54, 2))):
        task = LongLagTask(LongLagTask.Config(**config))
        assert (task.input_size, task.input_vocab, task.output_size) == sizes
        assert LongLagTask(LongLagTask.Config(**config, one_hot=True)).input_vocab is None
    assert LongLagTask().tolerance == 0.25 and LongLagTask(LongLagTask.Config(variant="c")).tolerance == 0.2
    assert LongLagTask(LongLagTask.Config(variant="c", tolerance=0.1)).tolerance == 0.1


def test_2c_lengths_distractors_and_classes_have_the_papers_statistics():
    """20,000 sequences with q = 20, p = 5: k (extra distractors) geometric with P(k = 0) = 1/10 and mean 9, so the
    mean length is q + 13 (the paper writes q + 14; its own sum gives 13); every distractor equally likely; x and
    y each with probability 0.5."""
    task, batch = sample(20_000, seed=1, variant="c", lag=21, distractors=5)
    extra = batch.lengths - (20 + 4)
    assert abs((extra == 0).float().mean().item() - 0.1) < 0.006
    assert abs(extra.float().mean().item() - 9) < 0.15
    real = torch.arange(batch.inputs.shape[0]).unsqueeze(1) < batch.lengths - 2
    middle = batch.inputs[2:][real[2:]]
    counts = torch.bincount(middle, minlength=5).float() / middle.numel()
    assert counts.shape == (5,) and (counts - 0.2).abs().max() < 0.005
    assert abs((batch.inputs[1] == 8).float().mean().item() - 0.5) < 0.015  # y is id p + 3 = 8


def test_2b_middle_is_uniform_and_2a_has_two_sequences():
    _, batch = sample(5000, seed=2, variant="b", lag=10)
    counts = torch.bincount(batch.inputs[1:-1].flatten(), minlength=9).float() / (9 * 5000)
    assert counts.shape == (9,) and (counts - 1 / 9).abs().max() < 0.005
    _, batch = sample(1000, seed=2)
    assert len({tuple(column) for column in batch.inputs.T.tolist()}) == 2


def test_same_seed_same_batch_and_lag_1000_generates_fast():
    _, a = sample(seed=7, variant="c", lag=31)
    _, b = sample(seed=7, variant="c", lag=31)
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets) and torch.equal(a.lengths, b.lengths)
    task = LongLagTask(LongLagTask.Config(variant="c", lag=1001))
    start = time.perf_counter()
    batch = task.sample(500, torch.Generator().manual_seed(0))
    assert time.perf_counter() - start < 1.0  # about 0.03 s: tensor operations, no loop over the batch or time
    check_rules(task, batch)


# ---- the worked example -------------------------------------------------------------------------------------

def test_the_docstrings_worked_example():
    """The 2c table (q = 3, p = 2) is a valid sample with its targets; the two outputs are judged as written; the
    2a sentence (p = 4) is the task's own sequence."""
    rows = {}
    for line in rnnlab.tasks.long_lag.__doc__.splitlines():
        match = re.match(r"    (t|symbol|id|target) +(.*)", line)
        if match:
            rows[match[1]] = match[2].split()[:9]
    task = LongLagTask(LongLagTask.Config(variant="c", lag=4, distractors=2))
    names = ["a_1", "a_2", "e", "b", "x", "y"]
    assert [names.index(s) for s in rows["symbol"]] == [int(i) for i in rows["id"]]
    symbols = torch.tensor([int(i) for i in rows["id"]]).unsqueeze(1)  # (9, 1)
    targets = torch.tensor([int(i) for i in rows["target"]]).unsqueeze(1)
    batch = Batch(symbols, targets, torch.tensor([9]))
    check_rules(task, batch)
    outputs = torch.zeros(9, 1, 2)
    outputs[7, 0] = torch.tensor([0.0, 2.0])
    assert task.metrics(outputs, batch)["accuracy"] == 0.0
    outputs[7, 0] = torch.tensor([-2.0, 2.0])
    assert task.metrics(outputs, batch)["accuracy"] == 1.0
    assert torch.sigmoid(torch.tensor(2.0)).item() == pytest.approx(0.88, abs=0.005)
    doc = " ".join(rnnlab.tasks.long_lag.__doc__.split())
    assert "x a_1 a_2 a_3 x has ids 3 0 1 2 3 and targets 0 1 2 3 −1" in doc
    two_a, batch = sample(16, seed=3, lag=4)
    x_first = batch.inputs[0] == 3
    assert batch.inputs[:, x_first][:, 0].tolist() == [3, 0, 1, 2, 3]
    assert batch.targets[:, x_first][:, 0].tolist() == [0, 1, 2, 3, -1]


# ---- loss and metrics ---------------------------------------------------------------------------------------

def perfect(task: LongLagTask, batch: Batch, margin: float = 10.0) -> torch.Tensor:
    """Logits ±margin for the target unit and the others at steps with a target; noise elsewhere."""
    T, B = batch.targets.shape
    noise = torch.randn(T, B, task.output_size, generator=torch.Generator().manual_seed(9))
    wanted = margin * (2 * F.one_hot(batch.targets.clamp(min=0), task.output_size) - 1).float()
    return torch.where((batch.targets >= 0).unsqueeze(2), wanted, noise)


@pytest.mark.parametrize("config", [{}, {"variant": "b"}, {"variant": "c", "lag": 41}], ids=str)
def test_a_perfect_predictor_scores_one_and_a_memoryless_one_zero(config):
    """Perfect logits: accuracy 1.  The same with the final prediction at 0.5 for x and y (no memory of the first
    symbol): accuracy 0, and the x/y choice right for none (a tie is not a choice)."""
    task, batch = sample(400, seed=4, **config)
    outputs = perfect(task, batch)
    got = task.metrics(outputs, batch)
    assert got["accuracy"] == got["final_accuracy"] == got["choice_accuracy"] == 1.0
    assert got["max_error"] < 1e-4 and got["count"] == 400
    final = batch.lengths - 2 if batch.lengths is not None else torch.full((400,), task.config.lag - 1)
    x_unit, y_unit = task.choice_units
    outputs[final, torch.arange(400), x_unit] = 0.0
    outputs[final, torch.arange(400), y_unit] = 0.0
    got = task.metrics(outputs, batch)
    assert got["accuracy"] == got["final_accuracy"] == 0.0
    assert got["max_error"] == pytest.approx(0.5, abs=1e-4)
    is_x = batch.targets[final, torch.arange(400)] == x_unit
    assert got["choice_accuracy"] == pytest.approx(is_x.float().mean().item())  # "y above x" is false: says x


def test_2a_judges_every_step_2b_only_the_last():
    """A wrong next-symbol prediction in the middle fails 2a's criterion but not 2b's."""
    for variant, expected in (("a", 0.0), ("b", 1.0)):
        task, batch = sample(50, seed=5, variant=variant, lag=20)
        outputs = perfect(task, batch)
        outputs[5] = -outputs[5]
        got = task.metrics(outputs, batch)
        assert got["accuracy"] == expected and got["final_accuracy"] == 1.0


def test_tolerance_is_the_papers():
    """2c: correct when both units are within 0.2; σ(z) = 0.79 for the target 1 is 0.21 away: wrong, 0.81 right."""
    task, batch = sample(8, seed=6, variant="c", lag=11)
    final = batch.lengths - 2
    for probability, expected in ((0.79, 0.0), (0.81, 1.0)):
        outputs = perfect(task, batch)
        z = math.log(probability / (1 - probability))
        outputs[final, torch.arange(8)] = torch.where(F.one_hot(batch.targets[final, torch.arange(8)], 2) == 1,
                                                      z, -z)
        assert task.metrics(outputs, batch)["accuracy"] == expected


def test_loss_by_hand_with_the_final_weight():
    """2a with p = 3: steps 0, 1, 2 have targets; the loss is the weighted mean of the steps' summed cross-entropies,
    the final step (2) weighted final_weight; steps without a target get no gradient."""
    for weight in (1.0, 10.0):
        task = LongLagTask(LongLagTask.Config(lag=3, final_weight=weight))
        batch = task.sample(2, torch.Generator().manual_seed(0))
        outputs = torch.randn(4, 2, 4, generator=torch.Generator().manual_seed(1), requires_grad=True)
        y = torch.sigmoid(outputs.detach())
        wanted = F.one_hot(batch.targets.clamp(min=0), 4).float()
        per_step = -(wanted * y.log() + (1 - wanted) * (1 - y).log()).sum(2)[:3]  # (3, B)
        weights = torch.tensor([1.0, 1.0, weight]).unsqueeze(1)
        expected = (per_step * weights).sum() / (weights.sum() * 2)
        loss = task.loss(outputs, batch)
        assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
        loss.backward()
        assert (outputs.grad[3] == 0).all()
    task, batch = sample(4, variant="c", lag=5, final_weight=50.0)  # 2c: one step with a target, the weight cancels
    outputs = torch.randn(*batch.targets.shape, 2, generator=torch.Generator().manual_seed(2))
    assert task.loss(outputs, batch).item() == pytest.approx(
        LongLagTask(LongLagTask.Config(variant="c", lag=5)).loss(outputs, batch).item())


def test_outputs_of_the_wrong_shape_are_refused():
    task, batch = sample(4, lag=5)
    message = re.escape("task 'long_lag' expects outputs of shape (T, B, 6) = (6, 4, 6), one logit per output unit "
                        "at every step; got (6, 4, 2)")
    for call in (task.loss, task.metrics):
        with pytest.raises(ValueError, match=message):
            call(torch.zeros(6, 4, 2), batch)


# ---- settings -----------------------------------------------------------------------------------------------

def test_defaults_are_the_papers():
    assert LongLagTask().config == LongLagTask.Config(variant="a", lag=100, distractors=None, trigger_probability=0.1,
                                                      tolerance=None, final_weight=1.0, one_hot=False)
    assert (LongLagTask.output_kind, LongLagTask.main_metric, LongLagTask.main_metric_goal) == ("every", "accuracy",
                                                                                                "max")
    assert LongLagTask(LongLagTask.Config(variant="c", lag=1001)).distractors == 1000  # q = p = 1000


@pytest.mark.parametrize("config, message", [
    ({"variant": "d"}, "variant must be one of 'a', 'b', 'c'; got 'd'"),
    ({"lag": 1}, "lag must be an int >= 2 (p for 2a and 2b, q + 1 for 2c, q >= 1); got 1"),
    ({"lag": 100.0}, "lag must be an int >= 2"),
    ({"distractors": 5}, "distractors is 2c's p; variant 'a' draws its middle from a_1 .. a_(p-1), p = lag; "
                         "got distractors=5"),
    ({"variant": "c", "distractors": 0}, "distractors must be an int >= 1; got 0"),
    ({"trigger_probability": 0}, "trigger_probability must be a number in (0, 1]; got 0"),
    ({"trigger_probability": 1.5}, "trigger_probability must be a number in (0, 1]; got 1.5"),
    ({"tolerance": 0.6}, "tolerance must be a number in (0, 0.5] (half the distance between a unit's two targets) "
                         "or none; got 0.6"),
    ({"final_weight": 0}, "final_weight must be a finite number > 0; got 0"),
    ({"final_weight": float("inf")}, "final_weight must be a finite number > 0; got inf"),
    ({"one_hot": "yes"}, "one_hot must be true or false; got 'yes'"),
])
def test_bad_settings_name_the_field_and_the_value(config, message):
    with pytest.raises(ValueError, match=re.escape(f"long_lag task: {message}")):
        LongLagTask(LongLagTask.Config(**config))


def test_recommendations_follow_the_variant_and_the_lag():
    a = LongLagTask.recommendations("lstm", {})
    assert a["train.eval_size"] == 10_000 and a["train.stop_when"] == "accuracy >= 1.0"
    assert a["task.final_weight"] == 1000.0 and a["model.options"] == {"forget_bias": 5.0, "input_bias": -3.0}
    c = LongLagTask.recommendations("lstm", {"variant": "c", "lag": 1001})
    assert c["train.eval_size"] == 2000 and "task.final_weight" not in c
    assert c["model.options"]["forget_bias"] == 8.0  # σ(8)^1001 ≈ 0.72: the memory survives the lag at the start
    assert math.exp(1001 * math.log(torch.sigmoid(torch.tensor(8.0, dtype=torch.float64)).item())) > 0.5
    assert "model.options" not in LongLagTask.recommendations("gru", {"variant": "b"})


# ---- learning -----------------------------------------------------------------------------------------------

def train(task: LongLagTask, steps: int, **options) -> dict[str, float]:
    torch.manual_seed(0)
    model = SequenceTagger("lstm", None, 64, task.output_size, input_vocab=task.input_vocab, **options)
    return train_until(task, model, lr=0.01, steps=steps, check_every=50, held_out=256,
                       reached=lambda got: got["accuracy"] == 1.0)


@pytest.mark.slow
def test_an_lstm_learns_2c_with_q_50():
    """The recommended LSTM (64 units, forget gates open, input gates nearly closed, Adam at 0.01): 2c with
    q = p = 50 solved within 300 batches of 32 (at step 100 with rnnlab train for q = 100)."""
    task = LongLagTask(LongLagTask.Config(variant="c", lag=51))
    assert train(task, 300, forget_bias=5.0, input_bias=-3.0)["accuracy"] == 1.0


@pytest.mark.slow
def test_an_lstm_learns_2b_only_with_the_final_prediction_weighted():
    """2b with p = 50: with the final prediction weighted 1,000 times, solved within 500 batches; weighted like
    every other step (the paper's loss), the x/y choice stays at chance over the same budget."""
    weighted = LongLagTask(LongLagTask.Config(variant="b", lag=50, final_weight=1000.0))
    assert train(weighted, 500, forget_bias=5.0, input_bias=-3.0)["accuracy"] == 1.0
    plain = LongLagTask(LongLagTask.Config(variant="b", lag=50))
    got = train(plain, 500, forget_bias=5.0, input_bias=-3.0)
    assert got["accuracy"] == 0.0 and got["choice_accuracy"] < 0.7
