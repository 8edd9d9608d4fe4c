"""Sentence sentiment: classify a sentence read word by word (``sentence<TAB>label`` files).

The data are the "Sentiment Labelled Sentences" of Kotzias, Denil, de Freitas & Smyth
(2015), "From group to individual labels using deep features", KDD (UCI Machine Learning
Repository): 1000 sentences each from Amazon, IMDb and Yelp reviews, half labelled 0
(negative), half 1 (positive).  Any file of ``sentence<TAB>label`` lines will do; the
format and how it is read are in ``rnnlab.data.labelled``.  The paper gives no
train/validation split; the one here is ours:

* the sentences of every file of ``path`` are shuffled by a permutation seeded with
  ``split_seed`` (not by the training generator, so the split is the same in every run
  and on every process); the first round(``validation_fraction``·N) are the validation
  split, the rest the training split (80/20 by default);
* sentences are lowercased and cut into words and punctuation (``data.labelled.tokenize``),
  and truncated to their first ``max_length`` tokens when that is set;
* the vocabulary comes from the training split only: ``<pad>`` (0), ``<unk>`` (1), then
  the tokens seen at least ``min_count`` times there, most frequent first; any other
  token reads as ``<unk>``.  ``input_vocab`` = ``input_size`` = its size;
* ``output_size`` = the number of classes, the largest label + 1 (2 for this data);
* a training batch is B sentences drawn uniformly, with replacement, from the training
  split: inputs (T, B) int64 token ids, ``<pad>`` (0) past each sentence's end, T the
  longest of the batch; ``lengths`` (B,) int64; targets (B,) int64 labels;
* ``eval_set(size, seed)`` is the first min(size, N_val) validation sentences in split
  order, in batches of at most 500, the same whatever the seed.

Metrics: ``loss``, the mean cross-entropy of the label, and ``accuracy``, the fraction of
sentences whose largest logit is the true label (the paper's measure).

Worked example, two lines of yelp_labelled.txt:

    line     Wow... Loved this place.<TAB>1
    tokens   wow  ...  loved  this  place  .            6 steps, label 1
    line     Crust is not good.<TAB>0
    tokens   crust  is  not  good  .                    5 steps, label 0

In one batch, with the ids of a vocabulary built from these two lines (``<pad>`` 0,
``<unk>`` 1, then ``.`` 2, as it is seen twice, then the rest in code-point order:
``...`` 3, ``crust`` 4, ``good`` 5, ``is`` 6, ``loved`` 7, ``not`` 8, ``place`` 9,
``this`` 10, ``wow`` 11), the inputs are the columns

    t        0   1   2   3   4   5
    first   11   3   7  10   9   2        lengths [6, 5], targets [1, 0]
    second   4   6   8   5   2   0        (0 is <pad>)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..data.labelled import pad_batch, read_labelled, sentence_vocabulary, tokenize
from .base import EVAL_BATCH_SIZE, Batch, _check_int, check_config_int
from .char_lm import given
from .classification import ClassificationTask
from .registry import register


@register
class SentimentTask(ClassificationTask):
    """Sentence sentiment (Kotzias et al. 2015, labelled sentences): classify a sentence from its words.

    Inputs (T, B) word ids with lengths, targets (B,) labels; see the module docstring.
    """

    @dataclass
    class Config:
        """Settings of the sentiment task; the split is ours (the paper gives none)."""

        path: list[str] | str = ""  # required: sentence<TAB>label files, e.g. the three *_labelled.txt files
        validation_fraction: float = 0.2  # share of the sentences held out for validation (an 80/20 split)
        split_seed: int = 0  # seeds the permutation that splits the sentences (independent of the training seed)
        min_count: int = 1  # tokens seen fewer times in the training split read as <unk>
        max_length: int | None = None  # keep the first this-many tokens of a sentence; none = all of them

    name = "sentiment"
    recommended = {"*": {  # a small bidirectional reader, max-pooled; 20 passes over 2,400 sentences
        "model.hidden_size": 64, "model.embedding_size": 64, "model.bidirectional": True, "model.pooling": "max",
        "train.steps": 1500, "train.weight_decay": 1e-4, "train.eval_size": 100_000}}  # every held-out sentence

    def __init__(self, config: Config | None = None) -> None:
        super().__init__(config)  # validates
        self._load()

    def validate(self, config: Config) -> None:
        if not given(config.path):
            raise ValueError(f"{self.name} task: path is required: a sentence<TAB>label file or a list of them, e.g. "
                             f"--set task.path='[\"amazon_cells_labelled.txt\", \"yelp_labelled.txt\"]'; "
                             f"got {config.path!r}")
        paths = config.path if isinstance(config.path, (list, tuple)) else [config.path]
        if not all(isinstance(p, str) and p for p in paths):
            raise ValueError(f"{self.name} task: path must be a file path or a list of file paths; got {config.path!r}")
        fraction = config.validation_fraction
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
            raise ValueError(f"{self.name} task: validation_fraction must be a number in (0, 1); got {fraction!r}")
        check_config_int(self.name, "split_seed", config.split_seed, minimum=0)
        check_config_int(self.name, "min_count", config.min_count, minimum=1)
        if config.max_length is not None:
            check_config_int(self.name, "max_length", config.max_length, minimum=1)

    def _load(self) -> None:
        c = self.config
        sentences = read_labelled(c.path)
        n = len(sentences)
        held_out = round(n * c.validation_fraction)
        if not 1 <= held_out <= n - 1:
            raise ValueError(f"{self.name} task: {_describe(c.path)} hold(s) {n} labelled sentence(s); "
                             f"validation_fraction {c.validation_fraction} leaves {held_out} for validation and "
                             f"{n - held_out} for training, and each split needs at least one")
        order = torch.randperm(n, generator=torch.Generator().manual_seed(c.split_seed)).tolist()
        self.validation_sentences = [sentences[i] for i in order[:held_out]]
        self.train_sentences = [sentences[i] for i in order[held_out:]]

        def tokens_of(sentence):
            return tokenize(sentence.text)[: c.max_length]  # every non-blank sentence has a token

        train_tokens = [tokens_of(s) for s in self.train_sentences]
        self.vocabulary = sentence_vocabulary(train_tokens, min_count=c.min_count)
        self._train = [self.vocabulary.encode(t) for t in train_tokens]  # each (L_i,) int64
        self._validation = [self.vocabulary.encode(tokens_of(s)) for s in self.validation_sentences]
        self._train_labels = torch.tensor([s.label for s in self.train_sentences])  # (N_train,) int64
        self._validation_labels = torch.tensor([s.label for s in self.validation_sentences])  # (N_val,)
        self.classes = max(s.label for s in sentences) + 1
        self.input_vocab = self.input_size = len(self.vocabulary)
        self.output_size = self.classes

    # ---- batches -----------------------------------------------------------------------------

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        self.check_sample_args(batch_size, generator)
        picks = torch.randint(0, len(self._train), (batch_size,), generator=generator)  # (B,)
        tokens, lengths = pad_batch([self._train[i] for i in picks.tolist()])  # (T, B), (B,)
        return Batch(inputs=tokens, targets=self._train_labels[picks], lengths=lengths)

    def eval_set(self, size: int, seed: int) -> list[Batch]:
        """The first min(``size``, N_val) validation sentences, in batches of at most 500; ``seed``
        changes nothing (the split is fixed by ``split_seed``)."""
        _check_int("size", size, minimum=1)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int; got {seed!r}")
        count = min(size, len(self._validation))
        batches = []
        for start in range(0, count, EVAL_BATCH_SIZE):
            stop = min(start + EVAL_BATCH_SIZE, count)
            tokens, lengths = pad_batch(self._validation[start:stop])  # (T, B), (B,)
            batches.append(Batch(inputs=tokens, targets=self._validation_labels[start:stop], lengths=lengths))
        return batches



def _describe(path) -> str:
    paths = path if isinstance(path, (list, tuple)) else [path]
    return ", ".join(map(str, paths))
