"""Number to English words: from one vector encoding 123, spell "one hundred twenty three" (1→N).

A generator topology exercise: the model reads a single vector and writes a sequence,
one character per step, until it writes EOS.  The mapping is the compositional one of
English number names, so most of it can be learnt as rules (a hundreds word, a tens
word, a units word) and the rest (the teens, zero, the missing "zero"s inside
"seven hundred") as exceptions.

The words (``words(n)``), for 0 <= n <= 999,999:

    0 zero     7 seven     11 eleven     15 fifteen     20 twenty     40 forty
    99 ninety nine     100 one hundred     101 one hundred one     115 one hundred fifteen
    700 seven hundred     999 nine hundred ninety nine     1005 one thousand five

American style without "and" ("one hundred one", not "one hundred and one") and without
hyphens ("ninety nine", not "ninety-nine"): words are separated by one space, so the
output alphabet is the space and the lowercase letters the task's numbers use.

The input: ``digit_blocks`` = the number of decimal digits of ``max_number`` blocks of
ten features, one block per decimal digit, most significant first, each block one-hot
(leading zeros included: 7 is 0, 0, 7 with three blocks), so (B, 30) for the default.
Why this encoding: English names numbers digit by digit (the hundreds word reads the
hundreds digit, the tens word the tens digit), so with one block per digit most output
words are a function of one block, and the exceptions (teens, "zero", a silent zero
digit) of two or three blocks together.  A binary code would make the network learn
base conversion before it can spell anything; a single scalar n / max_number would ask
its first layer to tell 1,000 values apart on a line.

Targets: the characters in the output vocabulary PAD, BOS, EOS, " ", then the letters
in alphabetical order (``output_symbols``), then EOS: (T_out, B) int64, padded with PAD;
``Batch.target_lengths`` counts the characters with the EOS.

Worked example (max_number = 999, so 3 blocks):

    number   123
    inputs   block 0 (hundreds) one-hot 1, block 1 (tens) one-hot 2, block 2 (units) one-hot 3:
             features 1, 12 and 23 are 1, the other 27 are 0
    target   o n e _ h u n d r e d _ t w e n t y _ t h r e e <eos>      ("_" is the space)
             24 characters + EOS, so target_lengths = 25

Training and evaluation, honestly: the domain is every number in 0..max_number, 1,000
numbers by default, so there is no unseen number to hold out without removing it from
the language the network must learn.  ``sample`` draws numbers uniformly from the
domain (with replacement); ``eval_set(size, seed)`` returns every number of the domain
exactly once, in order, whenever ``size`` >= max_number + 1 (the seed is then
irrelevant), and otherwise ``size`` numbers drawn uniformly by the seed.  The held-out
figures therefore measure how much of the mapping the network has learnt, not how it
generalises to numbers it never saw; ``exact_match`` over the whole domain is the
fraction of numbers it spells right.

Metrics: ``loss`` (cross-entropy per character), ``exact_match`` (the whole spelling
right, EOS included) and ``token_accuracy``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from .base import EVAL_BATCH_SIZE, Batch, Task, check_config_int
from .registry import register
from .tokens import output_vocabulary, token_loss, token_metrics, token_targets

ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
        "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
LARGEST = 999_999  # words() spells up to "nine hundred ninety nine thousand nine hundred ninety nine"
MAX_NUMBER = 9_999  # the task keeps every number's target in a table: at most 10,000 of them


def words(n: int) -> str:
    """The English name of ``n`` (0 <= n <= 999,999): lowercase, words separated by single spaces,
    no "and", no hyphens.  ``words(115) == "one hundred fifteen"``, ``words(40) == "forty"``."""
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= LARGEST:
        raise ValueError(f"words() spells the integers 0..{LARGEST}; got {n!r}")
    if n == 0:
        return "zero"
    thousands, rest = divmod(n, 1000)
    parts = []
    if thousands:
        parts += [*_below_thousand(thousands), "thousand"]
    parts += _below_thousand(rest)
    return " ".join(parts)


def _below_thousand(n: int) -> list[str]:
    """The words of 0 < n < 1000 (none for 0: a silent zero)."""
    hundreds, rest = divmod(n, 100)
    parts = [ONES[hundreds], "hundred"] if hundreds else []
    if 0 < rest < 20:
        parts.append(ONES[rest])
    elif rest >= 20:
        tens, units = divmod(rest, 10)
        parts += [TENS[tens]] + ([ONES[units]] if units else [])
    return parts


@register
class NumberWordsTask(Task):
    """Spell a number in English words, 123 -> "one hundred twenty three" (1→N generator, character level).

    Inputs (B, 10·digits) one-hot decimal digits, targets (T_out, B) characters then EOS; see the module docstring.
    """

    @dataclass
    class Config:
        """Settings of the number-words task: the domain is 0..max_number."""

        max_number: int = 999

    name = "number_words"
    recommended = {"*": {"train.schedule": "cosine", "train.steps": 3000}}
    output_kind = "generate"
    main_metric = "exact_match"
    main_metric_goal = "max"

    def __init__(self, config: Config | None = None) -> None:
        super().__init__(config)
        domain = self.config.max_number + 1
        self.digit_blocks = len(str(self.config.max_number))  # one one-hot block of 10 per decimal digit
        self.input_size = 10 * self.digit_blocks
        spelled = [words(n) for n in range(domain)]
        letters = sorted(set("".join(spelled)) - {" "})
        self.output_symbols = output_vocabulary([" ", *letters])  # the name of every output id (tokens.decode)
        self.output_size = len(self.output_symbols)
        index = {symbol: i for i, symbol in enumerate(self.output_symbols)}
        # Every number's target, built once: (T_out_max, domain) with EOS and PAD, and (domain,) lengths.
        self._targets, self._target_lengths = token_targets([[index[ch] for ch in text] for text in spelled])
        self.max_target_length = self._targets.shape[0]  # longest T_out, EOS included (bounds free decoding)

    def validate(self, config: Config) -> None:
        check_config_int(self.name, "max_number", config.max_number, minimum=1)
        if config.max_number > MAX_NUMBER:
            raise ValueError(f"{self.name} task: max_number must be at most {MAX_NUMBER} (the task keeps a table "
                             f"of every number's spelling); got {config.max_number!r}")

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        self.check_sample_args(batch_size, generator)
        numbers = torch.randint(0, self.config.max_number + 1, (batch_size,), generator=generator)  # (B,)
        return self.make_batch(numbers)

    def make_batch(self, numbers: Tensor) -> Batch:
        """The batch of ``numbers`` (B,) int64 in 0..max_number: inputs (B, 10·digits), targets trimmed to
        the batch's longest spelling + EOS."""
        numbers = torch.as_tensor(numbers, dtype=torch.int64)
        if numbers.dim() != 1 or len(numbers) == 0 or (numbers < 0).any() or (numbers > self.config.max_number).any():
            got = numbers.tolist() if numbers.dim() == 1 else tuple(numbers.shape)
            raise ValueError(f"{self.name} task: make_batch takes a non-empty (B,) tensor of numbers in "
                             f"0..{self.config.max_number}; got {got}")
        target_lengths = self._target_lengths[numbers]  # (B,)
        targets = self._targets[: int(target_lengths.max()), numbers]  # (T_out, B)
        return Batch(inputs=self.encode(numbers), targets=targets, lengths=None, target_lengths=target_lengths)

    def encode(self, numbers: Tensor) -> Tensor:
        """(B, 10·digits) float32: one one-hot block per decimal digit of each number, most significant first."""
        powers = 10 ** torch.arange(self.digit_blocks - 1, -1, -1)  # (D,) 100, 10, 1 for three blocks
        digits = (numbers.unsqueeze(1) // powers) % 10  # (B, D)
        return F.one_hot(digits, 10).flatten(1).float()  # (B, D·10)

    def eval_set(self, size: int, seed: int) -> list[Batch]:
        """Every number of 0..max_number exactly once, in order, in batches of at most 500, when ``size``
        >= max_number + 1 (the seed does not matter then); otherwise ``size`` numbers drawn uniformly
        from a generator seeded by ``seed`` (``Task.eval_set``)."""
        domain = self.config.max_number + 1
        if isinstance(size, bool) or not isinstance(size, int) or size < domain:
            return super().eval_set(size, seed)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int; got {seed!r}")
        numbers = torch.arange(domain)
        return [self.make_batch(chunk) for chunk in numbers.split(EVAL_BATCH_SIZE)]

    def loss(self, outputs: Tensor, batch: Batch) -> Tensor:
        """Mean cross-entropy per character of the logits ``outputs`` (T_out, B, output_size)."""
        return token_loss(self.name, outputs, batch, self.output_size)

    def metrics(self, outputs: Tensor, batch: Batch) -> dict[str, float]:
        """``loss``, ``exact_match``, ``token_accuracy`` and ``count`` of the logits (T_out, B, output_size)."""
        return token_metrics(self.name, outputs, batch, self.output_size)

