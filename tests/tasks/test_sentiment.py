"""Sentence sentiment: the seeded split (fixed, disjoint, independent of training), the training-only
vocabulary, padded batches with lengths, the held-out set, accuracy on hand-made logits, refusals."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from rnnlab.config import parse_override
from rnnlab.data import DataError
from rnnlab.data.labelled import pad_batch, sentence_vocabulary, tokenize
from rnnlab.tasks import registry
from rnnlab.tasks.base import Batch
from rnnlab.tasks.sentiment import SentimentTask

SENTIMENT = Path(__file__).resolve().parents[3] / "shared" / "data" / "sentiment"  # beside the repository


def corpus(tmp_path: Path, n: int = 50) -> Path:
    """n sentences, "sentence k is good|bad" with the label 1|0, and some extra words."""
    lines = [f"Sentence {k} is {'good' if k % 2 else 'bad'}{'!' * (k % 3)} {'very ' * (k % 4)}\t{k % 2}"
             for k in range(n)]
    path = tmp_path / "reviews.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def make(tmp_path: Path, n: int = 50, **config) -> SentimentTask:
    return SentimentTask(SentimentTask.Config(path=str(corpus(tmp_path, n)), **config))


def test_class_attributes_and_defaults(tmp_path):
    task = make(tmp_path)
    assert registry.get("sentiment") is SentimentTask
    assert (task.output_kind, task.main_metric, task.main_metric_goal, task.output_size) == \
        ("last", "accuracy", "max", 2)
    assert task.input_vocab == task.input_size == len(task.vocabulary)
    assert task.vocabulary.itos[:2] == ("<pad>", "<unk>")
    assert SentimentTask.Config() == SentimentTask.Config(path="", validation_fraction=0.2, split_seed=0,
                                                          min_count=1, max_length=None)


def test_the_docstrings_worked_example(tmp_path):
    path = tmp_path / "yelp.txt"
    path.write_text("Wow... Loved this place.\t1\nCrust is not good.\t0\n")
    task = SentimentTask(SentimentTask.Config(path=str(path), validation_fraction=0.5))
    # build the docstring's vocabulary from both lines, as it says, and batch them
    tokens = [tokenize(s) for s in ("Wow... Loved this place.", "Crust is not good.")]
    assert tokens == [["wow", "...", "loved", "this", "place", "."], ["crust", "is", "not", "good", "."]]
    vocabulary = sentence_vocabulary(tokens)
    assert vocabulary.itos == ("<pad>", "<unk>", ".", "...", "crust", "good", "is", "loved", "not", "place", "this",
                               "wow")
    inputs, lengths = pad_batch([vocabulary.encode(t) for t in tokens])
    assert inputs.T.tolist() == [[11, 3, 7, 10, 9, 2], [4, 6, 8, 5, 2, 0]] and lengths.tolist() == [6, 5]
    assert len(task.train_sentences) == len(task.validation_sentences) == 1


def test_the_split_is_seeded_disjoint_and_complete(tmp_path):
    task = make(tmp_path, 50)
    train = {s.line for s in task.train_sentences}
    validation = {s.line for s in task.validation_sentences}
    assert len(validation) == 10 and len(train) == 40  # 80/20
    assert train.isdisjoint(validation) and train | validation == set(range(1, 51))
    assert [s.line for s in make(tmp_path, 50).validation_sentences] == [s.line for s in task.validation_sentences]
    other = make(tmp_path, 50, split_seed=1)
    assert {s.line for s in other.validation_sentences} != validation


def test_the_split_does_not_depend_on_the_global_rng(tmp_path):
    torch.manual_seed(0)
    a = make(tmp_path)
    torch.manual_seed(1)
    b = make(tmp_path)
    assert [s.line for s in a.validation_sentences] == [s.line for s in b.validation_sentences]


def test_a_batch_is_padded_token_ids_with_lengths(tmp_path):
    task = make(tmp_path)
    batch = task.sample(12, torch.Generator().manual_seed(0))
    T = int(batch.lengths.max())
    assert batch.inputs.shape == (T, 12) and batch.inputs.dtype == torch.int64
    assert batch.lengths.dtype == torch.int64 and batch.targets.dtype == torch.int64 and batch.targets.shape == (12,)
    steps = torch.arange(T).unsqueeze(1)  # (T, 1)
    assert (batch.inputs[steps >= batch.lengths] == 0).all(), "padding is <pad> (0)"
    assert (batch.inputs[steps < batch.lengths] != 0).all()
    training = {(tuple(task.vocabulary.encode(tokenize(s.text)).tolist()), s.label) for s in task.train_sentences}
    for b in range(12):
        sentence = tuple(batch.inputs[: batch.lengths[b], b].tolist())
        assert (sentence, int(batch.targets[b])) in training  # drawn from the training split only
    again = task.sample(12, torch.Generator().manual_seed(0))
    assert torch.equal(batch.inputs, again.inputs) and torch.equal(batch.targets, again.targets)


def test_the_vocabulary_comes_from_the_training_split_only(tmp_path):
    path = tmp_path / "s.txt"
    lines = [f"common word {k}\t{k % 2}" for k in range(9)] + ["zebra\t1"]
    path.write_text("\n".join(lines))
    for seed in range(20):  # find a split that holds "zebra" out
        task = SentimentTask(SentimentTask.Config(path=str(path), split_seed=seed, validation_fraction=0.1))
        if task.validation_sentences[0].text == "zebra":
            break
    assert "zebra" not in task.vocabulary and "common" in task.vocabulary
    (held_out,) = task.eval_set(10, seed=0)
    assert held_out.inputs.tolist() == [[1]] and held_out.targets.tolist() == [1]  # <unk>


def test_min_count_and_max_length(tmp_path):
    task = make(tmp_path, min_count=3)
    assert "sentence" in task.vocabulary and "17" not in task.vocabulary
    short = make(tmp_path, max_length=2)
    batch = short.sample(20, torch.Generator().manual_seed(0))
    assert batch.inputs.shape[0] == 2 and (batch.lengths == 2).all()


def test_eval_set_is_the_validation_split_in_order(tmp_path):
    task = make(tmp_path, 1300)
    batches = task.eval_set(10_000, seed=0)
    assert [b.inputs.shape[1] for b in batches] == [260]
    assert batches[0].targets.tolist() == [s.label for s in task.validation_sentences]
    first = task.eval_set(7, seed=3)
    task.sample(5, torch.Generator().manual_seed(3))
    torch.manual_seed(5)
    again = task.eval_set(7, seed=4)
    assert torch.equal(first[0].inputs, again[0].inputs) and first[0].inputs.shape[1] == 7
    assert torch.equal(first[0].inputs, batches[0].inputs[: first[0].inputs.shape[0], :7])
    big = make(tmp_path, 3000)
    assert [b.inputs.shape[1] for b in big.eval_set(1000, seed=0)] == [500, 100]


def test_metrics_on_hand_made_logits(tmp_path):
    task = make(tmp_path)
    batch = Batch(inputs=torch.ones(3, 4, dtype=torch.int64), targets=torch.tensor([0, 1, 1, 0]),
                  lengths=torch.tensor([3, 2, 1, 3]))
    outputs = torch.tensor([[2.0, 0.0], [0.0, 2.0], [1.0, 0.0], [0.0, 0.0]])  # right, right, wrong, a tie (-> 0)
    got = task.metrics(outputs, batch)
    assert got.keys() == {"loss", "accuracy", "count"}
    assert got["accuracy"] == 0.75 and got["count"] == 4
    expected = torch.nn.functional.cross_entropy(outputs, batch.targets).item()
    assert got["loss"] == pytest.approx(expected) and task.loss(outputs, batch).item() == pytest.approx(expected)
    with pytest.raises(ValueError, match=re.escape("task 'sentiment' expects outputs of shape (B, 2) = (4, 2); "
                                                   "got (4, 3)")):
        task.metrics(torch.zeros(4, 3), batch)


def test_more_classes_than_two(tmp_path):
    path = tmp_path / "five.txt"
    path.write_text("".join(f"review {k}\t{k % 5}\n" for k in range(20)))
    assert SentimentTask(SentimentTask.Config(path=str(path))).output_size == 5


@pytest.mark.parametrize("field, value, message", [
    ("path", "", "path is required: a sentence<TAB>label file or a list of them"),
    ("path", [], "path is required"),
    ("path", ["a.txt", ""], "path must be a file path or a list of file paths; got ['a.txt', '']"),
    ("validation_fraction", 0, "validation_fraction must be a number in (0, 1); got 0"),
    ("split_seed", -1, "split_seed must be an int >= 0; got -1"),
    ("min_count", 0, "min_count must be an int >= 1; got 0"),
    ("max_length", 0, "max_length must be an int >= 1; got 0"),
])
def test_bad_settings_name_the_field_and_the_value(field, value, message):
    config = {"path": "never-read.txt", field: value}
    with pytest.raises(ValueError, match=re.escape(f"sentiment task: {message}")):
        SentimentTask(SentimentTask.Config(**config))


def test_data_errors_name_the_file_and_the_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("fine\t1\nno label here\n")
    with pytest.raises(DataError, match=re.escape(f"{path}, line 2: no tab between sentence and label")):
        SentimentTask(SentimentTask.Config(path=str(path)))
    path.write_text("fine\t1\n")
    with pytest.raises(ValueError, match=re.escape(f"sentiment task: {path} hold(s) 1 labelled sentence(s); "
                                                   f"validation_fraction 0.2 leaves 0 for validation and 1 for "
                                                   f"training, and each split needs at least one")):
        SentimentTask(SentimentTask.Config(path=str(path)))


def test_the_command_line_can_set_a_list_of_files():
    assert parse_override('task.path=["a.txt", "b.txt"]', "sentiment") == ("task", "path", ["a.txt", "b.txt"])
    assert parse_override("task.max_length=none", "sentiment") == ("task", "max_length", None)


@pytest.mark.skipif(not SENTIMENT.is_dir(), reason="shared/data/sentiment is not beside the repository")
def test_the_three_uci_files():
    task = SentimentTask(SentimentTask.Config(path=[str(p) for p in sorted(SENTIMENT.glob("*_labelled.txt"))]))
    assert (len(task.train_sentences), len(task.validation_sentences), task.output_size) == (2400, 600, 2)
    batch = task.sample(64, torch.Generator().manual_seed(0))
    assert batch.inputs.shape[1] == 64 and int(batch.lengths.min()) >= 1
