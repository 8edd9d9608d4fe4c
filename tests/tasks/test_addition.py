"""Addition as text ("123+45" -> "168"; Zaremba & Sutskever 2014, Keras addition_rnn): every question and
answer read back from the batch and checked with Python's integers, the operand distributions, the worked
example, metrics on hand-made logits, bad settings."""

from __future__ import annotations

import re
from collections import Counter

import pytest
import torch
import torch.nn.functional as F

import rnnlab.tasks.addition
from rnnlab.tasks.addition import AdditionTask, decimal_digits, digit_count
from rnnlab.tasks.base import EOS, PAD, Batch
from rnnlab.tasks.registry import describe, get
from rnnlab.tasks.tokens import decode


def sample(batch_size=64, seed=0, **config):
    task = AdditionTask(AdditionTask.Config(**config))
    return task, task.sample(batch_size, torch.Generator().manual_seed(seed))


def questions_and_answers(task: AdditionTask, batch: Batch) -> list[tuple[str, str]]:
    """Each sequence's question and answer as text, read from the ids alone."""
    pairs = []
    for b in range(batch.inputs.shape[1]):
        n = int(batch.lengths[b])
        ids = batch.inputs[:, b].tolist()
        assert all(i > 0 for i in ids[:n]) and all(i == PAD for i in ids[n:])
        question = "".join(task.input_symbols[i] for i in ids[:n])
        answer = decode(batch.targets[:, b], task.output_symbols)
        pairs.append((question, answer))
    return pairs


def check_rules(task: AdditionTask, batch: Batch) -> list[tuple[int, int]]:
    """Each question is "a+b" without leading zeros, a and b in range, the answer their sum then EOS."""
    assert batch.inputs.dtype == torch.int64 and batch.targets.dtype == torch.int64
    assert batch.inputs.shape[0] == int(batch.lengths.max())
    assert batch.targets.shape[0] == int(batch.target_lengths.max())
    operands = []
    for b, (question, answer) in enumerate(questions_and_answers(task, batch)):
        a, plus, rest = question.partition("+")
        assert plus and rest.isdigit() and a.isdigit(), question
        assert str(int(a)) == a and str(int(rest)) == rest, f"leading zeros in {question}"
        assert max(int(a), int(rest)) < 10**task.config.max_digits
        assert answer == str(int(a) + int(rest))
        length = int(batch.target_lengths[b])
        assert length == len(answer) + 1 and batch.targets[length - 1, b] == EOS
        assert (batch.targets[length:, b] == PAD).all()
        operands.append((int(a), int(rest)))
    return operands


def test_class_attributes():
    task = AdditionTask()
    assert get("addition") is AdditionTask and task.output_kind == "sequence"
    assert "Learning to execute" in describe("addition")
    assert task.input_vocab == 12 and task.output_size == 13
    assert task.input_symbols == ("<pad>", *"0123456789+")
    assert task.output_symbols == ("<pad>", "<bos>", "<eos>", *"0123456789")
    assert task.config == AdditionTask.Config(max_digits=3, operands="numbers")
    assert task.max_target_length == 5 == task.make_batch(torch.tensor([999]), torch.tensor([1])).targets.shape[0]


@pytest.mark.parametrize("config", [{}, {"operands": "digit_counts"}, {"max_digits": 1}, {"max_digits": 18},
                                    {"max_digits": 18, "operands": "digit_counts"}])
def test_every_answer_is_the_sum(config):
    task, batch = sample(300, **config)
    check_rules(task, batch)


def test_the_two_operand_distributions():
    """"numbers": 90 % of 3-digit operands have 3 digits; "digit_counts": a third each, and 0..9 all occur."""
    third = 1 / 3
    for operands, expected in [("numbers", {1: 0.01, 2: 0.09, 3: 0.9}), ("digit_counts", {1: third, 2: third, 3: third})]:
        task, batch = sample(3000, seed=1, operands=operands)
        pairs = check_rules(task, batch)
        counts = Counter(len(str(n)) for pair in pairs for n in pair)
        for digits, share in expected.items():
            assert counts[digits] / 6000 == pytest.approx(share, abs=0.02)
        if operands == "digit_counts":
            assert {n for pair in pairs for n in pair if n < 10} == set(range(10))


def test_same_seed_same_batch():
    _, a = sample(seed=5)
    _, b = sample(seed=5)
    _, c = sample(seed=6)
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets)
    assert not torch.equal(a.inputs, c.inputs) or not torch.equal(a.targets, c.targets)


def test_the_docstrings_worked_example():
    """123 + 45: the ids of the docstring's table, built by make_batch."""
    rows = {}
    for line in rnnlab.tasks.addition.__doc__.splitlines():
        name, _, rest = line.strip().partition(" ")
        if line.startswith("    ") and name in ("inputs", "targets"):
            rows[name] = [int(i) for i in rest.strip().split("  ")[0].split()]
    assert rows == {"inputs": [2, 3, 4, 11, 5, 6], "targets": [4, 9, 11, 2]}
    task = AdditionTask()
    batch = task.make_batch(torch.tensor([123]), torch.tensor([45]))
    assert batch.inputs[:, 0].tolist() == rows["inputs"] and batch.targets[:, 0].tolist() == rows["targets"]
    assert questions_and_answers(task, batch) == [("123+45", "168")]


def test_hand_made_batch():
    task = AdditionTask()
    batch = task.make_batch(torch.tensor([0, 999, 5]), torch.tensor([0, 1, 70]))
    assert batch.inputs.T.tolist() == [[1, 11, 1, 0, 0], [10, 10, 10, 11, 2], [6, 11, 8, 1, 0]]
    assert batch.targets.T.tolist() == [[3, 2, 0, 0, 0], [4, 3, 3, 3, 2], [10, 8, 2, 0, 0]]
    assert batch.lengths.tolist() == [3, 5, 4] and batch.target_lengths.tolist() == [2, 5, 3]


def test_digit_helpers():
    n = torch.tensor([0, 7, 10, 999, 10**18])
    assert digit_count(n).tolist() == [1, 1, 2, 3, 19]
    position = torch.arange(-1, 4).unsqueeze(1)  # (5, 1) positions -1..3
    digits = decimal_digits(n[:4], digit_count(n[:4]), position)  # (5, 4)
    assert digits.T.tolist() == [[0, 0, 0, 0, 0], [0, 7, 0, 0, 0], [0, 1, 0, 0, 0], [0, 9, 9, 9, 0]]


def test_make_batch_refuses_bad_operands():
    with pytest.raises(ValueError, match=re.escape("addition task: make_batch takes two (B,) tensors of "
                                                   "non-negative integers; got shapes (2,) and (1,)")):
        AdditionTask().make_batch(torch.tensor([1, 2]), torch.tensor([3]))
    with pytest.raises(ValueError, match="non-negative"):
        AdditionTask().make_batch(torch.tensor([-1]), torch.tensor([3]))


# ---- metrics ------------------------------------------------------------------------------------

def test_perfect_and_wrong_logits():
    task, batch = sample(40)
    perfect = F.one_hot(batch.targets, 13).float() * 20  # (T_out, B, 13)
    got = task.metrics(perfect, batch)
    assert (got["exact_match"], got["token_accuracy"], got["count"]) == (1.0, 1.0, 40) and got["loss"] < 1e-6

    off_by_one = F.one_hot(torch.where(batch.targets >= 3, 3 + (batch.targets - 3 + 1) % 10, batch.targets), 13) * 20.0
    got = task.metrics(off_by_one, batch)  # every digit wrong, every EOS right
    assert got["exact_match"] == 0.0
    assert got["token_accuracy"] == pytest.approx(40 / int(batch.target_lengths.sum()))
    assert got["loss"] == pytest.approx(20 * (1 - got["token_accuracy"]), rel=1e-3)  # −log p ≈ 20 per wrong digit
    assert task.loss(off_by_one, batch).item() == pytest.approx(got["loss"], rel=1e-6)


def test_logits_of_the_wrong_shape_are_refused():
    task = AdditionTask()
    batch = task.make_batch(torch.tensor([1]), torch.tensor([2]))  # "1+2" -> "3" EOS: T_out = 2
    with pytest.raises(ValueError, match=re.escape("task 'addition' expects logits of shape (T_out, B, 13) = "
                                                   "(2, 1, 13)")):
        task.metrics(torch.zeros(3, 1, 13), batch)


# ---- settings -----------------------------------------------------------------------------------

@pytest.mark.parametrize("config, message", [
    ({"max_digits": 0}, "max_digits must be an int >= 1; got 0"),
    ({"max_digits": 19}, "max_digits must be at most 18 (the sum must fit in int64); got 19"),
    ({"max_digits": "3"}, "max_digits must be an int >= 1; got '3'"),
    ({"operands": "digits"}, "operands must be one of 'numbers', 'digit_counts'; got 'digits'"),
])
def test_bad_settings_name_the_field_and_the_value(config, message):
    with pytest.raises(ValueError, match=re.escape(f"addition task: {message}")):
        AdditionTask(AdditionTask.Config(**config))
