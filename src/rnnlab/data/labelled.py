"""Labelled sentences, one ``sentence<TAB>label`` a line: reading, tokens, vocabulary, padded batches.

The format of the "Sentiment Labelled Sentences" data set (Kotzias, Denil, de Freitas &
Smyth 2015, "From group to individual labels using deep features", KDD; UCI Machine
Learning Repository): three files, amazon_cells_labelled.txt, imdb_labelled.txt and
yelp_labelled.txt, of 1000 lines each, every line a sentence, a tab and its label,
0 (negative) or 1 (positive), 500 of each per file:

    Good case, Excellent value.<TAB>1
    Not tasty and the texture was just nasty.<TAB>0

What the reader accepts, and why:

* lines end at LF (CR LF too); nothing else ends a line.  imdb_labelled.txt holds the
  character U+0085 ("next line") inside sentences, which ``str.splitlines`` would take
  for a line end, breaking those sentences in two;
* the label is what follows the last tab of the line, an integer >= 0 with white space
  around it allowed; the sentence is what comes before, stripped of white space at its
  ends (imdb_labelled.txt puts two spaces before every tab);
* blank lines are skipped (they still count in the line numbers of error messages);
* UTF-8 only.  The C1 control characters U+0080..U+009F that stand for Windows-1252
  punctuation decoded as Latin-1 (imdb_labelled.txt: U+0085 for "…", U+0096 for "–",
  U+0097 for "—") are read as that punctuation by the tokenizer.

A line without a tab, a label that is not an integer >= 0, an empty sentence, a file
with no labelled line: DataError naming the file and the line.

The tokenizer lowercases and cuts a sentence into words (letters and digits, with
inner apostrophes: "don't") and runs of punctuation ("!!", ":)"), the usual simple
tokenizer of sentence classification baselines:

    >>> tokenize("Wow... Loved this place!! Don't go:)")
    ['wow', '...', 'loved', 'this', 'place', '!!', "don't", 'go', ':)']

``sentence_vocabulary`` builds the vocabulary from the training sentences only, with
``<pad>`` at index 0 and ``<unk>`` at index 1, and ``pad_batch`` makes a time-major
batch (T, B) of token ids with the lengths:

    >>> vocabulary = sentence_vocabulary([["good", "phone"], ["bad", "phone"]])
    >>> vocabulary.itos
    ('<pad>', '<unk>', 'phone', 'bad', 'good')
    >>> tokens, lengths = pad_batch([vocabulary.encode(["good", "phone"]), vocabulary.encode(["awful"])])
    >>> tokens.tolist(), lengths.tolist()
    ([[4, 1], [2, 0]], [2, 1])
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import torch
from torch import Tensor
from torch.nn.utils.rnn import pad_sequence

from .errors import DataError
from .text import UNKNOWN, Vocabulary, as_paths, read_text_file, word_vocabulary

PADDING = "<pad>"  # index 0 of a sentence vocabulary: the token of the steps past a sentence's end

_WORD_OR_PUNCTUATION = re.compile(r"[^\W_]+(?:['’][^\W_]+)*|(?:[^\w\s]|_)+")  # a run of anything else
_C1_AS_WINDOWS_1252 = {
    code: bytes([code]).decode("cp1252") for code in range(0x80, 0xA0) if code not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
}  # U+0085 -> "…", U+0096 -> "–", ...; the five codes that Windows-1252 leaves undefined stay as they are
_SHOWN = 60  # characters of a bad line quoted in an error message


@dataclass(frozen=True)
class LabelledSentence:
    """One line of a labelled file."""

    text: str  # the sentence, stripped of white space at its ends
    label: int  # >= 0
    path: str  # the file it comes from
    line: int  # its line number in that file, from 1


def read_labelled(paths: str | Path | Sequence[str | Path]) -> list[LabelledSentence]:
    """The labelled sentences of one or more files, in file and line order; DataError naming the
    file and the line for a line that is not ``sentence<TAB>label``."""
    sentences: list[LabelledSentence] = []
    for path in as_paths(paths):
        sentences.extend(read_labelled_file(path))
    return sentences


def read_labelled_file(path: str | Path) -> list[LabelledSentence]:
    """The labelled sentences of one file (see the module docstring for the format)."""
    path = Path(path)
    text = read_text_file(path)
    sentences = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        sentence, tab, label_text = line.rpartition("\t")
        if not tab:
            raise DataError(path, f"no tab between sentence and label in {_shorten(line)}; "
                                  f"expected sentence<TAB>label", line=number)
        label_text = label_text.strip()
        try:
            label = int(label_text)
        except ValueError:
            label = None
        if label is None or label < 0:
            raise DataError(path, f"the label {label_text!r} is not an integer >= 0 (after the last tab of "
                                  f"{_shorten(line)})", line=number)
        sentence = sentence.strip()
        if not sentence:
            raise DataError(path, f"empty sentence before the label {label_text!r}", line=number)
        sentences.append(LabelledSentence(sentence, label, str(path), number))
    if not sentences:
        raise DataError(path, "holds no labelled line (only blank lines); expected sentence<TAB>label lines")
    return sentences


def tokenize(sentence: str) -> list[str]:
    """Lowercase words (with inner apostrophes) and runs of punctuation of ``sentence``."""
    return _WORD_OR_PUNCTUATION.findall(sentence.translate(_C1_AS_WINDOWS_1252).lower())


def sentence_vocabulary(token_lists: Iterable[Sequence[str]], *, min_count: int = 1,
                        max_size: int | None = None) -> Vocabulary:
    """``<pad>`` (0), ``<unk>`` (1), then the tokens seen at least ``min_count`` times, most frequent
    first; build it from the training sentences only, so that validation words are unknown as they
    would be to a deployed model."""
    return word_vocabulary((token for tokens in token_lists for token in tokens), min_count=min_count,
                           max_size=max_size, unknown=UNKNOWN, specials=(PADDING,))


def pad_batch(sequences: Sequence[Tensor], padding: int = 0) -> tuple[Tensor, Tensor]:
    """(T, B) int64 token ids, ``padding`` past each sequence's end, T the longest length; and (B,)
    int64 lengths.  Every sequence must hold at least one token."""
    if not sequences:
        raise ValueError("pad_batch needs at least one sequence")
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.int64)  # (B,)
    if int(lengths.min()) < 1:
        raise ValueError(f"every sequence needs at least one token; sequence {int(lengths.argmin())} is empty")
    tokens = pad_sequence([torch.as_tensor(s, dtype=torch.int64) for s in sequences],
                          padding_value=padding)  # (T, B)
    return tokens, lengths


def _shorten(line: str) -> str:
    return repr(line if len(line) <= _SHOWN else line[:_SHOWN] + "…")
