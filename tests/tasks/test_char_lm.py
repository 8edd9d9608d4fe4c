"""The character language model (char-rnn): windows of the training text, the held-out tail, bits per
character on hand-made outputs, encode/decode, and every refused setting."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import torch

import rnnlab.tasks.char_lm
from rnnlab.config import parse_override
from rnnlab.data import DataError
from rnnlab.tasks import registry
from rnnlab.tasks.base import Batch
from rnnlab.tasks.char_lm import CharLMTask

TEXT = "".join(f"line {i}: the quick brown fox jumps over the lazy dog\n" for i in range(60))  # 3,230 characters


def make(tmp_path: Path, text: str = TEXT, **config) -> CharLMTask:
    path = tmp_path / "corpus.txt"
    path.write_text(text, encoding="utf-8")
    return CharLMTask(CharLMTask.Config(path=str(path), **config))


# ---- the task -----------------------------------------------------------------------------------

def test_class_attributes_and_vocabulary(tmp_path):
    task = make(tmp_path)
    assert registry.get("char_lm") is CharLMTask
    assert (task.output_kind, task.language_model, task.main_metric, task.main_metric_goal) == \
        ("every", True, "bits_per_char", "min")
    assert task.itos == tuple(sorted(set(TEXT)))
    assert task.input_vocab == task.input_size == task.output_size == len(set(TEXT))
    assert task.stoi == {c: i for i, c in enumerate(task.itos)}


def test_defaults_are_char_rnns():
    assert CharLMTask.Config() == CharLMTask.Config(path="", seq_length=50, validation_fraction=0.05,
                                                    validation_path="")


def test_the_docstrings_worked_example(tmp_path):
    """'to be or not to be\\n' with seq_length 4 and validation_fraction 0.25, as in the module docstring."""
    task = make(tmp_path, "to be or not to be\n", seq_length=4, validation_fraction=0.25)
    assert task.itos == ("\n", " ", "b", "e", "n", "o", "r", "t")
    assert task.decode(task.train_tokens) == "to be or not t"
    assert task.decode(task.validation_tokens) == "o be\n"
    assert task.encode("be o").tolist() == [2, 3, 1, 5] and task.encode("e or").tolist() == [3, 1, 5, 6]
    (held_out,) = task.eval_set(10, seed=0)
    assert held_out.inputs.tolist() == [[5], [1], [2], [3]] and held_out.targets.tolist() == [[1], [2], [3], [0]]
    doc = rnnlab.tasks.char_lm.__doc__
    assert "inputs 'be o' = [2, 3, 1, 5], targets 'e or' = [3, 1, 5, 6]" in doc
    assert "inputs 'o be' = [5, 1, 2, 3], targets ' be\\n' = [1, 2, 3, 0]" in doc
    starts = set()
    for seed in range(40):  # windows start at 0..9 of the 14 training characters
        batch = task.sample(8, torch.Generator().manual_seed(seed))
        starts |= {"to be or not t".index(task.decode(batch.inputs[:, b])) for b in range(8)}
    assert starts == set(range(10))


def test_a_batch_is_windows_of_the_training_text_and_their_next_characters(tmp_path):
    task = make(tmp_path, seq_length=20)
    batch = task.sample(16, torch.Generator().manual_seed(0))
    assert batch.inputs.shape == batch.targets.shape == (20, 16)
    assert batch.inputs.dtype == batch.targets.dtype == torch.int64 and batch.lengths is None
    assert torch.equal(batch.inputs[1:], batch.targets[:-1])  # targets are the inputs one step later
    training_text = task.decode(task.train_tokens)
    for b in range(16):
        window = task.decode(batch.inputs[:, b]) + task.decode(batch.targets[-1:, b])
        assert window in training_text


def test_the_validation_split_is_the_tail_and_the_vocabulary_covers_both(tmp_path):
    task = make(tmp_path, TEXT + "Zé\n", seq_length=10)
    held_out = round(len(TEXT + "Zé\n") * 0.05)
    assert task.decode(task.validation_tokens) == (TEXT + "Zé\n")[-held_out:]
    assert task.decode(task.train_tokens) + task.decode(task.validation_tokens) == TEXT + "Zé\n"
    assert "Z" in task.stoi and "é" in task.stoi  # characters seen only in the validation text


def test_validation_path_replaces_the_tail(tmp_path):
    validation = tmp_path / "valid.txt"
    validation.write_text("a quick fox!\n" * 3)
    task = make(tmp_path, validation_path=str(validation), seq_length=5)
    assert task.decode(task.train_tokens) == TEXT
    assert task.decode(task.validation_tokens) == "a quick fox!\n" * 3
    assert "!" in task.stoi


def test_several_files_are_one_corpus(tmp_path):
    (tmp_path / "a.txt").write_text("abcdefgh")
    (tmp_path / "b.txt").write_text("ijklmnop\n")
    task = CharLMTask(CharLMTask.Config(path=[str(tmp_path / "a.txt"), str(tmp_path / "b.txt")], seq_length=3,
                                        validation_fraction=0.3))
    assert task.decode(task.train_tokens) + task.decode(task.validation_tokens) == "abcdefgh\nijklmnop\n"


def test_same_seed_same_batch_and_only_the_given_generator(tmp_path):
    task = make(tmp_path)
    torch.manual_seed(1)
    state = torch.get_rng_state()
    a = task.sample(8, torch.Generator().manual_seed(3))
    assert torch.equal(torch.get_rng_state(), state)
    b = task.sample(8, torch.Generator().manual_seed(3))
    c = task.sample(8, torch.Generator().manual_seed(4))
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets)
    assert not torch.equal(a.inputs, c.inputs)


# ---- parallel streams (train.carry_state) ------------------------------------------------------

def test_stream_batches_continue_each_other_and_wrap_after_an_epoch(tmp_path):
    task = make(tmp_path, "abcdefghijklmnopqrstuvwxyz" * 2, seq_length=3, validation_fraction=0.2)
    assert task.stream
    # 42 training characters: B = 4 streams of L = 41 // 4 = 10, starting at 0, 10, 20, 30; P = 10 // 3 = 3
    first = task.stream_batch(4, 0, seed=0)
    assert [task.decode(first.inputs[:, b]) for b in range(4)] == ["abc", "klm", "uvw", "efg"]
    assert [task.decode(first.targets[:, b]) for b in range(4)] == ["bcd", "lmn", "vwx", "fgh"]
    pieces = [task.stream_batch(4, i, seed=0) for i in range(3)]
    for a, b in zip(pieces, pieces[1:]):
        assert torch.equal(b.inputs[0], a.targets[-1])  # piece i + 1 reads on where piece i stopped
    stream_0 = "".join(task.decode(p.inputs[:, 0]) for p in pieces)
    assert stream_0 == "abcdefghi"
    assert torch.equal(task.stream_batch(4, 3, seed=0).inputs, first.inputs)  # a new epoch
    assert torch.equal(task.stream_batch(4, 1, seed=7).inputs, pieces[1].inputs)  # the seed changes nothing
    assert first.lengths is None and first.inputs.dtype == torch.int64


def test_streams_need_enough_text(tmp_path):
    task = make(tmp_path, "abcdefghijklmnopqrstuvwxyz" * 2, seq_length=3, validation_fraction=0.2)
    with pytest.raises(ValueError, match=re.escape("char_lm task: the training split of 42 characters is too short "
                                                   "for 14 streams of seq_length 3: it needs at least 14 · 3 + 1 = "
                                                   "43 (a smaller batch or more text)")):
        task.stream_batch(14, 0, seed=0)
    with pytest.raises(ValueError, match=re.escape("index must be an int >= 0; got -1")):
        task.stream_batch(2, -1, seed=0)


def test_the_default_prime_is_a_line_end(tmp_path):
    assert make(tmp_path).default_prime() == "\n"
    no_line_end = make(tmp_path, "no line end in this text at all", seq_length=3, validation_fraction=0.2)
    assert no_line_end.default_prime() == "n"


# ---- the held-out set ---------------------------------------------------------------------------

def test_eval_set_is_the_validation_split_in_consecutive_windows(tmp_path):
    task = make(tmp_path, seq_length=2, validation_fraction=0.4)  # 1292 validation characters: 645 windows
    n_val = len(task.validation_tokens)
    batches = task.eval_set(10_000, seed=0)
    assert [b.inputs.shape for b in batches] == [(2, 500), (2, (n_val - 1) // 2 - 500)]
    inputs = torch.cat([b.inputs for b in batches], dim=1)  # (2, windows)
    targets = torch.cat([b.targets for b in batches], dim=1)
    windows = inputs.shape[1]
    # consecutive, non-overlapping: the inputs read the validation text in order, the targets one step later
    assert torch.equal(inputs.T.reshape(-1), task.validation_tokens[: 2 * windows])
    assert torch.equal(targets.T.reshape(-1), task.validation_tokens[1 : 2 * windows + 1])
    assert all(b.lengths is None for b in batches)


def test_eval_set_is_fixed_capped_and_independent_of_the_seed(tmp_path):
    task = make(tmp_path, seq_length=10)
    first = task.eval_set(7, seed=0)
    task.sample(5, torch.Generator().manual_seed(0))
    torch.manual_seed(99)
    again = task.eval_set(7, seed=123)
    assert len(first) == 1 and first[0].inputs.shape == (10, 7)
    assert torch.equal(first[0].inputs, again[0].inputs) and torch.equal(first[0].targets, again[0].targets)
    assert task.eval_set(10**6, seed=0)[0].inputs.shape[1] == (len(task.validation_tokens) - 1) // 10


def test_eval_set_arguments_are_checked(tmp_path):
    task = make(tmp_path)
    with pytest.raises(ValueError, match=re.escape("size must be an int >= 1; got 0")):
        task.eval_set(0, seed=0)
    with pytest.raises(TypeError, match="seed must be an int; got '0'"):
        task.eval_set(4, seed="0")
    with pytest.raises(ValueError, match=re.escape("batch_size must be an int >= 1; got 0")):
        task.sample(0, torch.Generator())


# ---- loss and metrics ---------------------------------------------------------------------------

def test_perfect_logits_score_zero_bits_and_full_accuracy(tmp_path):
    task = make(tmp_path, seq_length=12)
    batch = task.sample(6, torch.Generator().manual_seed(0))
    outputs = 100.0 * torch.nn.functional.one_hot(batch.targets, task.output_size).float()  # (T, B, V)
    got = task.metrics(outputs, batch)
    assert got.keys() == {"loss", "nats_per_char", "bits_per_char", "accuracy", "count"}
    assert got["bits_per_char"] == pytest.approx(0.0, abs=1e-6) and got["accuracy"] == 1.0 and got["count"] == 6


def test_uniform_logits_score_log2_of_the_vocabulary(tmp_path):
    task = make(tmp_path, seq_length=12)
    batch = task.sample(6, torch.Generator().manual_seed(0))
    got = task.metrics(torch.zeros(12, 6, task.output_size), batch)
    V = task.output_size
    assert got["bits_per_char"] == pytest.approx(math.log2(V), rel=1e-6)
    assert got["nats_per_char"] == got["loss"] == pytest.approx(math.log(V), rel=1e-6)
    assert task.loss(torch.zeros(12, 6, V), batch).item() == pytest.approx(math.log(V), rel=1e-6)


def test_metrics_on_a_hand_computed_table(tmp_path):
    """Two steps, one window, V = 3 ('a', 'b', 'c'): p(target) = 1/2 and 1/4 give (ln 2 + ln 4)/2 nats, 1.5 bits;
    the first step's largest logit is right, the second's is not."""
    task = make(tmp_path, "abc" * 20, seq_length=2)
    batch = Batch(inputs=torch.tensor([[0], [1]]), targets=torch.tensor([[1], [2]]), lengths=None)
    outputs = torch.log(torch.tensor([[[0.25, 0.5, 0.25]], [[0.5, 0.25, 0.25]]]))  # (2, 1, 3)
    got = task.metrics(outputs, batch)
    assert got["bits_per_char"] == pytest.approx(1.5, rel=1e-6)
    assert got["nats_per_char"] == pytest.approx((math.log(2) + math.log(4)) / 2, rel=1e-6)
    assert got["accuracy"] == 0.5 and got["count"] == 1


def test_loss_has_a_gradient(tmp_path):
    task = make(tmp_path, seq_length=5)
    batch = task.sample(3, torch.Generator().manual_seed(0))
    outputs = torch.zeros(5, 3, task.output_size, requires_grad=True)
    task.loss(outputs, batch).backward()
    expected = (torch.full((5, 3, task.output_size), 1 / task.output_size)
                - torch.nn.functional.one_hot(batch.targets, task.output_size)) / 15  # softmax − one-hot, mean
    torch.testing.assert_close(outputs.grad, expected)


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, "V"), (5, 3, 2)])
def test_outputs_of_the_wrong_shape_are_refused(tmp_path, shape):
    task = make(tmp_path, seq_length=5)
    V = task.output_size
    shape = tuple(V if s == "V" else s for s in shape)
    batch = task.sample(3, torch.Generator().manual_seed(0))
    message = re.escape(f"task 'char_lm' expects outputs of shape (T, B, {V}) = (5, 3, {V}); got {shape}")
    with pytest.raises(ValueError, match=message):
        task.loss(torch.zeros(shape), batch)
    with pytest.raises(ValueError, match=message):
        task.metrics(torch.zeros(shape), batch)


# ---- encode and decode --------------------------------------------------------------------------

def test_encode_decode_round_trip(tmp_path):
    task = make(tmp_path)
    prime = "the lazy fox: 42\n"
    ids = task.encode(prime)
    assert ids.dtype == torch.int64 and ids.shape == (len(prime),)
    assert task.decode(ids) == prime and task.decode(ids.tolist()) == prime


def test_an_unknown_character_is_named(tmp_path):
    task = make(tmp_path)
    with pytest.raises(ValueError, match=re.escape("char_lm task: cannot encode: the character 'Q' (at position 4) "
                                                   "is not in the vocabulary of")):
        task.encode("the Quick")
    with pytest.raises(ValueError, match=re.escape(f"char_lm task: cannot decode {task.output_size}: indices run "
                                                   f"from 0 to {task.output_size - 1}")):
        task.decode([0, task.output_size])
    with pytest.raises(ValueError, match=re.escape("decode takes a 1-D tensor of ids; got shape (2, 2)")):
        task.decode(torch.zeros(2, 2, dtype=torch.int64))
    with pytest.raises(TypeError, match="encode takes a str; got list"):
        task.encode(["a"])


# ---- settings and data errors -------------------------------------------------------------------

def test_the_path_is_required():
    with pytest.raises(ValueError, match=re.escape("char_lm task: path is required: a UTF-8 text file or a list of "
                                                   "them, e.g. --set task.path=data/input.txt; got ''")):
        CharLMTask()
    with pytest.raises(ValueError, match=re.escape("char_lm task: path is required")):
        CharLMTask(CharLMTask.Config(path=[]))
    with pytest.raises(ValueError, match=re.escape("char_lm task: path must be a file path or a list of file paths; "
                                                   "got ['a.txt', 3]")):
        CharLMTask(CharLMTask.Config(path=["a.txt", 3]))
    with pytest.raises(ValueError, match=re.escape("char_lm task: validation_path must be a file path or a list")):
        CharLMTask(CharLMTask.Config(path="a.txt", validation_path=5))


@pytest.mark.parametrize("field, value, message", [
    ("seq_length", 0, "seq_length must be an int >= 1; got 0"),
    ("seq_length", 2.0, "seq_length must be an int >= 1; got 2.0"),
    ("validation_fraction", 0.0, "validation_fraction must be a number in (0, 1), the share of the text held out "
                                 "at its end; got 0.0"),
    ("validation_fraction", 1, "validation_fraction must be a number in (0, 1)"),
    ("validation_fraction", "0.1", "validation_fraction must be a number in (0, 1)"),
])
def test_bad_settings_name_the_field_and_the_value(field, value, message):
    with pytest.raises(ValueError, match=re.escape(f"char_lm task: {message}")):
        CharLMTask(CharLMTask.Config(path="never-read.txt", **{field: value}))


def test_data_errors_name_the_file(tmp_path):
    with pytest.raises(DataError, match=re.escape(f"{tmp_path / 'missing.txt'}: no such file")):
        CharLMTask(CharLMTask.Config(path=str(tmp_path / "missing.txt")))
    (tmp_path / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match=re.escape(f"{tmp_path / 'latin1.txt'}, line 1, byte 3: is not UTF-8")):
        CharLMTask(CharLMTask.Config(path=str(tmp_path / "latin1.txt")))


def test_a_split_too_short_for_a_window(tmp_path):
    with pytest.raises(ValueError, match=re.escape("char_lm task: the validation split holds 5 characters, fewer "
                                                   "than seq_length + 1 = 11 (a window); give more text or a "
                                                   "smaller seq_length")):
        make(tmp_path, "x" * 100, seq_length=10)
    with pytest.raises(ValueError, match=re.escape("char_lm task: the training split holds 9 characters, fewer than "
                                                   "seq_length + 1 = 11")):
        make(tmp_path, "x" * 18, seq_length=10, validation_fraction=0.5)
    (tmp_path / "v.txt").write_text("abc")
    with pytest.raises(ValueError, match=re.escape("char_lm task: validation_path holds 3 characters")):
        make(tmp_path, validation_path=str(tmp_path / "v.txt"))


def test_the_command_line_can_set_the_path():
    assert parse_override("task.path=data/input.txt", "char_lm") == ("task", "path", "data/input.txt")
    assert parse_override('task.path=["a.txt", "b.txt"]', "char_lm") == ("task", "path", ["a.txt", "b.txt"])
    assert parse_override("task.seq_length=100", "char_lm") == ("task", "seq_length", 100)
