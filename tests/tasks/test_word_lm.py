"""The word language model (Zaremba et al. 2014): words and <eos>, the training-only vocabulary with
<unk>, windows and the held-out tail, perplexity on hand-made outputs, encode/decode."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import torch

import rnnlab.tasks.word_lm
from rnnlab.config import parse_override
from rnnlab.data import DataError
from rnnlab.tasks import registry
from rnnlab.tasks.word_lm import WordLMTask

WORDS = "the cat sat on the mat and the dog ran to the park".split()
TEXT = "".join(" ".join(WORDS[i % 7 : i % 7 + 5]) + "\n" for i in range(80))  # 80 lines of 5 words


def make(tmp_path: Path, text: str = TEXT, **config) -> WordLMTask:
    path = tmp_path / "corpus.txt"
    path.write_text(text, encoding="utf-8")
    return WordLMTask(WordLMTask.Config(path=str(path), **config))


def test_class_attributes_and_defaults(tmp_path):
    task = make(tmp_path)
    assert registry.get("word_lm") is WordLMTask
    assert (task.output_kind, task.language_model, task.main_metric, task.main_metric_goal) == \
        ("every", True, "perplexity", "min")
    assert task.input_vocab == task.input_size == task.output_size == len(task.itos)
    assert WordLMTask.Config() == WordLMTask.Config(path="", seq_length=35, validation_fraction=0.1,
                                                    validation_path="", min_count=1, max_vocab=None)


def test_the_docstrings_worked_example(tmp_path):
    task = make(tmp_path, "the cat sat\nthe cat ran\nthe dog sat\n", seq_length=2, validation_fraction=0.25)
    assert task.itos == ("<unk>", "the", "<eos>", "cat", "ran", "sat")
    assert task.train_tokens.tolist() == [1, 3, 5, 2, 1, 3, 4, 2, 1]
    assert task.validation_tokens.tolist() == [0, 5, 2]  # 'dog' is not a training word
    (held_out,) = task.eval_set(5, seed=0)
    assert held_out.inputs.tolist() == [[0], [5]] and held_out.targets.tolist() == [[5], [2]]
    assert task.encode("cat sat\n").tolist() == [3, 5, 2]
    doc = rnnlab.tasks.word_lm.__doc__
    assert "vocabulary   <unk> the <eos> cat ran sat" in doc
    assert "'cat sat <eos>'    inputs [3, 5], targets [5, 2]" in doc
    assert "'dog sat <eos>'    inputs [0, 5], targets [5, 2]" in doc


def test_a_batch_is_windows_of_training_words(tmp_path):
    task = make(tmp_path, seq_length=7)
    batch = task.sample(9, torch.Generator().manual_seed(0))
    assert batch.inputs.shape == batch.targets.shape == (7, 9) and batch.inputs.dtype == torch.int64
    assert batch.lengths is None and torch.equal(batch.inputs[1:], batch.targets[:-1])
    stream = task.train_tokens.tolist()
    for b in range(9):
        window = batch.inputs[:, b].tolist() + [int(batch.targets[-1, b])]
        assert any(stream[s : s + 8] == window for s in range(len(stream) - 7))
    again = task.sample(9, torch.Generator().manual_seed(0))
    assert torch.equal(batch.inputs, again.inputs)


def test_the_split_is_on_words_and_the_vocabulary_on_training_words_only(tmp_path):
    text = TEXT + "zebras unicorns\n"
    task = make(tmp_path, text, seq_length=5)
    all_words = [w for line in text.split("\n") if line for w in line.split() + ["<eos>"]]
    held_out = round(len(all_words) * 0.1)
    decoded = task.decode(task.validation_tokens)
    assert decoded.endswith("<unk> <unk>\n")  # words only in the validation split are unknown
    assert "zebras" not in task.stoi
    assert len(task.train_tokens) + len(task.validation_tokens) == len(all_words)
    assert len(task.validation_tokens) == held_out


def test_min_count_and_max_vocab(tmp_path):
    text = "rare words here\n" + TEXT
    assert "rare" in make(tmp_path, text, validation_fraction=0.01, seq_length=3).stoi
    task = make(tmp_path, text, validation_fraction=0.01, seq_length=3, min_count=2)
    assert "rare" not in task.stoi and task.encode("rare").tolist() == [0]
    capped = make(tmp_path, text, validation_fraction=0.01, seq_length=3, max_vocab=4)
    assert capped.itos == ("<unk>", "the", "<eos>", *capped.itos[3:]) and len(capped.itos) == 4


def test_validation_path_is_the_papers_setting(tmp_path):
    (tmp_path / "ptb.valid.txt").write_text(" the cat <unk> \n the dog \n")
    task = make(tmp_path, validation_path=str(tmp_path / "ptb.valid.txt"), seq_length=3)
    assert task.decode(task.validation_tokens) == "the cat <unk>\nthe dog\n"
    assert len(task.train_tokens) == 80 * 6


def test_eval_set_is_consecutive_fixed_and_capped(tmp_path):
    task = make(tmp_path, seq_length=3, validation_fraction=0.5)
    batches = task.eval_set(100_000, seed=0)
    windows = (len(task.validation_tokens) - 1) // 3
    assert sum(b.inputs.shape[1] for b in batches) == windows and all(b.inputs.shape[1] <= 500 for b in batches)
    inputs = torch.cat([b.inputs for b in batches], dim=1)
    assert torch.equal(inputs.T.reshape(-1), task.validation_tokens[: 3 * windows])
    other = task.eval_set(100_000, seed=5)
    assert all(torch.equal(a.targets, b.targets) for a, b in zip(batches, other))


def test_stream_batches_are_the_papers_parallel_streams(tmp_path):
    task = make(tmp_path, seq_length=4)
    N, B = len(task.train_tokens), 5
    L = (N - 1) // B
    pieces = [task.stream_batch(B, i, seed=0) for i in range(L // 4 + 1)]
    for b in range(B):
        read = torch.cat([p.inputs[:, b] for p in pieces[:-1]])
        assert torch.equal(read, task.train_tokens[b * L : b * L + 4 * (L // 4)])
    assert torch.equal(pieces[-1].inputs, pieces[0].inputs)  # epoch 2 starts again


def test_the_default_prime_starts_a_sentence(tmp_path):
    task = make(tmp_path)
    assert task.encode(task.default_prime()).tolist() == [task.stoi["<eos>"]]


def test_perplexity_of_perfect_and_uniform_logits(tmp_path):
    task = make(tmp_path, seq_length=6)
    batch = task.sample(4, torch.Generator().manual_seed(1))
    V = task.output_size
    perfect = task.metrics(50.0 * torch.nn.functional.one_hot(batch.targets, V).float(), batch)
    assert perfect.keys() == {"loss", "perplexity", "accuracy", "count"}
    assert perfect["perplexity"] == pytest.approx(1.0, abs=1e-6) and perfect["accuracy"] == 1.0
    uniform = task.metrics(torch.zeros(6, 4, V), batch)
    assert uniform["perplexity"] == pytest.approx(V, rel=1e-5)
    assert uniform["loss"] == pytest.approx(math.log(V), rel=1e-6) and uniform["count"] == 4
    assert task.loss(torch.zeros(6, 4, V), batch).item() == pytest.approx(math.log(V), rel=1e-6)
    with pytest.raises(ValueError, match=re.escape(f"task 'word_lm' expects outputs of shape (T, B, {V}) = "
                                                   f"(6, 4, {V}); got (6, 4)")):
        task.loss(torch.zeros(6, 4), batch)


def test_encode_and_decode(tmp_path):
    task = make(tmp_path)
    ids = task.encode("the cat sat\nthe dog")
    assert task.decode(ids) == "the cat sat\nthe dog"  # no <eos> after an unfinished line
    assert task.decode(task.encode("the cat\n")) == "the cat\n"
    assert task.decode(task.encode("the zebra\n")) == "the <unk>\n"
    assert task.encode("").tolist() == []
    with pytest.raises(ValueError, match=re.escape(f"word_lm task: cannot decode -1: indices run from 0 to "
                                                   f"{task.output_size - 1}")):
        task.decode([-1])


@pytest.mark.parametrize("field, value, message", [
    ("path", "", "path is required: a UTF-8 text file or a list of them, e.g. --set task.path=data/input.txt; "
                 "got ''"),
    ("seq_length", -1, "seq_length must be an int >= 1; got -1"),
    ("validation_fraction", 1.5, "validation_fraction must be a number in (0, 1)"),
    ("min_count", 0, "min_count must be an int >= 1; got 0"),
    ("max_vocab", 1, "max_vocab must be an int >= 2 (<unk> and at least one word); got 1"),
])
def test_bad_settings_name_the_field_and_the_value(field, value, message):
    config = {"path": "never-read.txt", field: value}
    with pytest.raises(ValueError, match=re.escape(f"word_lm task: {message}")):
        WordLMTask(WordLMTask.Config(**config))


def test_data_errors_name_the_file(tmp_path):
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(DataError, match=re.escape(f"{tmp_path / 'empty.txt'}: is empty")):
        WordLMTask(WordLMTask.Config(path=str(tmp_path / "empty.txt")))
    with pytest.raises(ValueError, match=re.escape("word_lm task: the training split holds 16 words, fewer than "
                                                   "seq_length + 1 = 36 (a window)")):
        make(tmp_path, "a b c d e f g h i j k l m n o p q\n")
    with pytest.raises(ValueError, match=re.escape("word_lm task: the validation split holds 5 words, fewer than "
                                                   "seq_length + 1 = 36 (a window)")):
        make(tmp_path, validation_fraction=0.01)


def test_the_command_line_can_set_the_paths():
    assert parse_override("task.validation_path=ptb.valid.txt", "word_lm") == \
        ("task", "validation_path", "ptb.valid.txt")
    assert parse_override("task.max_vocab=none", "word_lm") == ("task", "max_vocab", None)
