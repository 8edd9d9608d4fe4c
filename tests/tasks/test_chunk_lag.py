"""chunk_lag: the docstring's worked example, the stream's rules read back, the generator, loss and metrics by hand,
bad settings and outputs."""

import re

import pytest
import torch
import torch.nn.functional as F

import rnnlab.tasks as tasks
from rnnlab.tasks import chunk_lag
from rnnlab.tasks.chunk_lag import ChunkLagTask


def _task(**settings):
    return ChunkLagTask(ChunkLagTask.Config(**settings))


def _worked_example():
    """The table of the module docstring: rows t, symbol, id, target."""
    text = chunk_lag.__doc__
    table = text[text.index("Worked example"):text.index("Outputs (0.2")]
    rows = {}
    for line in table.splitlines():
        words = line.split()
        if words and words[0] in ("t", "symbol", "id", "target"):
            rows[words[0]] = words[1:9]
    return rows


def test_the_docstring_worked_example():
    rows = _worked_example()
    task = _task(lag=3, blocks=2)
    batch = task.make_batch(torch.tensor([[1], [0]]))  # x, then a
    assert batch.inputs[:, 0].tolist() == [int(i) for i in rows["id"]]
    assert batch.targets[:, 0].tolist() == [int(t.replace("−", "-")) for t in rows["target"]]
    names = ["a", "x"] + [f"b{i}" for i in range(1, 4)]
    assert [names[i] for i in batch.inputs[:, 0]] == rows["symbol"]
    # the outputs the docstring reads: (0.2, 1.5) at t = 3 says x, (0.4, −0.1) at t = 7 says a: both right
    outputs = torch.zeros(8, 1, 2)
    outputs[3, 0] = torch.tensor([0.2, 1.5])
    outputs[7, 0] = torch.tensor([0.4, -0.1])
    assert task.metrics(outputs, batch)["accuracy"] == 1.0
    assert re.search(r"ids a 0, x 1, b_i i \+ 1", chunk_lag.__doc__)


@pytest.mark.parametrize("lag, blocks", [(20, 10), (1, 3), (7, 1), (100, 2)])
def test_the_stream_is_blocks_of_a_or_x_then_b1_to_b_lag_with_the_label_at_each_end(lag, blocks):
    task = _task(lag=lag, blocks=blocks)
    batch = task.sample(16, torch.Generator().manual_seed(0))
    T = blocks * (lag + 1)
    assert batch.inputs.shape == (T, 16) and batch.inputs.dtype == torch.long and batch.lengths is None
    assert task.input_vocab == task.input_size == lag + 2 and task.output_size == 2
    position = torch.arange(T) % (lag + 1)  # (T,) the place of each step in its block
    first = position == 0
    assert ((batch.inputs[first] == 0) | (batch.inputs[first] == 1)).all()  # a or x opens every block
    assert (batch.inputs[~first] == (position[~first] + 1).unsqueeze(1)).all()  # then b_1 … b_lag, ids 2 … lag + 1
    labelled = batch.targets >= 0
    assert torch.equal(labelled, (position == lag).unsqueeze(1).expand(T, 16))  # the label at each block's end
    assert torch.equal(batch.targets[labelled], batch.inputs[first].flatten())  # … is the block's first symbol


def test_every_draw_comes_from_the_generator():
    task = _task()
    torch.manual_seed(1)
    a = task.sample(64, torch.Generator().manual_seed(5))
    torch.manual_seed(2)
    b = task.sample(64, torch.Generator().manual_seed(5))
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets)
    c = task.sample(64, torch.Generator().manual_seed(6))
    assert not torch.equal(a.inputs, c.inputs)
    firsts = task.sample(2000, torch.Generator().manual_seed(0)).inputs[::21]  # (10, 2000) the first symbols
    assert abs(float(firsts.float().mean()) - 0.5) < 0.01  # a and x with probability 1/2 each
    held_out = task.eval_set(600, seed=0)
    assert [b.inputs.shape[1] for b in held_out] == [500, 100]
    assert torch.equal(held_out[0].inputs, task.eval_set(600, seed=0)[0].inputs)


def test_one_hot_inputs_are_the_ids_as_vectors():
    ids = _task(lag=4, blocks=3).sample(5, torch.Generator().manual_seed(0))
    vectors = _task(lag=4, blocks=3, one_hot=True).sample(5, torch.Generator().manual_seed(0))
    assert torch.equal(vectors.inputs, F.one_hot(ids.inputs, 6).float()) and torch.equal(vectors.targets, ids.targets)
    assert _task(one_hot=True).input_vocab is None


def test_loss_and_metrics_by_hand():
    task = _task(lag=2, blocks=3)
    batch = task.make_batch(torch.tensor([[0, 1], [1, 1], [0, 0]]))  # two sequences: a x a, x x a
    outputs = torch.zeros(9, 2, 2)
    labels = [(2, 0, [2.0, 0.0]), (5, 0, [0.0, 1.0]), (8, 0, [0.0, 3.0]),  # sequence 0: right, right, wrong
              (2, 1, [0.0, 1.0]), (5, 1, [0.0, 2.0]), (8, 1, [1.0, 0.0])]  # sequence 1: right, right, right
    for t, b, logits in labels:
        outputs[t, b] = torch.tensor(logits)
    outputs[0, 0] = torch.tensor([-50.0, 50.0])  # an unlabelled step: never scored
    expected_loss = sum(F.cross_entropy(torch.tensor([logits]), batch.targets[t, b].view(1)).item()
                        for t, b, logits in labels) / 6
    metrics = task.metrics(outputs, batch)
    assert metrics["loss"] == pytest.approx(expected_loss)
    assert metrics["accuracy"] == pytest.approx(5 / 6)
    assert metrics["sequence_accuracy"] == 0.5 and metrics["count"] == 2
    outputs.requires_grad_(True)
    task.loss(outputs, batch).backward()
    assert (outputs.grad[batch.targets < 0] == 0).all()  # exactly zero gradient where there is no label


def test_a_perfect_and_a_memoryless_predictor():
    task = _task()
    batch = task.sample(500, torch.Generator().manual_seed(0))
    perfect = F.one_hot(batch.targets.clamp(min=0), 2).float() * 20  # (T, B, 2)
    assert task.metrics(perfect, batch)["accuracy"] == 1.0
    always_a = torch.zeros(*batch.targets.shape, 2)
    always_a[..., 0] = 1.0
    metrics = task.metrics(always_a, batch)
    assert abs(metrics["accuracy"] - 0.5) < 0.03 and metrics["sequence_accuracy"] < 0.01


def test_registered_with_its_recommendations():
    assert tasks.get("chunk_lag") is ChunkLagTask
    assert ChunkLagTask.__doc__.strip().splitlines()[0].startswith("The 20-step chunking problem")
    assert _task().settings() == {"lag": 20, "blocks": 10, "one_hot": False}
    advice = ChunkLagTask.recommendations("history_compressor", {})
    assert advice["model.options"]["cell"] in ("lstm", "elman_tanh") and advice["model.options"]["levels"] == 2
    assert advice["train.stop_when"] == "accuracy >= 0.99"
    assert "model.options" not in ChunkLagTask.recommendations("elman_tanh", {})
    assert "task.blocks" not in advice  # the paper's lag: the task's own settings
    deep = ChunkLagTask.recommendations("history_compressor", {"lag": 1000})
    assert deep["task.blocks"] == 2 and deep["train.eval_size"] == 200 and deep["model.options"]["levels"] == 2


@pytest.mark.parametrize("settings, message", [
    (dict(lag=0), "chunk_lag task: lag must be an int >= 1 (the steps from a block's first symbol to its label); got 0"),
    (dict(lag=2.5), "lag must be an int >= 1"),
    (dict(blocks=0), "chunk_lag task: blocks must be an int >= 1; got 0"),
    (dict(one_hot="yes"), "chunk_lag task: one_hot must be true or false; got 'yes'"),
])
def test_bad_settings_are_refused_with_a_message(settings, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        _task(**settings)


def test_bad_outputs_and_batches_are_refused_with_a_message():
    task = _task(lag=3, blocks=2)
    batch = task.sample(4, torch.Generator().manual_seed(0))
    expected = "expects outputs of shape (T, B, 2) = (8, 4, 2), the logits of a and x at every step; got (8, 4, 3)"
    with pytest.raises(ValueError, match=re.escape(expected)):
        task.loss(torch.zeros(8, 4, 3), batch)
    with pytest.raises(ValueError, match=re.escape("got (4, 2)")):
        task.metrics(torch.zeros(4, 2), batch)
    with pytest.raises(ValueError, match=re.escape("make_batch expects the first symbols as a (blocks=2, B) integer "
                                                   "tensor of 0 (a) and 1 (x)")):
        task.make_batch(torch.tensor([[0, 2], [1, 1]]))
    with pytest.raises(ValueError, match="batch_size must be an int >= 1; got 0"):
        task.sample(0, torch.Generator())
