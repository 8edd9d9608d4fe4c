"""Number words from one language to another, character by character: "forty-two" -> "zweiundvierzig" (N→M).

The encoder–decoder's application is machine translation (Sutskever, Vinyals & Le 2014; Cho et al.
2014; Bahdanau, Cho & Bengio 2015).  Real sentence pairs are not shipped here, but the names of the
numbers are a small real translation problem with the phenomena that made attention necessary, and
a library writes them without a hand-made table: ``num2words`` (0.5.14), which spells a number in
any of its languages (``task.source``, ``task.target``: its language codes, e.g. en, fr, de, es, it,
ja).  Between English and German the word order inverts ("forty-two" -> "zwei-und-vierzig": units
before tens, written as one word); French keeps remnants of counting in twenties ("ninety-seven" ->
"quatre-vingt-dix-sept", four-twenty-ten-seven); English writes "and" and commas ("seven thousand,
seven hundred and seventy-seven").  Chinese, the language the issue names beside these, is not in
num2words 0.5.14 (no converter ``zh``); Japanese (``ja``) writes the same numerals
("七千七百七十七"; it writes 1,001 as "千一" where Chinese writes "一千零一").

The domain: the numbers 0..``max_number`` (9,999 by default) and, for the generalisation split, the
as many numbers above it, max_number + 1..2·max_number + 1 (10,000..19,999).  Both languages' words
of every one of them are written out when the task is built (about 100 µs a number and language:
3 s for the default en -> de); the vocabularies are the characters of all of them
(``tasks/translation.py``), so they depend on the languages and max_number alone.

Splits (``evaluate_on`` names the one the held-out set reads; training always samples ``train``):

    test         round(test_fraction · (max_number + 1)) numbers of 0..max_number, drawn by a
                 permutation seeded by split_seed (1,000 by default)
    validation   the next round(validation_fraction · (max_number + 1)) of it (500)
    train        the rest of 0..max_number (8,500): no held-out number is ever trained on
    above        max_number + 1..2·max_number + 1, never trained on, in a permuted order: does the
                 model write "zehntausend" (10,000) from "zehn" and "tausend", which it saw apart?

Inputs (T, B) int64 source character ids (0 is padding) with ``Batch.lengths``; targets (T_out, B)
target characters in the output vocabulary (PAD, BOS, EOS, then the characters), then EOS.

Worked example (en -> de, max_number = 99; the domain written out is 0..199):

    input vocabulary    <pad> ' ' - a d e f g h i l n o r s t u v w x y z          ids 0..21
    output vocabulary   <pad> <bos> <eos> a b c d e f g h i l n r s t u v w z ß ö ü  ids 0..23
    number 42
    source              f  o  r  t  y  -  t  w  o                             "forty-two"
    inputs              6 12 13 15 20  2 15 18 12                             lengths 9
    target              z  w  e  i  u  n  d  v  i  e  r  z  i  g  <eos>       "zweiundvierzig"
    targets             20 19 7 11 17 13  6 18 11  7 14 20 11  9  2           target_lengths 15

The first target characters ("zwei") translate the *last* source word ("two"): with the context
as the decoder's initial state the encoder must keep the units until the end; with attention
(Bahdanau et al. 2015) the decoder looks back at them (``rnnlab reproduce translation`` draws the
alignment).

Metrics: ``loss``, ``exact_match``, ``token_accuracy``, corpus ``bleu`` and ``chrf`` by sacrebleu
(what they score: ``tasks/translation.py``; a German number is one word, so its BLEU is near its
exact match and chrF is the graded figure).

Where this departs from the sources, and why:

* the pairs are generated, not human translations: each number has exactly one reference, written
  the way num2words writes it (German "eintausendeins", not "tausendeins"; English with "and", the
  British way); a model is right only if it writes that one;
* the task is character-level, as the synthetic seq2seq tasks are (``reverse``, ``addition``), not
  word-level as Sutskever et al. and Bahdanau et al. were: German's compounds have no word
  boundaries, so a word vocabulary would be a table of the 10,000 answers;
* training samples numbers uniformly, so 4-digit numbers are 90% of the data, as in the domain.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import torch
from torch import Tensor

from .base import check_config_int
from .registry import register
from .translation import TranslationTask, permuted_splits

MAX_NUMBER = 99_999  # the task writes out 2·(max_number + 1) numbers in two languages: at most 200,000 each


def languages() -> list[str]:
    """The language codes of num2words, the values ``source`` and ``target`` may take."""
    from num2words import CONVERTER_CLASSES

    return sorted(CONVERTER_CLASSES)


@lru_cache(maxsize=8)
def number_words(language: str, stop: int) -> tuple[str, ...]:
    """num2words' cardinal of every number 0..stop − 1 in ``language`` (cached: tasks of the same
    languages in one process write them once)."""
    from num2words import num2words

    return tuple(num2words(n, lang=language) for n in range(stop))


@register
class NumberTranslationTask(TranslationTask):
    """Translate number words between languages, "forty-two" -> "zweiundvierzig" (num2words; N→M, characters).

    Inputs (T, B) source character ids, targets (T_out, B) target characters then EOS; see the module docstring.
    """

    @dataclass
    class Config:
        """Settings of number_translation: languages (num2words codes), the domain 0..max_number, the splits."""

        source: str = "en"  # num2words language code of the inputs
        target: str = "de"  # num2words language code of the outputs
        max_number: int = 9_999  # train, validation and test are 0..max_number; "above" the next max_number + 1
        validation_fraction: float = 0.05  # share of 0..max_number held out for validation (500 numbers)
        test_fraction: float = 0.1  # share of 0..max_number held out for the test (1,000 numbers)
        split_seed: int = 0  # seeds the permutation that cuts the splits
        evaluate_on: str = "validation"  # the held-out set's split: validation, test or above

    name = "number_translation"
    SPLITS = ("validation", "test", "above")

    def validate(self, config: Config) -> None:
        known = languages()
        for field in ("source", "target"):
            value = getattr(config, field)
            if value not in known:
                hint = " (num2words 0.5.14 has no Chinese; ja writes the same numerals)" if str(value).startswith(
                    "zh") else ""
                raise ValueError(f"{self.name} task: {field} must be a num2words language code, one of "
                                 f"{', '.join(known)}; got {value!r}{hint}")
        check_config_int(self.name, "max_number", config.max_number, minimum=9,
                         why="the splits need numbers to hold out")
        if config.max_number > MAX_NUMBER:
            raise ValueError(f"{self.name} task: max_number must be at most {MAX_NUMBER:,} (the task writes out "
                             f"every number's words); got {config.max_number!r}")
        self.validate_split_settings(config)

    def domain(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        stop = 2 * (self.config.max_number + 1)  # 0..max_number, then "above"
        try:
            return number_words(self.config.source, stop), number_words(self.config.target, stop)
        except (NotImplementedError, OverflowError, ValueError, TypeError) as error:
            raise ValueError(f"{self.name} task: num2words cannot write the numbers 0..{stop - 1} in "
                             f"{self.config.source!r} and {self.config.target!r}: {error!r}") from None

    def split_items(self) -> dict[str, Tensor]:
        c = self.config
        inside = torch.arange(c.max_number + 1)  # the numbers are their own items
        splits = permuted_splits(inside, c.validation_fraction, c.test_fraction, c.split_seed)
        above = torch.arange(c.max_number + 1, 2 * (c.max_number + 1))
        splits["above"] = above[torch.randperm(len(above), generator=torch.Generator().manual_seed(c.split_seed))]
        return splits

    def target_language(self) -> str:
        return self.config.target.split("_")[0]

    def numbers(self, split: str) -> Tensor:
        """The numbers of ``split`` ("train", "validation", "test", "above"), in the split's order."""
        return self.splits[split]
