"""Dynamic n-grams (Graves et al. 2014, NTM §4.4): the Beta(½, ½) tables, sequences that follow their
table, the layout, and the Bayes-optimal predictor against a plain-Python reference and the paper's cost."""

from __future__ import annotations

import math
import re

import pytest
import torch

import rnnlab.tasks.ngrams
from rnnlab.tasks.base import Batch
from rnnlab.tasks.ngrams import NGramsTask, draw_bits, random_tables
from worked_examples import docstring_table


def sample(batch_size=64, seed=0, **config):
    task = NGramsTask(NGramsTask.Config(**config))
    return task, task.sample(batch_size, torch.Generator().manual_seed(seed))


def bayes_reference(bits: list[int], n: int) -> list[float]:
    """Plain Python: P(x_{t+1} = 1 | x_0 .. x_t) for t = 0 .. len(bits) − 2, the paper's eq. 10 with counts
    kept in a dict; ½ while the target has no full context (the first n − 1 bits are coin flips)."""
    counts: dict[tuple[int, ...], list[int]] = {}
    probabilities = []
    for s in range(1, len(bits)):  # the target x_s
        if s < n - 1:
            probabilities.append(0.5)
            continue
        context = tuple(bits[s - n + 1 : s])
        zeros, ones = counts.setdefault(context, [0, 0])
        probabilities.append((ones + 0.5) / (zeros + ones + 1))
        counts[context][bits[s]] += 1
    return probabilities


# ---- data ---------------------------------------------------------------------------------------

def test_shapes_dtypes_and_class_attributes():
    task, batch = sample(16)
    assert (task.input_size, task.output_size, task.output_kind) == (1, 1, "every")
    assert (task.main_metric, task.main_metric_goal) == ("bits_per_sequence", "min")
    assert batch.inputs.shape == (199, 16, 1) and batch.inputs.dtype == torch.float32
    assert batch.targets.shape == (199, 16, 2) and batch.targets.dtype == torch.float32
    assert batch.lengths is None


def test_targets_are_the_next_bits_and_every_step_is_scored():
    _, batch = sample(50)
    bits = batch.inputs[..., 0]
    assert ((bits == 0) | (bits == 1)).all()
    assert torch.equal(batch.targets[:-1, :, 0], bits[1:])
    assert (batch.targets[..., 1] == 1).all()


def test_tables_are_beta_half_half():
    """Mean ½, variance 1/8, and P(p < 0.1) = (2/π) arcsin √0.1 = 0.2048 for Beta(½, ½)."""
    tables = random_tables(1000, 6, torch.Generator().manual_seed(0))
    assert tables.shape == (1000, 32) and tables.dtype == torch.float64
    assert ((0 <= tables) & (tables <= 1)).all()
    assert tables.mean().item() == pytest.approx(0.5, abs=0.005)
    assert tables.var().item() == pytest.approx(0.125, abs=0.003)
    assert (tables < 0.1).double().mean().item() == pytest.approx(2 / math.pi * math.asin(math.sqrt(0.1)), abs=0.006)


def test_sequences_follow_their_table():
    """With a table of 0s and 1s each bit is determined by its context: here the parity of the n − 1 bits
    before it; the first n − 1 bits are fair coins."""
    L, B = 40, 300  # n = 4: contexts of 3 bits
    parity = torch.tensor([bin(c).count("1") % 2 for c in range(8)], dtype=torch.float64)  # (8,)
    bits = draw_bits(parity.expand(B, 8), L, torch.Generator().manual_seed(1))  # (L, B)
    for b in range(B):
        x = bits[:, b].tolist()
        assert all(x[t] == sum(x[t - 3 : t]) % 2 for t in range(3, L))
    assert bits[:3].double().mean().item() == pytest.approx(0.5, abs=0.05)


def test_the_context_reads_the_oldest_bit_as_the_most_significant():
    """A table that gives 1 only after the context 1 0 0 (index 4, oldest bit first): bit t is 1 exactly
    when bits t − 3, t − 2, t − 1 are 1, 0, 0."""
    table = torch.zeros(8, dtype=torch.float64)
    table[4] = 1.0
    bits = draw_bits(table.expand(200, 8), 30, torch.Generator().manual_seed(2))
    for b in range(200):
        x = bits[:, b].tolist()
        assert all(x[t] == int(x[t - 3 : t] == [1, 0, 0]) for t in range(3, 30))


# ---- the Bayes-optimal predictor ----------------------------------------------------------------

def test_the_docstrings_worked_example():
    rows = docstring_table(rnnlab.tasks.ngrams, rows=r"[xy]\[\d+\]|bayes")
    task = NGramsTask(NGramsTask.Config(n=3, length=8))
    bits = torch.tensor(rows["x[0]"] + rows["y[0]"][-1:]).long().unsqueeze(1)  # (8, 1)
    batch = task.make_batch(bits)
    assert torch.equal(batch.inputs[:, 0, 0], torch.tensor(rows["x[0]"]))
    assert torch.equal(batch.targets[:, 0], torch.tensor([rows["y[0]"], rows["y[1]"]]).T)
    expected = torch.tensor(rows["bayes"], dtype=torch.float64)
    torch.testing.assert_close(task.bayes_probabilities(batch.inputs)[:, 0], expected)
    assert expected.tolist() == bayes_reference(bits[:, 0].tolist(), 3)
    # cost: four coin flips, then p = ¾ for a 1, ¼ for a 1, ½ for a 0
    assert task.bayes_bits(batch).item() == pytest.approx(4 - math.log2(0.75) + 2 + 1)


@pytest.mark.parametrize("n, length", [(2, 30), (3, 50), (6, 200), (8, 120)])
def test_bayes_matches_a_plain_python_reference(n, length):
    task, batch = sample(6, seed=n, n=n, length=length)
    got = task.bayes_probabilities(batch.inputs)  # (T, B)
    for b in range(6):
        bits = batch.inputs[:, b, 0].long().tolist() + [int(batch.targets[-1, b, 0])]
        assert got[:, b].tolist() == pytest.approx(bayes_reference(bits, n), abs=1e-12)


def test_bayes_reads_only_the_past():
    """The prediction at step t depends on the inputs up to t alone: changing later inputs leaves it."""
    task, batch = sample(8, seed=3)
    before = task.bayes_probabilities(batch.inputs)
    changed = batch.inputs.clone()
    changed[120:] = 1 - changed[120:]
    after = task.bayes_probabilities(changed)
    assert torch.equal(before[:120], after[:120]) and not torch.equal(before[120:], after[120:])


def test_bayes_cost_is_the_papers_and_beats_a_constant_half():
    """On 2000 sequences of the paper's setting the Bayes cost is about 132 bits per sequence (the paper's
    Figure 13 shows 133); saying ½ everywhere costs 199 bits."""
    task = NGramsTask()
    costs = torch.cat([task.bayes_bits(batch) for batch in task.eval_set(2000, seed=0)])
    assert costs.mean().item() == pytest.approx(132.2, abs=3)
    assert costs.mean().item() < 199 - 50


# ---- metrics ------------------------------------------------------------------------------------

def test_metrics_of_the_bayes_predictor_perfect_and_wrong_logits():
    task, batch = sample(40, seed=5)
    p = task.bayes_probabilities(batch.inputs)  # (T, B)
    bayes = task.metrics(torch.logit(p).float().unsqueeze(2), batch)
    assert list(bayes) == ["loss", "bits_per_sequence", "bit_errors_per_sequence", "bayes_bits_per_sequence",
                           "excess_bits_per_sequence", "count"]
    assert bayes["excess_bits_per_sequence"] == pytest.approx(0, abs=1e-3)
    assert bayes["bits_per_sequence"] == pytest.approx(bayes["bayes_bits_per_sequence"], rel=1e-5)
    assert bayes["count"] == 40

    signs = 2 * batch.targets[..., :1] - 1
    perfect = task.metrics(20 * signs, batch)
    assert perfect["bit_errors_per_sequence"] == 0 and perfect["bits_per_sequence"] < 1e-4
    assert perfect["excess_bits_per_sequence"] == pytest.approx(-perfect["bayes_bits_per_sequence"], abs=1e-4)
    wrong = task.metrics(-20 * signs, batch)
    assert wrong["bit_errors_per_sequence"] == 199

    half = task.metrics(torch.zeros_like(signs), batch)
    assert half["bits_per_sequence"] == pytest.approx(199)
    assert half["excess_bits_per_sequence"] > 0


def test_metrics_on_a_batch_made_by_hand():
    """A batch that is not a sample (the docstring's): the metrics still read the Bayes cost from it."""
    task = NGramsTask(NGramsTask.Config(n=3, length=8))
    batch = task.make_batch(torch.tensor([0, 1, 1, 0, 1, 1, 1, 0]).unsqueeze(1))
    got = task.metrics(torch.zeros(7, 1, 1), batch)
    assert got["bayes_bits_per_sequence"] == pytest.approx(4 - math.log2(0.75) + 2 + 1)
    assert got["bits_per_sequence"] == pytest.approx(7)


def test_loss_of_a_constant_half_is_ln2():
    task, batch = sample(4)
    assert task.loss(torch.zeros(199, 4, 1), batch).item() == pytest.approx(math.log(2), rel=1e-6)
    assert isinstance(batch, Batch)


# ---- settings -----------------------------------------------------------------------------------

def test_defaults_are_the_papers():
    assert NGramsTask().config == NGramsTask.Config(n=6, length=200)


@pytest.mark.parametrize("field, value, message", [
    ("n", 1, "n must be an int >= 2"),
    ("n", 17, "n must be at most 16 (a table of 2**(n - 1) probabilities per sequence)"),
    ("n", 6.0, "n must be an int >= 2"),
    ("length", 1, "length must be an int >= 2 (at least one prediction)"),
])
def test_bad_settings_name_the_field_and_the_value(field, value, message):
    with pytest.raises(ValueError, match=re.escape(f"ngrams task: {message}") + r".*; got " + re.escape(repr(value))):
        NGramsTask(NGramsTask.Config(**{field: value}))


def test_other_settings():
    """Longer sequences, other orders, and sequences shorter than a context (only coin flips)."""
    task, batch = sample(3, n=4, length=1000)
    assert batch.inputs.shape == (999, 3, 1)
    task, batch = sample(3, n=6, length=4)
    assert (task.bayes_probabilities(batch.inputs) == 0.5).all()
