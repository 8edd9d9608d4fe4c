"""Addition of decimal numbers written as text: read "123+45", write "168" (N→M, character level).

Zaremba & Sutskever (2014), "Learning to execute" (arXiv:1410.4615), train an LSTM
encoder-decoder to read a program character by character and write its output; their
addition experiment (two 9-digit numbers) is where their curriculum made the largest
difference.  The Keras example ``addition_rnn.py``
("Sequence to sequence learning for performing addition") made the bare task, the
question "a+b" and the answer "a+b evaluated", a standard exercise.

* two operands a and b, drawn independently (see ``operands`` below) from
  0..10**max_digits − 1, written in decimal without leading zeros;
* inputs are the characters of "a+b" as token ids (T, B) int64 over the input
  alphabet "0123456789+": character k of the alphabet is id k + 1, id 0 is padding
  (``input_vocab`` = 12); ``Batch.lengths`` holds the true lengths;
* the target is the decimal sum, most significant digit first, in the output
  vocabulary PAD, BOS, EOS, "0".."9" (digit d is output id d + 3), then EOS.

Worked example (max_digits = 3):

    question  1 2 3 + 4 5        "123+45"
    inputs    2 3 4 11 5 6       digit d is id d + 1, "+" is id 11
    answer    1 6 8 <eos>        123 + 45 = 168
    targets   4 9 11 2           digit d is id d + 3, then EOS = 2

How operands are drawn (``Config.operands``):

    "numbers"        uniform over 0..10**max_digits − 1 (the default).  Every digit of
                     an operand is then an independent uniform digit, so carries are
                     as frequent in every column as in random sums, and exact_match
                     is the probability that a random problem of the domain is right.
                     The price: short operands are rare (with 3 digits, 10 % have
                     fewer than 3 digits, 1 % one digit).
    "digit_counts"   the number of digits uniform in 1..max_digits, then the number
                     uniform among those with that many digits (0..9 for one digit).
                     Balances lengths, which tests the alignment of short and long
                     operands more often; close to the Keras example, which draws a
                     length and then that many digits (leading zeros allowed, so its
                     numbers are a little shorter than their drawn length).

Metrics: ``loss`` (cross-entropy per target token), ``exact_match`` (the whole sum
right, EOS included) and ``token_accuracy``.

Where this departs from the sources, and why:

* "Learning to execute" wraps the addition in a program ("print(a+b)") and gives both
  operands the same number of digits; the question here is the bare "a+b", and the
  operand lengths differ (the default draws them independently);
* the Keras example pads every question to a fixed width with spaces and may reverse
  it; here questions have their own lengths (``Batch.lengths``), and the input is
  never reversed: reverse it in the model if you want Sutskever et al.'s trick;
* the answer is written most significant digit first, as people write it; the
  carry then flows against the writing direction, which makes the task harder than
  writing the sum backwards.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .base import EOS, PAD, Batch, Task, check_config_int
from .registry import register
from .tokens import FIRST_SYMBOL, output_vocabulary, token_loss, token_metrics

INPUT_ALPHABET = "0123456789+"  # character k is input id k + 1 (id 0 is padding)
PLUS_ID = INPUT_ALPHABET.index("+") + 1  # 11
OUTPUT_ALPHABET = "0123456789"  # digit d is output id d + 3 (after PAD, BOS, EOS)
OPERAND_DISTRIBUTIONS = ("numbers", "digit_counts")
MAX_DIGITS = 18  # 2·10**18 − 2 still fits in int64


@register
class AdditionTask(Task):
    """Addition as text, "123+45" -> "168" (Zaremba & Sutskever 2014, "Learning to execute"; Keras addition_rnn).

    Inputs (T, B) character ids of "a+b", targets (T_out, B) the digits of the sum then EOS; see the module docstring.
    """

    @dataclass
    class Config:
        """Settings of the addition task; the defaults are the Keras example's (3 digits)."""

        max_digits: int = 3  # operands are drawn from 0..10**max_digits - 1
        operands: str = "numbers"  # "numbers": uniform over the numbers; "digit_counts": uniform length first

    name = "addition"
    recommended = {"*": {"model.attention": True, "train.batch_size": 128, "train.lr": 3e-3,
                         "train.schedule": "cosine", "train.steps": 20_000, "train.eval_size": 2000}}
    output_kind = "sequence"
    main_metric = "exact_match"
    main_metric_goal = "max"
    input_vocab = len(INPUT_ALPHABET) + 1  # 12
    input_size = len(INPUT_ALPHABET) + 1  # a model that one-hot encodes the ids reads this many features
    output_size = len(OUTPUT_ALPHABET) + FIRST_SYMBOL  # 13
    input_symbols = ("<pad>", *INPUT_ALPHABET)  # the name of every input id
    output_symbols = output_vocabulary(OUTPUT_ALPHABET)  # the name of every output id (tokens.decode)

    def __init__(self, config: Config | None = None) -> None:
        super().__init__(config)
        self.max_target_length = self.config.max_digits + 2  # longest T_out: the sum's digits and EOS

    def validate(self, config: Config) -> None:
        check_config_int(self.name, "max_digits", config.max_digits, minimum=1)
        if config.max_digits > MAX_DIGITS:
            raise ValueError(f"{self.name} task: max_digits must be at most {MAX_DIGITS} (the sum must fit in "
                             f"int64); got {config.max_digits!r}")
        if config.operands not in OPERAND_DISTRIBUTIONS:
            choices = ", ".join(map(repr, OPERAND_DISTRIBUTIONS))
            raise ValueError(f"{self.name} task: operands must be one of {choices}; got {config.operands!r}")

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        self.check_sample_args(batch_size, generator)
        a = self._operands(batch_size, generator)  # (B,)
        b = self._operands(batch_size, generator)  # (B,)
        return self.make_batch(a, b)

    def make_batch(self, a: Tensor, b: Tensor) -> Batch:
        """The batch of the questions "a[i]+b[i]" and their answers; a, b (B,) non-negative int64."""
        a, b = torch.as_tensor(a, dtype=torch.int64), torch.as_tensor(b, dtype=torch.int64)
        if a.shape != b.shape or a.dim() != 1 or (a < 0).any() or (b < 0).any():
            raise ValueError(f"{self.name} task: make_batch takes two (B,) tensors of non-negative integers; "
                             f"got shapes {tuple(a.shape)} and {tuple(b.shape)}")
        a_digits, b_digits = digit_count(a), digit_count(b)  # (B,)
        lengths = a_digits + 1 + b_digits  # (B,) characters of "a+b"
        t = torch.arange(int(lengths.max())).unsqueeze(1)  # (T, 1)
        # Step t shows digit t of a (t < |a|), "+" (t = |a|), or digit t − |a| − 1 of b.
        from_a = decimal_digits(a, a_digits, t) + 1  # (T, B) ids, meaningful where t < |a|
        from_b = decimal_digits(b, b_digits, t - a_digits - 1) + 1  # (T, B), meaningful where |a| < t < lengths
        inputs = torch.where(t < a_digits, from_a, torch.where(t == a_digits, PLUS_ID, from_b))  # (T, B)
        inputs = torch.where(t < lengths, inputs, PAD)

        total = a + b  # (B,)
        total_digits = digit_count(total)  # (B,)
        t = torch.arange(int(total_digits.max()) + 1).unsqueeze(1)  # (T_out, 1)
        targets = torch.where(t < total_digits, decimal_digits(total, total_digits, t) + FIRST_SYMBOL, PAD)
        targets = torch.where(t == total_digits, EOS, targets)  # (T_out, B)
        return Batch(inputs=inputs, targets=targets, lengths=lengths, target_lengths=total_digits + 1)

    def _operands(self, batch_size: int, generator: torch.Generator) -> Tensor:
        D = self.config.max_digits
        if self.config.operands == "numbers":
            return torch.randint(0, 10**D, (batch_size,), generator=generator)  # (B,)
        count = torch.randint(1, D + 1, (batch_size,), generator=generator)  # (B,) digits of each operand
        lead = torch.randint(1, 10, (batch_size,), generator=generator)  # (B,) leading digit when count >= 2
        digits = torch.randint(0, 10, (D, batch_size), generator=generator)  # (D, B) digit k has weight 10**k
        weights = 10 ** torch.arange(D).unsqueeze(1)  # (D, 1)
        below_lead = torch.arange(D).unsqueeze(1) < count - 1  # (D, B) the digits after the leading one
        tail = (digits * weights * below_lead).sum(0)  # (B,)
        return torch.where(count == 1, digits[0], lead * 10 ** (count - 1) + tail)

    def loss(self, outputs: Tensor, batch: Batch) -> Tensor:
        """Mean cross-entropy per target token of the logits ``outputs`` (T_out, B, 13)."""
        return token_loss(self.name, outputs, batch, self.output_size)

    def metrics(self, outputs: Tensor, batch: Batch) -> dict[str, float]:
        """``loss``, ``exact_match``, ``token_accuracy`` and ``count`` of the logits (T_out, B, 13)."""
        return token_metrics(self.name, outputs, batch, self.output_size)


def digit_count(n: Tensor) -> Tensor:
    """(B,) the number of decimal digits of each n >= 0 (0 has one digit)."""
    count = torch.ones_like(n)
    for k in range(1, MAX_DIGITS + 1):  # over powers of ten, not over the batch
        count += (n >= 10**k).long()
    return count


def decimal_digits(n: Tensor, count: Tensor, position: Tensor) -> Tensor:
    """(T, B) digit number ``position`` of n written with ``count`` digits, most significant first
    (position 0 is the leading digit); 0 where the position is outside 0..count − 1.

    n, count (B,) int64; position (T, B) or (T, 1) int64.
    """
    power = (count - 1 - position).clamp(min=0, max=MAX_DIGITS)  # (T, B) weight 10**power of that digit
    digit = (n // 10**power) % 10  # (T, B)
    inside = (position >= 0) & (position < count)
    return torch.where(inside, digit, 0)
