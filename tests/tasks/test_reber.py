"""The Reber grammar, Experiment 1 (Hochreiter & Schmidhuber 1997, §5.1) and its continual version (Gers et al.
2000): every sampled string read back with an independent recogniser of the grammar, the targets equal to its
possible next symbols, the worked example, loss and metrics on hand-made outputs, bad settings, a learning check."""

from __future__ import annotations

import math
import re

import pytest
import torch

import rnnlab.tasks.reber
from rnnlab.models import SequenceTagger
from rnnlab.tasks import Batch
from rnnlab.tasks.reber import ReberTask

from training_loop import train_until

SYMBOLS = "BTPSXVE"  # the one-hot order, written out independently of the module
# The Reber grammar (the paper's Figure 3) as a transition table (node, symbol) -> node, written independently of
# the module's edge list; "end" after the final E.
REBER = {(0, "B"): 1, (1, "T"): 2, (1, "P"): 3, (2, "S"): 2, (2, "X"): 4, (3, "T"): 3, (3, "V"): 5,
         (4, "X"): 3, (4, "S"): 6, (5, "P"): 4, (5, "V"): 6, (6, "E"): "end"}


def reber_next(prefix: str) -> set[str] | None:
    """The symbols that may follow ``prefix`` in a Reber string (empty at the end), None if it is not a prefix."""
    node = 0
    for letter in prefix:
        if (node, letter) not in REBER:
            return None
        node = REBER[node, letter]
    return set() if node == "end" else {letter for (n, letter) in REBER if n == node}


def embedded_next(prefix: str) -> set[str] | None:
    """The same for the embedded Reber grammar: B, T or P, a Reber string, the same T or P, E."""
    if prefix == "":
        return {"B"}
    if prefix[0] != "B":
        return None
    if len(prefix) == 1:
        return {"T", "P"}
    memory, rest = prefix[1], prefix[2:]
    if memory not in "TP":
        return None
    end = rest.find("E") + 1  # the inner string ends at its only E
    if end == 0:
        return reber_next(rest)
    if reber_next(rest[:end]) != set():
        return None
    tail = rest[end:]
    return {"": {memory}, memory: {"E"}, memory + "E": set()}.get(tail)


def sample(batch_size=64, seed=0, **config) -> tuple[ReberTask, Batch]:
    task = ReberTask(ReberTask.Config(**config))
    return task, task.sample(batch_size, torch.Generator().manual_seed(seed))


def read(batch: Batch) -> list[str]:
    """Each sequence's symbols (its real steps only), from the one-hot inputs."""
    columns = batch.inputs.argmax(2).T.tolist()  # (B, T)
    return ["".join(SYMBOLS[i] for i in column[:n]) for column, n in zip(columns, batch.lengths.tolist())]


def next_sets(batch: Batch, b: int) -> list[str]:
    """The target sets of sequence b, step by step ("-" where the step is not scored)."""
    rows = batch.targets[: int(batch.lengths[b]), b].tolist()
    return ["".join(SYMBOLS[i] for i in range(7) if row[i] == 1) if row[7] == 1 else "-" for row in rows]


def split_stream(text: str) -> list[str]:
    """A continual stream cut into its strings: each ends at the E that a B follows (or the stream's last E)."""
    return re.findall(r".*?E(?=B|$)", text)


def check_strings(task: ReberTask, batch: Batch) -> None:
    """Every sequence read back: a grammatical string (or stream of strings), the inputs one-hot at real steps
    and zero past each length, and the target of every step the possible next symbols of the independent
    recogniser, scored at every step but a string's final E (which, in a stream, predicts the next B)."""
    c = task.config
    steps, B, features = batch.inputs.shape
    assert features == 7 and batch.inputs.dtype == torch.float32 and batch.targets.shape == (steps, B, 8)
    assert steps == int(batch.lengths.max())
    real = torch.arange(steps).unsqueeze(1) < batch.lengths  # (T, B)
    assert ((batch.inputs == 0) | (batch.inputs == 1)).all()
    assert torch.equal(batch.inputs.sum(2), real.float()), "one-hot at real steps, zero vectors past each length"
    assert (batch.targets[~real] == 0).all(), "padded steps are never scored"
    grammar_next = embedded_next if c.embedded else reber_next
    for b, text in enumerate(read(batch)):
        strings = split_stream(text) if c.continual else [text]
        assert "".join(strings) == text and len(strings) == (c.strings_per_stream if c.continual else 1)
        expected = []
        for i, string in enumerate(strings):
            assert grammar_next(string) == set(), f"{string!r} is not a whole string of the grammar"
            expected += ["".join(s for s in SYMBOLS if s in grammar_next(string[:t + 1])) for t in range(len(string))]
            expected[-1] = "B" if c.continual else "-"
        assert next_sets(batch, b) == expected


@pytest.mark.parametrize("config", [{}, {"embedded": False}, {"continual": True, "strings_per_stream": 5},
                                    {"continual": True, "embedded": False, "strings_per_stream": 3}], ids=str)
def test_every_sample_follows_the_grammar(config):
    task, batch = sample(300, **config)
    check_strings(task, batch)


def test_lengths_and_choices_have_the_grammars_statistics():
    """20,000 strings: Reber strings of 5 symbols at least and 8 on average, embedded ones 9 and 12 (the paper's
    "as few as 9 steps"); every choice of two edges taken with probability 0.5 (T or P after the first B)."""
    _, plain = sample(20_000, embedded=False)
    _, embedded = sample(20_000, seed=1)
    for batch, shortest, mean in ((plain, 5, 8.0), (embedded, 9, 12.0)):
        assert int(batch.lengths.min()) == shortest
        assert abs(batch.lengths.float().mean().item() - mean) < 0.1
    second = embedded.inputs[1].argmax(1)  # (B,) T or P
    assert set(second.tolist()) == {SYMBOLS.index("T"), SYMBOLS.index("P")}
    assert abs((second == SYMBOLS.index("T")).float().mean().item() - 0.5) < 0.015
    texts = read(embedded)
    assert all(text[-2] == text[1] for text in texts), "the symbol before last repeats the second"
    inner_first = [text[3] for text in texts]  # the inner string's T or P
    assert abs(inner_first.count("T") / len(texts) - 0.5) < 0.015


def test_same_seed_same_batch_and_no_global_rng():
    torch.manual_seed(1)
    state = torch.get_rng_state()
    _, a = sample(seed=7, continual=True, strings_per_stream=4)
    assert torch.equal(torch.get_rng_state(), state)
    _, b = sample(seed=7, continual=True, strings_per_stream=4)
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets) and torch.equal(a.lengths, b.lengths)


def test_make_batch_reads_strings_with_the_tasks_grammar():
    task = ReberTask()
    batch = task.make_batch(["BTBPVVETE", "BPBTSSXXTVVEPE"])
    assert read(batch) == ["BTBPVVETE", "BPBTSSXXTVVEPE"]
    check_strings(task, batch)
    stream_task = ReberTask(ReberTask.Config(continual=True, strings_per_stream=2))
    check_strings(stream_task, stream_task.make_batch(["BTBPVVETEBPBTXSEPE"]))
    for text, step, letter in (("BTBPVVEPE", 7, "P"), ("BTBPVVETEB", 9, "B"), ("BQ", 1, "Q")):
        with pytest.raises(ValueError, match=re.escape(f"reber task: {text!r} leaves the grammar at step {step} "
                                                       f"({letter!r})")):
            task.make_batch([text])


# ---- the worked example -----------------------------------------------------------------------------------

def docstring_rows() -> dict[str, list[str]]:
    rows = {}
    for line in rnnlab.tasks.reber.__doc__.splitlines():
        match = re.match(r"    (t|input|next) +(.*)", line)
        if match:
            rows[match[1]] = match[2].split()[:9]
    return rows


def logits(probabilities: list[float]) -> list[float]:
    return [math.log(p / (1 - p)) for p in probabilities]


def test_the_docstrings_worked_example():
    """The table is the task's own batch of BTBPVVETE; the outputs of the text are judged as written."""
    rows = docstring_rows()
    assert rows["t"] == [str(t) for t in range(9)]
    text = "".join(rows["input"])
    assert text == "BTBPVVETE" and embedded_next(text) == set()
    task = ReberTask()
    batch = task.make_batch([text])
    assert next_sets(batch, 0) == rows["next"]
    perfect = 10 * (2 * batch.targets[..., :7] - 1)  # (9, 1, 7)
    assert task.metrics(perfect, batch)["accuracy"] == 1.0
    first = perfect.clone()
    first[0, 0] = torch.tensor(logits([0.10, 0.60, 0.40, 0.20, 0.10, 0.10, 0.10]))
    got = task.metrics(first, batch)
    assert got["ranking_accuracy"] == 1.0 and got["accuracy"] == 0.0  # T, P most active; P below 0.5
    first[0, 0] = torch.tensor(logits([0.10, 0.60, 0.15, 0.20, 0.10, 0.10, 0.10]))
    got = task.metrics(first, batch)
    assert got["accuracy"] == 0.0 and got["ranking_accuracy"] == 0.0  # S beats P
    assert got["symbol_accuracy"] == pytest.approx(7 / 8)  # 8 scored steps, the first wrong


# ---- loss and metrics ----------------------------------------------------------------------------------------

def perfect_outputs(batch: Batch, margin: float = 10.0) -> torch.Tensor:
    return margin * (2 * batch.targets[..., :7] - 1)  # (T, B, 7)


@pytest.mark.parametrize("config", [{}, {"embedded": False}, {"continual": True, "strings_per_stream": 7}], ids=str)
def test_a_perfect_predictor_scores_one(config):
    task, batch = sample(200, seed=3, **config)
    got = task.metrics(perfect_outputs(batch).double(), batch)  # float64: the loss's tiny value exactly
    assert got["accuracy"] == got["ranking_accuracy"] == got["symbol_accuracy"] == 1.0
    assert got["count"] == 200
    assert got["loss"] == pytest.approx(7 * math.log1p(math.exp(-10)), rel=1e-4)
    if task.config.embedded:
        assert got["memory_accuracy"] == 1.0
    else:
        assert "memory_accuracy" not in got
    if task.config.continual:
        assert got["stream_accuracy"] == 1.0 and got["strings_before_error"] == 7.0


def test_a_predictor_without_memory_fails_every_embedded_string():
    """The best net without memory of the second symbol: right everywhere but after the inner E, where it
    puts T and P alike.  By the paper's criterion every string is wrong, though 1 step in 11 is."""
    task, batch = sample(500, seed=4)
    outputs = perfect_outputs(batch)
    possible = batch.targets[..., :7] == 1
    memory = (batch.targets[..., 7] == 1) & (possible.sum(2) == 1) & (possible[..., 1] | possible[..., 2])
    assert torch.equal(memory.sum(0), torch.ones(500, dtype=torch.long)), "one memory step per string"
    outputs[..., 1:3][memory] = 10.0  # T and P both on
    got = task.metrics(outputs, batch)
    assert got["accuracy"] == got["ranking_accuracy"] == got["memory_accuracy"] == 0.0
    scored = int((batch.targets[..., 7] == 1).sum())
    assert got["symbol_accuracy"] == pytest.approx(1 - 500 / scored)


def test_constant_outputs_score_nothing():
    task, batch = sample(100, seed=5)
    got = task.metrics(torch.zeros(*batch.inputs.shape), batch)  # every unit at 0.5: all tied
    assert got["accuracy"] == got["symbol_accuracy"] == got["ranking_accuracy"] == 0.0
    assert got["loss"] == pytest.approx(7 * math.log(2), rel=1e-6)


def test_loss_by_hand_and_padding_never_counts():
    """Two strings, BPVVE (8 steps of padding after it in a batch with a longer one): the loss is the mean over
    the scored steps of the summed cross-entropies; outputs at unscored steps change nothing, get no gradient."""
    task = ReberTask(ReberTask.Config(embedded=False))
    batch = task.make_batch(["BPVVE", "BTSSXXTVVE"])
    outputs = torch.randn(10, 2, 7, generator=torch.Generator().manual_seed(0), requires_grad=True)
    targets, scored = batch.targets[..., :7], batch.targets[..., 7] == 1
    assert scored.sum(0).tolist() == [4, 9]
    y = torch.sigmoid(outputs.detach())
    per_step = -(targets * y.log() + (1 - targets) * (1 - y).log()).sum(2)  # (T, B)
    expected = per_step[scored].mean()
    loss = task.loss(outputs, batch)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    loss.backward()
    assert (outputs.grad[~scored] == 0).all() and (outputs.grad[scored] != 0).any()
    changed = outputs.detach().clone()
    changed[~scored] = 99.0
    assert task.metrics(changed, batch) == task.metrics(outputs.detach(), batch)


def test_continual_streams_count_strings_before_the_first_error():
    """Streams of 4 strings: one wrong step in string 3 of stream 0 and one in string 1 of stream 1."""
    task, batch = sample(3, seed=6, continual=True, strings_per_stream=4)
    outputs = perfect_outputs(batch)
    starts = {b: [0] for b in range(3)}
    for b, text in enumerate(read(batch)):
        for string in split_stream(text)[:-1]:
            starts[b].append(starts[b][-1] + len(string))
    outputs[starts[0][2] + 1, 0] = -outputs[starts[0][2] + 1, 0]  # stream 0, third string
    outputs[starts[1][0], 1] = -outputs[starts[1][0], 1]  # stream 1, first string
    got = task.metrics(outputs, batch)
    assert got["accuracy"] == pytest.approx(10 / 12)
    assert got["stream_accuracy"] == pytest.approx(1 / 3)
    assert got["strings_before_error"] == pytest.approx((2 + 0 + 4) / 3)


@pytest.mark.parametrize("shape", [(5, 2, 6), (5, 7), (4, 2, 7)])
def test_outputs_of_the_wrong_shape_are_refused(shape):
    task = ReberTask(ReberTask.Config(embedded=False))
    batch = task.make_batch(["BPVVE", "BTXSE"])
    message = re.escape(f"task 'reber' expects outputs of shape (T, B, 7) = (5, 2, 7), one logit per symbol at "
                        f"every step; got {shape}")
    for call in (task.loss, task.metrics):
        with pytest.raises(ValueError, match=message):
            call(torch.zeros(shape), batch)


# ---- settings -----------------------------------------------------------------------------------------------

def test_defaults_are_the_papers_and_the_recommendations():
    assert ReberTask().config == ReberTask.Config(embedded=True, continual=False, strings_per_stream=100)
    assert (ReberTask.input_size, ReberTask.output_size, ReberTask.output_kind) == (7, 7, "every")
    assert (ReberTask.main_metric, ReberTask.main_metric_goal) == ("accuracy", "max")
    advice = ReberTask.recommendations("lstm", {})
    assert advice["train.eval_size"] == 256 and advice["train.stop_when"] == "accuracy >= 1.0"
    assert advice["model.hidden_size"] == 32 and advice["train.lr"] == 0.01
    assert ReberTask.recommendations("gru", {"continual": True})["train.eval_size"] == 10
    assert "model.hidden_size" not in ReberTask.recommendations("gru", {})


@pytest.mark.parametrize("field, value, message", [
    ("embedded", "yes", "embedded must be true or false; got 'yes'"),
    ("continual", 1, "continual must be true or false; got 1"),
    ("strings_per_stream", 0, "strings_per_stream must be an int >= 1; got 0"),
    ("strings_per_stream", 2.0, "strings_per_stream must be an int >= 1; got 2.0"),
])
def test_bad_settings_name_the_field_and_the_value(field, value, message):
    with pytest.raises(ValueError, match=re.escape(f"reber task: {message}")):
        ReberTask(ReberTask.Config(**{field: value}))


# ---- learning ------------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_an_lstm_learns_the_embedded_grammar():
    """The recommended LSTM (32 units, Adam at 0.01): every one of 256 held-out embedded strings right within
    1,000 batches of 32 (at 400 to 600 with rnnlab train's seeds 0 to 4)."""
    torch.manual_seed(0)
    task = ReberTask()
    model = SequenceTagger("lstm", 7, 32, 7)
    got = train_until(task, model, lr=0.01, steps=1000, check_every=100, held_out=256,
                      reached=lambda got: got["accuracy"] == 1.0)
    assert got["accuracy"] == 1.0 and got["memory_accuracy"] == 1.0
