"""Number to English words (1→N generator): words() as a table, the one-hot digit input, every target the
spelling of the number read back from the input, the whole-domain held-out set, metrics, bad settings."""

from __future__ import annotations

import re

import pytest
import torch
import torch.nn.functional as F

from rnnlab.tasks.base import EOS, PAD
from rnnlab.tasks.number_words import NumberWordsTask, words
from rnnlab.tasks.registry import get
from rnnlab.tasks.tokens import decode

WORDS = {
    0: "zero", 7: "seven", 11: "eleven", 15: "fifteen", 20: "twenty", 40: "forty", 99: "ninety nine",
    100: "one hundred", 101: "one hundred one", 115: "one hundred fifteen", 999: "nine hundred ninety nine",
    123: "one hundred twenty three", 700: "seven hundred", 810: "eight hundred ten", 1000: "one thousand",
    1005: "one thousand five", 2019: "two thousand nineteen", 123_456: "one hundred twenty three thousand four "
    "hundred fifty six", 999_999: "nine hundred ninety nine thousand nine hundred ninety nine",
}


@pytest.mark.parametrize("n, text", WORDS.items())
def test_words_table(n, text):
    assert words(n) == text


def test_words_of_every_number_below_1000_are_distinct_and_plain():
    spelled = [words(n) for n in range(1000)]
    assert len(set(spelled)) == 1000
    for text in spelled:
        assert re.fullmatch(r"[a-z]+( [a-z]+)*", text), text  # single spaces, no hyphen
        assert " and " not in f" {text} "
    assert max(map(len, spelled)) == 27  # "seven hundred seventy seven" and its like


@pytest.mark.parametrize("n", [-1, 1_000_000, 3.0, True, "7"])
def test_words_refuses_what_it_cannot_spell(n):
    with pytest.raises(ValueError, match=re.escape(f"words() spells the integers 0..999999; got {n!r}")):
        words(n)


def test_class_attributes():
    task = NumberWordsTask()
    assert get("number_words") is NumberWordsTask and task.output_kind == "generate"
    assert task.input_size == 30 and task.input_vocab is None
    # The space and the 18 letters of 0..999 ("a" only comes with "thousand").
    assert task.output_symbols == ("<pad>", "<bos>", "<eos>", " ", *"defghilnorstuvwxyz")
    assert task.output_size == 22
    assert task.max_target_length == 28 == task.make_batch(torch.tensor([777])).targets.shape[0]
    assert NumberWordsTask(NumberWordsTask.Config(max_number=1000)).output_symbols[4] == "a"
    assert NumberWordsTask(NumberWordsTask.Config(max_number=50)).input_size == 20  # two digit blocks


def test_input_encoding_is_one_hot_digits():
    task = NumberWordsTask()
    inputs = task.encode(torch.tensor([123, 7, 0, 990]))
    assert inputs.shape == (4, 30) and inputs.dtype == torch.float32
    assert [torch.nonzero(row).flatten().tolist() for row in inputs] == [[1, 12, 23], [0, 10, 27], [0, 10, 20],
                                                                         [9, 19, 20]]


def test_the_worked_example():
    """123: the docstring's figures (features 1, 12, 23; 24 characters + EOS)."""
    task = NumberWordsTask()
    batch = task.make_batch(torch.tensor([123]))
    assert torch.nonzero(batch.inputs[0]).flatten().tolist() == [1, 12, 23]
    assert decode(batch.targets[:, 0], task.output_symbols) == "one hundred twenty three"
    assert batch.target_lengths.tolist() == [25] and batch.targets.shape == (25, 1)
    assert batch.targets[:4, 0].tolist() == [task.output_symbols.index(ch) for ch in "one "]
    assert batch.targets[-1, 0] == EOS and batch.lengths is None


def check_rules(task: NumberWordsTask, batch) -> list[int]:
    """Read each number back from its input blocks; its target must spell it, then EOS, then PAD."""
    B = batch.inputs.shape[0]
    assert batch.inputs.shape == (B, task.input_size) and batch.targets.dtype == torch.int64
    assert batch.targets.shape[0] == int(batch.target_lengths.max())
    blocks = batch.inputs.reshape(B, task.digit_blocks, 10)
    assert (blocks.sum(2) == 1).all()
    numbers = []
    for b in range(B):
        n = int("".join(str(int(block.argmax())) for block in blocks[b]))
        spelled = words(n)
        assert decode(batch.targets[:, b], task.output_symbols) == spelled
        assert int(batch.target_lengths[b]) == len(spelled) + 1
        assert batch.targets[len(spelled), b] == EOS and (batch.targets[len(spelled) + 1 :, b] == PAD).all()
        numbers.append(n)
    return numbers


@pytest.mark.parametrize("max_number", [999, 12, 2500])
def test_every_target_spells_its_input(max_number):
    task = NumberWordsTask(NumberWordsTask.Config(max_number=max_number))
    numbers = check_rules(task, task.sample(400, torch.Generator().manual_seed(0)))
    assert max(numbers) <= max_number
    if max_number == 12:
        assert set(numbers) == set(range(13))


def test_same_seed_same_batch():
    task = NumberWordsTask()
    a, b, c = (task.sample(32, torch.Generator().manual_seed(s)) for s in (1, 1, 2))
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets)
    assert not torch.equal(a.inputs, c.inputs)


def test_eval_set_is_the_whole_domain_once_when_it_is_large_enough():
    task = NumberWordsTask()
    for size, seed in [(1000, 0), (5000, 7)]:
        batches = task.eval_set(size, seed)
        assert [b.inputs.shape[0] for b in batches] == [500, 500]
        assert sum((check_rules(task, b) for b in batches), []) == list(range(1000))


def test_a_smaller_eval_set_is_drawn_by_its_seed():
    task = NumberWordsTask()
    a, b, c = task.eval_set(300, 4), task.eval_set(300, 4), task.eval_set(300, 5)
    assert len(a) == 1 and a[0].inputs.shape == (300, 30)
    assert torch.equal(a[0].inputs, b[0].inputs) and not torch.equal(a[0].inputs, c[0].inputs)
    check_rules(task, a[0])
    with pytest.raises(TypeError, match="seed must be an int; got '1'"):
        task.eval_set(1000, "1")
    with pytest.raises(ValueError, match="size must be an int >= 1; got 0"):
        task.eval_set(0, 1)


# ---- metrics ------------------------------------------------------------------------------------

def test_perfect_and_wrong_logits():
    task = NumberWordsTask()
    batch = task.make_batch(torch.tensor([0, 7, 115, 999]))
    perfect = F.one_hot(batch.targets, task.output_size).float() * 20  # (T_out, B, 22)
    got = task.metrics(perfect, batch)
    assert (got["exact_match"], got["token_accuracy"], got["count"]) == (1.0, 1.0, 4) and got["loss"] < 1e-6

    # "seven" spelled "seveo": one wrong character in one number.
    one_wrong = perfect.clone()
    one_wrong[4, 1] = F.one_hot(torch.tensor(task.output_symbols.index("o")), task.output_size) * 20.0
    got = task.metrics(one_wrong, batch)
    assert got["exact_match"] == 0.75
    assert got["token_accuracy"] == pytest.approx(1 - 1 / int(batch.target_lengths.sum()))

    # Everything written is "zero": right only for 0.
    zero = task.make_batch(torch.tensor([0])).targets  # (5, 1)
    zeros = torch.full_like(batch.targets, PAD)
    zeros[:5] = zero
    got = task.metrics(F.one_hot(zeros, task.output_size).float() * 20, batch)
    assert got["exact_match"] == 0.25
    assert task.loss(perfect, batch).item() < 1e-6


def test_logits_of_the_wrong_shape_are_refused():
    task = NumberWordsTask()
    batch = task.make_batch(torch.tensor([7, 40]))  # "seven" + EOS: T_out = 6
    with pytest.raises(ValueError, match=re.escape("task 'number_words' expects logits of shape (T_out, B, 22) = "
                                                   "(6, 2, 22)")):
        task.loss(torch.zeros(6, 2, 21), batch)


# ---- settings -----------------------------------------------------------------------------------

@pytest.mark.parametrize("value, message", [
    (0, "max_number must be an int >= 1; got 0"),
    (10_000, "max_number must be at most 9999 (the task keeps a table of every number's spelling); got 10000"),
    (99.0, "max_number must be an int >= 1; got 99.0"),
])
def test_bad_settings_name_the_field_and_the_value(value, message):
    with pytest.raises(ValueError, match=re.escape(f"number_words task: {message}")):
        NumberWordsTask(NumberWordsTask.Config(max_number=value))


def test_make_batch_refuses_numbers_outside_the_domain():
    with pytest.raises(ValueError, match=re.escape("number_words task: make_batch takes a non-empty (B,) tensor of "
                                                   "numbers in 0..999; got [5, 1000]")):
        NumberWordsTask().make_batch(torch.tensor([5, 1000]))
