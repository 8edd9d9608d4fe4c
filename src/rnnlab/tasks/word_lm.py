"""Word-level language model: predict each next word of a text (Zaremba et al. 2014 on the Penn Treebank).

Zaremba, Sutskever & Vinyals (2014), "Recurrent neural network regularization",
arXiv:1409.2329, section 4.1: the Penn Treebank in Mikolov et al.'s (2010) preprocessed
form (``ptb.train.txt``, ``ptb.valid.txt``, ``ptb.test.txt``: one sentence a line, words
separated by spaces, 10,000 words with the rest written ``<unk>``), each line ending in
an end-of-sentence token; the LSTM is unrolled for 35 steps (``seq_length`` 35) and
scored by perplexity, exp(mean cross-entropy per word).

* The corpus is one or more UTF-8 text files (``path``), read and joined as described
  in ``rnnlab.data.text``, then cut into words: the words of each line split at white
  space, then ``<eos>`` (blank lines give nothing).  The last
  round(``validation_fraction``·N) words are the validation split, or the words of
  ``validation_path`` when it is given (for the Penn Treebank: ``path`` =
  ptb.train.txt, ``validation_path`` = ptb.valid.txt, the paper's setting).
* The vocabulary is built from the training words alone: ``<unk>`` (index 0), then
  the words (``<eos>`` among them) seen at least ``min_count`` times, most frequent
  first (ties in code-point order), at most ``max_vocab`` entries in all; every other
  word, in training or validation text, reads as ``<unk>``.  On the Penn Treebank (min_count 1)
  this is the paper's 10,000 words, ``<unk>`` and ``<eos>`` among them.
  ``input_vocab`` = ``output_size`` = its size V.
* Batches and the held-out set are cut as for ``char_lm``: B windows of ``seq_length`` + 1
  words at random starts of the training split, inputs (T, B) int64 and the next words
  as targets (T, B) int64, ``lengths`` None; ``eval_set(size, seed)`` is the first
  min(size, (N_val − 1) // T) consecutive non-overlapping windows of the validation
  split, whatever the seed.

Metrics: ``loss``, the mean cross-entropy per word in nats; ``perplexity`` = exp(loss);
``accuracy``, the fraction of words whose largest logit is the true next word.  The
held-out perplexity that ``rnnlab eval`` reports is the mean of its batches' perplexities
(the trainer averages every metric over batches, weighted by their windows);
exp(``loss``) of the same report is the exact corpus perplexity, the paper's figure.

Worked example: the text "the cat sat\nthe cat ran\nthe dog sat\n" is 12 words with the
<eos> tokens; with ``seq_length`` 2 and ``validation_fraction`` 0.25 the last 3 words are
held out:

    words        the cat sat <eos> the cat ran <eos> the | dog sat <eos>
    vocabulary   <unk> the <eos> cat ran sat      from the 9 training words, by count (3, 2, 2, 1, 1)
    a window     'cat sat <eos>'    inputs [3, 5], targets [5, 2]
    held-out     'dog sat <eos>'    inputs [0, 5], targets [5, 2]     'dog' is not a training word: <unk>

Training order: as in ``char_lm``, random windows with a fresh state by default, or the
paper's order with ``train.carry_state = true`` (``stream_batch``: the training words cut
into B parallel streams read piece after piece, the state carried; the paper's B is 20).

Where this departs from the paper, and why: validation windows start from a zero state
(each is scored on its own), where the paper reads the validation text as one stream
with its state carried; the first words of each window have little context, so the
held-out perplexity is a little higher.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from torch import Tensor

from ..data.errors import DataError
from ..data.text import (END_OF_SENTENCE, UNKNOWN, as_paths, read_text_file, split_tail, tokenize_words,
                         word_vocabulary)
from .base import Batch, check_config_int
from .char_lm import TokenStreamTask, given
from .registry import register


@register
class WordLMTask(TokenStreamTask):
    """Word language model (Zaremba et al. 2014, Penn Treebank): predict each next word, scored by perplexity.

    Inputs (T, B) word ids, targets (T, B) the next words; see the module docstring.
    """

    @dataclass
    class Config:
        """Settings of the word language model; the defaults are Zaremba et al.'s (2014) Penn Treebank setting."""

        path: list[str] | str = ""  # required: a UTF-8 text file, or a list of them (e.g. ptb.train.txt)
        seq_length: int = 35  # T: words a window reads (the paper unrolls 35 steps)
        validation_fraction: float = 0.1  # the last 10% of the words are held out, unless validation_path is given
        validation_path: list[str] | str = ""  # files of validation text (e.g. ptb.valid.txt); "" = the tail of path
        min_count: int = 1  # words seen fewer times in the training split read as <unk>
        max_vocab: int | None = None  # at most this many entries, <unk> included; none = no cap

    name = "word_lm"
    main_metric = "perplexity"
    token_word = "word"

    def validate(self, config: Config) -> None:
        self.validate_stream_settings(config)
        check_config_int(self.name, "min_count", config.min_count, minimum=1)
        if config.max_vocab is not None:
            check_config_int(self.name, "max_vocab", config.max_vocab, minimum=2, why="<unk> and at least one word")

    def load(self) -> None:
        c = self.config
        for paths in (c.path, c.validation_path) if given(c.validation_path) else (c.path,):
            for path in as_paths(paths):  # a file of white space only is as empty as an empty file for words
                if not read_text_file(path).split():
                    raise DataError(path, "holds no words (only white space)")
        text, validation_text = self.read_texts(c)
        if validation_text is None:  # the split is made on words, so that no word is cut in two
            train_words, validation_words = split_tail(tokenize_words(text), c.validation_fraction)
        else:
            train_words, validation_words = tokenize_words(text), tokenize_words(validation_text)
        vocabulary = word_vocabulary(train_words, min_count=c.min_count, max_size=c.max_vocab, unknown=UNKNOWN)
        self.set_streams(vocabulary.encode(train_words), vocabulary.encode(validation_words), vocabulary)

    def default_prime(self) -> str:
        """What ``rnnlab sample`` starts from without ``--prime``: an end of sentence, so that the sample
        starts a sentence (``encode`` reads it as the one token ``<eos>``)."""
        return END_OF_SENTENCE

    def encode(self, text: str) -> Tensor:
        """(N,) int64 ids of the words of ``text``: a line end is ``<eos>`` (none after an unfinished
        last line), a word outside the vocabulary is ``<unk>``."""
        if not isinstance(text, str):
            raise TypeError(f"{self.name} task: encode takes a str; got {type(text).__name__}")
        words = tokenize_words(text)
        if words and not text.rstrip(" \t").endswith("\n"):
            words.pop()  # tokenize_words ends every line with <eos>; this one is not finished
        return self.vocabulary.encode(words)

    def decode(self, tokens: Tensor | Sequence[int]) -> str:
        """The words of ``tokens``, separated by spaces, ``<eos>`` written as a line end."""
        if isinstance(tokens, Tensor) and tokens.dim() != 1:
            raise ValueError(f"{self.name} task: decode takes a 1-D tensor of ids; got shape {tuple(tokens.shape)}")
        try:
            words = self.vocabulary.decode(tokens)
        except ValueError as error:
            raise ValueError(f"{self.name} task: {error}") from None
        pieces: list[str] = []
        for word in words:
            if word == END_OF_SENTENCE:
                pieces.append("\n")
            else:
                pieces.append(word if not pieces or pieces[-1] == "\n" else " " + word)
        return "".join(pieces)

    def metrics(self, outputs: Tensor, batch: Batch) -> dict[str, float]:
        nats, accuracy = self.nats_and_accuracy(outputs, batch)
        return {"loss": nats, "perplexity": math.exp(nats), "accuracy": accuracy, "count": batch.targets.shape[1]}
