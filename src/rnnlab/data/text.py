"""Plain-text corpora for language models: reading, vocabularies, encoding, the validation split.

A corpus is one or more UTF-8 text files, read in the order given and joined into one
text (a newline goes between two files when the first does not end with one, so that
its last word does not run into the next file's first).  On reading, a byte-order mark
at the start of a file is dropped and Windows line ends (CR LF) become LF; nothing else
changes.  A file that is missing, unreadable, not UTF-8 (the message gives the byte
offset and the line of the first bad byte) or empty is a DataError naming it.

Two kinds of tokens:

* characters (Karpathy's char-rnn, 2015): the vocabulary is the set of characters of
  the text, sorted by code point, so the same text always gives the same indices;
* words (Mikolov et al. 2010; Zaremba, Sutskever & Vinyals 2014 on the Penn Treebank):
  the words of each line, split at white space, then an end-of-sentence token
  ``<eos>`` (blank lines give nothing).  The vocabulary keeps the words seen at least
  ``min_count`` times (and at most ``max_size`` of them, the most frequent), the rest
  are read as ``<unk>``; a ``<unk>`` already in the text, as in the Penn Treebank
  files, is the same token.

``split_tail(sequence, fraction)`` keeps the last round(fraction·N) items for validation,
the rest for training: the validation text is the end of the corpus, as in char-rnn,
which cuts train, validation and test from the text in that order.

Worked example:

    >>> text = "to be or\\nnot to be\\n"
    >>> vocabulary = char_vocabulary(text)
    >>> vocabulary.itos
    ('\\n', ' ', 'b', 'e', 'n', 'o', 'r', 't')
    >>> vocabulary.encode("be").tolist()
    [2, 3]
    >>> words = tokenize_words(text)
    >>> words
    ['to', 'be', 'or', '<eos>', 'not', 'to', 'be', '<eos>']
    >>> word_vocabulary(words, min_count=2).itos      # most frequent first, ties alphabetical
    ('<unk>', '<eos>', 'be', 'to')
    >>> word_vocabulary(words, min_count=2).encode(["not", "to", "be"]).tolist()
    [0, 3, 2]
    >>> split_tail(words, 0.25)
    (['to', 'be', 'or', '<eos>', 'not', 'to'], ['be', '<eos>'])
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence, TypeVar

import numpy as np
import torch
from torch import Tensor

from .errors import DataError, read_bytes

UNKNOWN = "<unk>"  # the word every out-of-vocabulary word is read as
END_OF_SENTENCE = "<eos>"  # ends every line of words (Mikolov et al.'s Penn Treebank convention)

_BOM = "\ufeff"
_Item = TypeVar("_Item")


# ---- reading ------------------------------------------------------------------------------------

def as_paths(paths: str | Path | Sequence[str | Path]) -> list[Path]:
    """One path or a sequence of them as a list of Paths; ValueError if there is none."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = [Path(p) for p in paths if str(p) != ""]
    if not paths:
        raise ValueError("no file given: expected a path or a list of paths")
    return paths


def read_text_file(path: str | Path) -> str:
    """The text of one UTF-8 file (BOM dropped, CR LF as LF).  DataError naming the file if it is
    missing, unreadable, not UTF-8 or empty."""
    path = Path(path)
    raw = read_bytes(path, "a text file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise DataError(path, f"is not UTF-8: byte 0x{raw[error.start]:02x} ({error.reason}); "
                              f"re-encode the file as UTF-8", line=line, byte=error.start) from None
    text = text.removeprefix(_BOM).replace("\r\n", "\n")
    if not text:
        raise DataError(path, "is empty")
    return text


def read_corpus(paths: str | Path | Sequence[str | Path]) -> str:
    """The text of one or more UTF-8 files, joined in order (a newline between two files when the
    first does not end with one)."""
    texts = [read_text_file(path) for path in as_paths(paths)]
    return "".join(text if text.endswith("\n") or i == len(texts) - 1 else text + "\n"
                   for i, text in enumerate(texts))


# ---- vocabularies -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Vocabulary:
    """Tokens and their indices: ``itos[i]`` is the token of index i, ``stoi[token]`` its index.

    ``unknown``, when set, is the token (in ``itos``) that every token outside the
    vocabulary is encoded as; without it such a token is a ValueError that names it.
    """

    itos: tuple[str, ...]
    unknown: str | None = None
    stoi: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "itos", tuple(self.itos))
        stoi = {token: i for i, token in enumerate(self.itos)}
        if len(stoi) != len(self.itos):
            duplicates = sorted(t for t, n in collections.Counter(self.itos).items() if n > 1)
            raise ValueError(f"a vocabulary holds each token once; repeated: {duplicates[:5]}")
        if self.unknown is not None and self.unknown not in stoi:
            raise ValueError(f"the unknown token {self.unknown!r} is not in the vocabulary")
        object.__setattr__(self, "stoi", stoi)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: object) -> bool:
        return token in self.stoi

    def index(self, token: str) -> int:
        """The index of ``token`` (of ``unknown`` for a token outside the vocabulary, when set)."""
        i = self.stoi.get(token)
        if i is None:
            if self.unknown is None:
                raise ValueError(f"{token!r} is not in the vocabulary of {len(self)} tokens")
            i = self.stoi[self.unknown]
        return i

    def encode(self, tokens: Iterable[str]) -> Tensor:
        """(N,) int64 indices of ``tokens`` (a string is a sequence of characters)."""
        if isinstance(tokens, str) and self.unknown is None and all(len(t) == 1 for t in self.itos):
            try:
                return _encode_characters(tokens, self)
            except UnicodeEncodeError:  # a lone surrogate: one character at a time, below
                pass
        try:
            return torch.tensor([self.index(token) for token in tokens], dtype=torch.int64)
        except ValueError as error:
            raise ValueError(f"cannot encode: {error}") from None

    def decode(self, indices: Tensor | Iterable[int]) -> list[str]:
        """The tokens of ``indices``; ValueError for an index outside 0..len-1."""
        values = indices.tolist() if isinstance(indices, Tensor) else list(indices)
        for i in values:
            if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(self.itos):
                raise ValueError(f"cannot decode {i!r}: indices run from 0 to {len(self.itos) - 1}")
        return [self.itos[i] for i in values]


def char_vocabulary(text: str) -> Vocabulary:
    """Every character of ``text``, sorted by code point (deterministic: the same text, the same indices)."""
    if not text:
        raise ValueError("cannot build a character vocabulary from an empty text")
    return Vocabulary(tuple(sorted(set(text))))


def tokenize_words(text: str, end_of_sentence: str | None = END_OF_SENTENCE) -> list[str]:
    """The words of each line of ``text``, split at white space, each non-blank line followed by
    ``end_of_sentence`` (none when it is None).  Lines end at "\\n" only."""
    words: list[str] = []
    for line in text.split("\n"):
        line_words = line.split()
        if line_words:
            words.extend(line_words)
            if end_of_sentence is not None:
                words.append(end_of_sentence)
    return words


def word_vocabulary(words: Iterable[str], *, min_count: int = 1, max_size: int | None = None,
                    unknown: str = UNKNOWN, specials: Sequence[str] = ()) -> Vocabulary:
    """The vocabulary of ``words``: ``specials`` first (e.g. a padding token), then ``unknown``, then
    the words seen at least ``min_count`` times, most frequent first, ties in code-point order;
    ``max_size``, when set, caps the whole vocabulary (specials and unknown included).  A word of
    ``words`` equal to ``unknown`` or to a special is that token."""
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
        raise ValueError(f"min_count must be an int >= 1; got {min_count!r}")
    fixed = [*specials, unknown]
    if max_size is not None and (isinstance(max_size, bool) or not isinstance(max_size, int)
                                 or max_size < len(fixed)):
        raise ValueError(f"max_size must be none or an int >= {len(fixed)} (the special tokens {fixed}); "
                         f"got {max_size!r}")
    counts = collections.Counter(words)
    for token in fixed:
        counts.pop(token, None)
    kept = sorted((w for w, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w))
    if max_size is not None:
        kept = kept[: max_size - len(fixed)]
    return Vocabulary(tuple(fixed + kept), unknown=unknown)


def split_tail(sequence: Sequence[_Item], fraction: float) -> tuple[Sequence[_Item], Sequence[_Item]]:
    """(training, validation): the last round(fraction·N) items of ``sequence`` are the validation part."""
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 <= fraction < 1:
        raise ValueError(f"the validation fraction must be a number in [0, 1); got {fraction!r}")
    held_out = round(len(sequence) * fraction)
    cut = len(sequence) - held_out
    return sequence[:cut], sequence[cut:]


def _encode_characters(text: str, vocabulary: Vocabulary) -> Tensor:
    """Characters to indices in one vectorised lookup (a corpus has millions of them)."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype="<u4")  # (N,) code points
    table = np.array([ord(c) for c in vocabulary.itos], dtype=np.uint32)
    order = np.argsort(table, kind="stable")
    found = np.searchsorted(table[order], codes).clip(max=len(table) - 1)
    indices = order[found]
    missing = np.nonzero(table[indices] != codes)[0]
    if len(missing):
        at = int(missing[0])
        raise ValueError(f"cannot encode: the character {text[at]!r} (at position {at}) is not in the "
                         f"vocabulary of {len(vocabulary)} characters")
    return torch.from_numpy(indices.astype(np.int64))
