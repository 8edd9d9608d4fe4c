"""Character-level language model: predict each next character of a text (Karpathy's char-rnn).

Karpathy (2015), char-rnn, https://github.com/karpathy/char-rnn (``train.lua`` and
``util/CharSplitLMMinibatchLoader.lua``), and "The unreasonable effectiveness of
recurrent neural networks" (blog post, 2015); the task itself goes back to Sutskever,
Martens & Hinton (2011) and Graves (2013), "Generating sequences with recurrent neural
networks", section 3.  The defaults are char-rnn's: windows of ``seq_length`` = 50
characters, and the last 5% of the text held out for validation (its ``train_frac``
0.95, ``val_frac`` 0.05, no test split; the loader cuts the text into train, then
validation, in that order).

* The corpus is one or more UTF-8 text files (``path``), read and joined as described
  in ``rnnlab.data.text``; the last round(``validation_fraction``·N) characters are the
  validation split, or the files of ``validation_path`` when it is given (then the
  whole of ``path`` is training text).
* The vocabulary is every character of the training and validation text, sorted by
  code point (``itos``, ``stoi``): char-rnn builds it from the whole input file too.
  ``input_vocab`` = ``output_size`` = its size V.
* A training batch is B windows of ``seq_length`` + 1 characters, each starting at a
  position drawn uniformly from the training split: inputs are the first T =
  ``seq_length`` characters (T, B) int64, targets the T characters one step later
  (T, B) int64.  ``lengths`` is None: every window is full.
* The held-out set (``eval_set``) is the validation split cut into consecutive,
  non-overlapping windows: window k reads characters kT .. kT + T − 1 and predicts
  kT + 1 .. kT + T, so every validation character but the first is predicted once.
  ``eval_set(size, seed)`` gives the first min(size, (N_val − 1) // T) windows, the
  same whatever the seed (the split is fixed; no randomness is involved).

Metrics: ``loss`` and ``nats_per_char``, the mean cross-entropy of the next character in
nats; ``bits_per_char`` = nats / ln 2 (the figure Graves 2013 and the char-rnn results
report); ``accuracy``, the fraction of characters whose largest logit is the true one.
A model that knows nothing scores log2 V bits per character.

Worked example: the text "to be or not to be\\n" (19 characters) with ``seq_length`` 4 and
``validation_fraction`` 0.25; the last round(19 · 0.25) = 5 characters are held out:

    training text     'to be or not t'        14 characters: windows start at 0..9
    validation text   'o be\\n'                one window of 5 characters
    vocabulary        '\\n', ' ', 'b', 'e', 'n', 'o', 'r', 't'      V = 8, indices 0..7

    a window at 3     'be or'   inputs 'be o' = [2, 3, 1, 5], targets 'e or' = [3, 1, 5, 6]
    held-out window   'o be\\n'  inputs 'o be' = [5, 1, 2, 3], targets ' be\\n' = [1, 2, 3, 0]

Training order.  char-rnn walks through the text in a fixed order, B streams side by
side, carrying the hidden state from one batch to the next.  ``stream_batch`` serves
exactly that order, and the trainer uses it with ``train.carry_state = true``.  By
default (``sample``) each window starts at a random position with a fresh state
instead (as in minGPT and nanoGPT), so that the batches come from the trainer's
generator like every other task's; gradients flow through ``seq_length`` steps either way.

Where this departs from char-rnn, and why: validation windows start from a zero state
(each is scored on its own, as every held-out batch of rnnlab is), so the first
characters of each window are predicted with little context; the validation loss is a
little higher than that of one stream read with its state carried.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ..data.text import Vocabulary, char_vocabulary, read_corpus, split_tail
from .base import EVAL_BATCH_SIZE, Batch, Task, _check_int, check_config_int, check_step_outputs
from .registry import register

_LN2 = math.log(2.0)


class TokenStreamTask(Task):
    """Base of the language-model tasks: next-token prediction on windows of a token stream.

    Subclasses load their text in ``load`` and call ``set_streams``; this class samples the
    windows, cuts the held-out set, checks the outputs and scores them.
    """

    output_kind = "every"
    language_model = True
    stream = True  # stream_batch serves the parallel streams of char-rnn and Zaremba et al. (train.carry_state)
    main_metric_goal = "min"
    token_word: str = "token"  # "character", "word": what error messages call a token

    def __init__(self, config: Any = None) -> None:
        super().__init__(config)  # validates
        self.load()

    def load(self) -> None:
        raise NotImplementedError

    # ---- settings shared by the language models --------------------------------------------

    def validate_stream_settings(self, config: Any) -> None:
        """Checks of path, validation_path, seq_length and validation_fraction."""
        _check_paths(self.name, "path", config.path, required=True)
        _check_paths(self.name, "validation_path", config.validation_path, required=False)
        check_config_int(self.name, "seq_length", config.seq_length, minimum=1)
        fraction = config.validation_fraction
        if (isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction < 1):
            raise ValueError(f"{self.name} task: validation_fraction must be a number in (0, 1), the share of the "
                             f"text held out at its end; got {fraction!r}")

    def read_texts(self, config: Any) -> tuple[str, str | None]:
        """The text of ``path``, and that of ``validation_path`` (None when it is not given)."""
        text = read_corpus(config.path)
        return text, read_corpus(config.validation_path) if given(config.validation_path) else None

    def set_streams(self, train: Tensor, validation: Tensor, vocabulary: Vocabulary) -> None:
        """Keep the (N,) int64 token streams and the vocabulary; ValueError if a split is too short."""
        T = self.config.seq_length
        for split, stream in (("training", train), ("validation", validation)):
            if len(stream) < T + 1:
                source = ("validation_path" if split == "validation" and given(
                    self.config.validation_path) else f"the {split} split")
                raise ValueError(f"{self.name} task: {source} holds {len(stream)} {self.token_word}s, fewer than "
                                 f"seq_length + 1 = {T + 1} (a window); give more text or a smaller seq_length")
        self.train_tokens, self.validation_tokens = train, validation  # (N_train,), (N_val,) int64
        self.vocabulary = vocabulary
        self.input_vocab = self.input_size = self.output_size = len(vocabulary)

    @property
    def itos(self) -> tuple[str, ...]:
        """The token of each index."""
        return self.vocabulary.itos

    @property
    def stoi(self) -> dict[str, int]:
        """The index of each token."""
        return self.vocabulary.stoi

    # ---- batches -----------------------------------------------------------------------------

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        self.check_sample_args(batch_size, generator)
        T, stream = self.config.seq_length, self.train_tokens
        starts = torch.randint(0, len(stream) - T, (batch_size,), generator=generator)  # (B,)
        return _windows(stream, starts, T)

    def stream_batch(self, batch_size: int, index: int, seed: int) -> Batch:
        """Piece ``index`` of ``batch_size`` parallel streams of the training split, the order in which
        char-rnn and Zaremba et al. (2014) read their text (with ``train.carry_state``).

        The N training tokens are cut into B contiguous streams of L = (N − 1) // B tokens (the
        last token of a stream is only a target; what is left at the end is not read); stream b
        starts at token bL.  An epoch is P = L // T pieces: piece k reads tokens bL + kT ..
        bL + kT + T − 1 of each stream and predicts the ones a step later, so piece k + 1 goes on
        where piece k stopped.  ``index`` counts pieces over epochs (piece ``index`` mod P); after
        an epoch the streams start again from their beginnings.  ``seed`` is not used: the order
        is the papers' fixed one.
        """
        _check_int("batch_size", batch_size, minimum=1)
        _check_int("index", index, minimum=0)
        T, stream = self.config.seq_length, self.train_tokens
        stream_length = (len(stream) - 1) // batch_size  # L
        pieces = stream_length // T  # P, per epoch
        if pieces < 1:
            raise ValueError(f"{self.name} task: the training split of {len(stream)} {self.token_word}s is too short "
                             f"for {batch_size} streams of seq_length {T}: it needs at least "
                             f"{batch_size} · {T} + 1 = {batch_size * T + 1} (a smaller batch or more text)")
        starts = torch.arange(batch_size) * stream_length + (index % pieces) * T  # (B,)
        return _windows(stream, starts, T)

    def eval_set(self, size: int, seed: int) -> list[Batch]:
        """The first min(``size``, (N_val − 1) // T) consecutive windows of the validation split, in
        batches of at most 500; ``seed`` changes nothing (the split is fixed)."""
        _check_int("size", size, minimum=1)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int; got {seed!r}")
        T = self.config.seq_length
        count = min(size, (len(self.validation_tokens) - 1) // T)
        starts = torch.arange(count) * T  # (count,)
        return [_windows(self.validation_tokens, chunk, T) for chunk in starts.split(EVAL_BATCH_SIZE)]

    # ---- loss and metrics --------------------------------------------------------------------

    def check_token_outputs(self, outputs: Tensor, batch: Batch) -> None:
        """Refuse outputs that are not (T, B, V) logits for the batch's (T, B) targets."""
        check_step_outputs(self.name, outputs, tuple(batch.targets.shape), self.output_size)

    def loss(self, outputs: Tensor, batch: Batch) -> Tensor:
        """Mean cross-entropy (nats) of the next token over every step of every window."""
        self.check_token_outputs(outputs, batch)
        return F.cross_entropy(outputs.reshape(-1, self.output_size), batch.targets.reshape(-1))  # (T·B, V)

    def nats_and_accuracy(self, outputs: Tensor, batch: Batch) -> tuple[float, float]:
        self.check_token_outputs(outputs, batch)
        logits = outputs.detach().reshape(-1, self.output_size)  # (T·B, V)
        targets = batch.targets.reshape(-1)  # (T·B,)
        nats = float(F.cross_entropy(logits, targets))
        accuracy = float((logits.argmax(dim=1) == targets).float().mean())
        return nats, accuracy


@register
class CharLMTask(TokenStreamTask):
    """Character language model (Karpathy's char-rnn, 2015): predict each next character of a text file.

    Inputs (T, B) character ids, targets (T, B) the next characters; see the module docstring.
    """

    @dataclass
    class Config:
        """Settings of the character language model; the defaults are char-rnn's (train.lua)."""

        path: list[str] | str = ""  # required: a UTF-8 text file, or a list of them (read and joined in order)
        seq_length: int = 50  # T: characters a window reads (char-rnn's -seq_length 50)
        validation_fraction: float = 0.05  # the last 5% of the text is the validation split (char-rnn's -val_frac)
        validation_path: list[str] | str = ""  # files of validation text instead of the tail of path ("" = none)

    name = "char_lm"
    recommended = {"*": {  # Karpathy's char-rnn: two layers of 256 (README: 1.325 nats a character)
        "model.num_layers": 2, "model.hidden_size": 256, "task.seq_length": 100, "train.batch_size": 64,
        "train.lr": 2e-3, "train.steps": 2500, "train.eval_size": 200}}
    main_metric = "bits_per_char"
    token_word = "character"

    def validate(self, config: Config) -> None:
        self.validate_stream_settings(config)

    def load(self) -> None:
        text, validation_text = self.read_texts(self.config)
        train_text, validation_text = (text, validation_text) if validation_text is not None else \
            split_tail(text, self.config.validation_fraction)
        vocabulary = char_vocabulary(train_text + validation_text)
        self.set_streams(vocabulary.encode(train_text), vocabulary.encode(validation_text), vocabulary)

    def default_prime(self) -> str:
        """What ``rnnlab sample`` starts from without ``--prime``: a line end if the text has one, else
        the text's first character."""
        return "\n" if "\n" in self.stoi else self.decode(self.train_tokens[:1])

    def encode(self, text: str) -> Tensor:
        """(N,) int64 ids of the characters of ``text``; ValueError naming a character outside the vocabulary."""
        if not isinstance(text, str):
            raise TypeError(f"{self.name} task: encode takes a str; got {type(text).__name__}")
        try:
            return self.vocabulary.encode(text)
        except ValueError as error:
            raise ValueError(f"{self.name} task: {error}; the vocabulary holds the characters of the task's "
                             f"text files") from None

    def decode(self, tokens: Tensor | Sequence[int]) -> str:
        """The text of character ids ``tokens`` (a 1-D tensor or a list of ints)."""
        if isinstance(tokens, Tensor) and tokens.dim() != 1:
            raise ValueError(f"{self.name} task: decode takes a 1-D tensor of ids; got shape {tuple(tokens.shape)}")
        try:
            return "".join(self.vocabulary.decode(tokens))
        except ValueError as error:
            raise ValueError(f"{self.name} task: {error}") from None

    def metrics(self, outputs: Tensor, batch: Batch) -> dict[str, float]:
        nats, accuracy = self.nats_and_accuracy(outputs, batch)
        return {"loss": nats, "nats_per_char": nats, "bits_per_char": nats / _LN2, "accuracy": accuracy,
                "count": batch.targets.shape[1]}


# ---- helpers ------------------------------------------------------------------------------------

def _windows(stream: Tensor, starts: Tensor, T: int) -> Batch:
    """The windows of T + 1 tokens of ``stream`` at ``starts`` (B,): inputs and next-token targets."""
    index = starts.unsqueeze(0) + torch.arange(T + 1).unsqueeze(1)  # (T + 1, B)
    windows = stream[index]  # (T + 1, B)
    return Batch(inputs=windows[:-1], targets=windows[1:], lengths=None)  # (T, B) each


def given(paths: Any) -> bool:
    """Whether a path setting names a file (``""`` and ``[]`` name none)."""
    return paths not in ("", [], None)


def _check_paths(task: str, field: str, value: Any, *, required: bool) -> None:
    """A path or a non-empty list of paths (each a non-empty str); ``""`` only when not ``required``."""
    if not required and value in ("", []):
        return
    ok = (isinstance(value, (str, Path)) and str(value) != "") or (
        isinstance(value, (list, tuple)) and value and all(isinstance(p, (str, Path)) and str(p) for p in value))
    if not ok:
        if required and value in ("", []):
            raise ValueError(f"{task} task: {field} is required: a UTF-8 text file or a list of them, e.g. "
                             f"--set task.{field}=data/input.txt; got {value!r}")
        raise ValueError(f"{task} task: {field} must be a file path or a list of file paths; got {value!r}")


__all__ = ["CharLMTask", "TokenStreamTask"]
