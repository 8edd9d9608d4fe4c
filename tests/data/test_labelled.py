"""Labelled sentences (``sentence<TAB>label``): reading, every refusal with its file and line, the
tokenizer, the vocabulary and padded batches."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest
import torch

import rnnlab.data.labelled
from rnnlab.data import DataError
from rnnlab.data.labelled import LabelledSentence, pad_batch, read_labelled, sentence_vocabulary, tokenize

SENTIMENT = Path(__file__).resolve().parents[3] / "shared" / "data" / "sentiment"  # beside the repository


def write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def raises(path: Path, message: str):
    return pytest.raises(DataError, match="^" + re.escape(str(path)) + re.escape(message))


def test_module_docstring_runs():
    assert doctest.testmod(rnnlab.data.labelled, raise_on_error=False).failed == 0


# ---- reading ------------------------------------------------------------------------------------

def test_lines_are_read_with_their_numbers(tmp_path):
    path = write(tmp_path / "a.txt", "Good case, Excellent value.\t1\n"
                                     "\n"
                                     "The script is\x85was there a script?  \t0\r\n"  # as in imdb_labelled.txt
                                     "  a tab\tinside \t 2 \n")
    got = read_labelled(path)
    assert got == [LabelledSentence("Good case, Excellent value.", 1, str(path), 1),
                   LabelledSentence("The script is\x85was there a script?", 0, str(path), 3),
                   LabelledSentence("a tab\tinside", 2, str(path), 4)]


def test_several_files_are_read_in_order(tmp_path):
    a, b = write(tmp_path / "a", "x\t0\n"), write(tmp_path / "b", "y\t1")
    assert [(s.text, s.path) for s in read_labelled([b, str(a)])] == [("y", str(b)), ("x", str(a))]


@pytest.mark.parametrize("content, line, message", [
    ("fine\t1\nno tab here 1\n", 2, "no tab between sentence and label in 'no tab here 1'; expected "
                                    "sentence<TAB>label"),
    ("fine\t1\n\nbad label\tpositive\n", 3, "the label 'positive' is not an integer >= 0 (after the last tab of "
                                            "'bad label\\tpositive')"),
    ("negative\t-1\n", 1, "the label '-1' is not an integer >= 0"),
    ("a fraction\t0.5\n", 1, "the label '0.5' is not an integer >= 0"),
    ("no label\t\n", 1, "the label '' is not an integer >= 0"),
    ("ok\t0\n   \t1\n", 2, "empty sentence before the label '1'"),
    ("x" * 100 + " 1\n", 1, "no tab between sentence and label in '" + "x" * 60 + "…'"),
])
def test_a_bad_line_names_the_file_and_the_line(tmp_path, content, line, message):
    path = write(tmp_path / "bad.txt", content)
    with raises(path, f", line {line}: {message}"):
        read_labelled([write(tmp_path / "good.txt", "fine\t0\n"), path])


def test_empty_files_and_files_of_blank_lines(tmp_path):
    with raises(tmp_path / "empty.txt", ": is empty"):
        read_labelled(write(tmp_path / "empty.txt", ""))
    with raises(tmp_path / "blank.txt", ": holds no labelled line (only blank lines); expected "
                                        "sentence<TAB>label lines"):
        read_labelled(write(tmp_path / "blank.txt", "\n  \n\t\n"))


def test_a_file_that_is_not_utf8_or_missing(tmp_path):
    path = write(tmp_path / "cp1252.txt", "fine\t1\nThe script is…was there\t0\n".encode("cp1252"))
    with raises(path, ", line 2, byte 20: is not UTF-8: byte 0x85"):
        read_labelled(path)
    with raises(tmp_path / "missing.txt", ": no such file"):
        read_labelled(tmp_path / "missing.txt")


# ---- tokens -------------------------------------------------------------------------------------

@pytest.mark.parametrize("sentence, tokens", [
    ("Wow... Loved this place.", ["wow", "...", "loved", "this", "place", "."]),
    ("Don't buy it!!", ["don't", "buy", "it", "!!"]),
    ("Tied to charger for 45 minutes.MAJOR PROBLEMS!!", ["tied", "to", "charger", "for", "45", "minutes", ".",
                                                         "major", "problems", "!!"]),
    ("slow-moving, aimless", ["slow", "-", "moving", ",", "aimless"]),
    ("The script is\x85was there", ["the", "script", "is", "…", "was", "there"]),  # C1 controls as Windows-1252
    ("great \x96 and \x97 fine", ["great", "–", "and", "—", "fine"]),
    ("Café CRÊPES ok :)", ["café", "crêpes", "ok", ":)"]),
    ("snake_case __", ["snake", "_", "case", "__"]),
])
def test_tokenize(sentence, tokens):
    assert tokenize(sentence) == tokens


def test_the_vocabulary_starts_with_padding_and_unknown():
    vocabulary = sentence_vocabulary([["b", "a"], ["a", "c"]], min_count=1)
    assert vocabulary.itos == ("<pad>", "<unk>", "a", "b", "c")
    assert vocabulary.encode(["c", "zzz"]).tolist() == [4, 1]
    assert sentence_vocabulary([["b", "a"], ["a", "c"]], min_count=2).itos == ("<pad>", "<unk>", "a")


def test_pad_batch_is_time_major_with_lengths():
    tokens, lengths = pad_batch([torch.tensor([5, 6, 7]), torch.tensor([8]), [9, 10]])
    assert tokens.dtype == torch.int64 and lengths.dtype == torch.int64
    assert tokens.tolist() == [[5, 8, 9], [6, 0, 10], [7, 0, 0]]  # (T, B)
    assert lengths.tolist() == [3, 1, 2]
    with pytest.raises(ValueError, match="every sequence needs at least one token; sequence 1 is empty"):
        pad_batch([torch.tensor([1]), torch.tensor([], dtype=torch.int64)])
    with pytest.raises(ValueError, match="pad_batch needs at least one sequence"):
        pad_batch([])


@pytest.mark.skipif(not SENTIMENT.is_dir(), reason="shared/data/sentiment is not beside the repository")
def test_the_sentiment_labelled_sentences():
    """The three UCI files: 1000 lines each, 500 of each label, every sentence has tokens, and the U+0085
    inside imdb_labelled.txt line 179 does not cut the line."""
    for name in ("amazon_cells_labelled.txt", "imdb_labelled.txt", "yelp_labelled.txt"):
        sentences = read_labelled(SENTIMENT / name)
        assert len(sentences) == 1000
        assert sum(s.label for s in sentences) == 500 and {s.label for s in sentences} == {0, 1}
        assert all(tokenize(s.text) for s in sentences)
    line_179 = read_labelled(SENTIMENT / "imdb_labelled.txt")[178]
    assert line_179.line == 179 and tokenize(line_179.text)[:5] == ["the", "script", "is", "…", "was"]
