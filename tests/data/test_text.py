"""Text corpora: reading (every refusal names the file), vocabularies, encoding, the validation split."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest
import torch

import rnnlab.data.text
from rnnlab.data import DataError
from rnnlab.data.text import (UNKNOWN, Vocabulary, char_vocabulary, read_corpus, read_text_file, split_tail,
                              tokenize_words, word_vocabulary)


def write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def raises(path: Path, message: str):
    return pytest.raises(DataError, match="^" + re.escape(str(path)) + re.escape(message))


def test_module_docstring_runs():
    assert doctest.testmod(rnnlab.data.text, raise_on_error=False).failed == 0


# ---- reading ------------------------------------------------------------------------------------

def test_a_file_is_read_as_utf8_with_bom_and_crlf_normalised(tmp_path):
    path = write(tmp_path / "a.txt", "\ufeffÉté\r\nnaïve 😀\r\n".encode("utf-8"))
    assert read_text_file(path) == "Été\nnaïve 😀\n"
    assert read_corpus(str(path)) == "Été\nnaïve 😀\n"


def test_files_are_joined_in_order_with_a_newline_where_one_is_missing(tmp_path):
    a, b, c = write(tmp_path / "a", "one"), write(tmp_path / "b", "two\n"), write(tmp_path / "c", "three")
    assert read_corpus([a, b, c]) == "one\ntwo\nthree"
    assert read_corpus([str(c), str(a)]) == "three\none"


def test_no_path_is_refused():
    with pytest.raises(ValueError, match="no file given: expected a path or a list of paths"):
        read_corpus([])
    with pytest.raises(ValueError, match="no file given"):
        read_corpus("")


def test_a_missing_file_a_directory_and_an_empty_file_are_named(tmp_path):
    with raises(tmp_path / "missing.txt", ": no such file"):
        read_corpus([write(tmp_path / "a", "fine\n"), tmp_path / "missing.txt"])
    with raises(tmp_path, ": is a directory, not a text file"):
        read_text_file(tmp_path)
    with raises(tmp_path / "empty.txt", ": is empty"):
        read_corpus(write(tmp_path / "empty.txt", b""))
    with raises(tmp_path / "bom.txt", ": is empty"):
        read_corpus(write(tmp_path / "bom.txt", b"\xef\xbb\xbf"))


def test_a_file_that_is_not_utf8_gives_the_line_and_the_byte(tmp_path):
    path = write(tmp_path / "latin1.txt", "ok\nfine\ncaf\xe9 au lait\n".encode("latin-1"))
    with raises(path, ", line 3, byte 11: is not UTF-8: byte 0xe9 (invalid continuation byte); "
                      "re-encode the file as UTF-8"):
        read_corpus(path)
    first = write(tmp_path / "first.txt", b"\xff\xfeh\x00i\x00")  # UTF-16
    with raises(first, ", line 1, byte 0: is not UTF-8: byte 0xff (invalid start byte)"):
        read_text_file(first)


def test_an_unreadable_file_is_named(tmp_path, unreadable):
    path = unreadable(write(tmp_path / "secret.txt", "hidden"))
    with raises(path, ": cannot be read: Permission denied"):
        read_corpus(path)


# ---- characters ---------------------------------------------------------------------------------

def test_the_character_vocabulary_is_sorted_and_deterministic():
    vocabulary = char_vocabulary("hello, world\n")
    assert vocabulary.itos == ("\n", " ", ",", "d", "e", "h", "l", "o", "r", "w")
    assert vocabulary.stoi == {c: i for i, c in enumerate(vocabulary.itos)}
    assert char_vocabulary("dlrow ,olleh\n") == vocabulary  # the order of the text does not matter
    assert len(vocabulary) == 10 and "h" in vocabulary and "x" not in vocabulary


def test_characters_encode_and_decode_round_trip():
    text = "naïve café 😀, 中文\n\tend"
    vocabulary = char_vocabulary(text)
    ids = vocabulary.encode(text)
    assert ids.dtype == torch.int64 and ids.shape == (len(text),)
    assert ids.tolist() == [vocabulary.stoi[c] for c in text]  # the vectorised path agrees with a dict lookup
    assert "".join(vocabulary.decode(ids)) == text
    assert vocabulary.encode("").tolist() == []


def test_an_unknown_character_is_named_with_its_position():
    vocabulary = char_vocabulary("abc")
    with pytest.raises(ValueError, match=re.escape("cannot encode: the character 'é' (at position 2) is not in the "
                                                   "vocabulary of 3 characters")):
        vocabulary.encode("abéc")
    with pytest.raises(ValueError, match=re.escape("cannot encode: '\\ud800' is not in the vocabulary of 3 tokens")):
        vocabulary.encode("a\ud800")  # a lone surrogate: looked up one character at a time


def test_decoding_an_index_out_of_range_is_refused():
    vocabulary = char_vocabulary("abc")
    for bad in (3, -1, 1.0):
        with pytest.raises(ValueError, match=re.escape(f"cannot decode {bad!r}: indices run from 0 to 2")):
            vocabulary.decode([0, bad])


def test_an_empty_text_has_no_vocabulary():
    with pytest.raises(ValueError, match="cannot build a character vocabulary from an empty text"):
        char_vocabulary("")


# ---- words --------------------------------------------------------------------------------------

def test_words_end_every_non_blank_line_with_eos():
    text = " the cat  sat \n\n\tthe dog\nend"
    assert tokenize_words(text) == ["the", "cat", "sat", "<eos>", "the", "dog", "<eos>", "end", "<eos>"]
    assert tokenize_words(text, end_of_sentence=None) == ["the", "cat", "sat", "the", "dog", "end"]
    assert tokenize_words("a\x85b\n") == ["a", "b", "<eos>"]  # U+0085 is white space, not a line end
    assert tokenize_words("") == [] and tokenize_words("\n \n") == []


def test_the_word_vocabulary_orders_by_count_then_code_point():
    words = "b a c a b a <eos> d".split()
    vocabulary = word_vocabulary(words)
    assert vocabulary.itos == (UNKNOWN, "a", "b", "<eos>", "c", "d")
    assert vocabulary.unknown == UNKNOWN
    assert vocabulary.encode(["a", "zebra", "d"]).tolist() == [1, 0, 5]
    assert word_vocabulary(words, min_count=2).itos == (UNKNOWN, "a", "b")
    assert word_vocabulary(words, max_size=3).itos == (UNKNOWN, "a", "b")
    assert word_vocabulary(words, specials=("<pad>",)).itos[:3] == ("<pad>", UNKNOWN, "a")


def test_an_unknown_token_in_the_text_is_the_unknown_entry():
    vocabulary = word_vocabulary(["<unk>", "<unk>", "<unk>", "x"])
    assert vocabulary.itos == (UNKNOWN, "x")
    assert vocabulary.encode(["<unk>", "y"]).tolist() == [0, 0]


@pytest.mark.parametrize("kwargs, message", [
    ({"min_count": 0}, "min_count must be an int >= 1; got 0"),
    ({"min_count": 1.5}, "min_count must be an int >= 1; got 1.5"),
    ({"max_size": 0}, "max_size must be none or an int >= 1 (the special tokens ['<unk>']); got 0"),
    ({"max_size": 1, "specials": ("<pad>",)}, "max_size must be none or an int >= 2"),
])
def test_bad_vocabulary_settings(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        word_vocabulary(["a"], **kwargs)


def test_a_vocabulary_holds_each_token_once_and_its_unknown_token():
    with pytest.raises(ValueError, match=re.escape("a vocabulary holds each token once; repeated: ['a']")):
        Vocabulary(("a", "b", "a"))
    with pytest.raises(ValueError, match=re.escape("the unknown token '<unk>' is not in the vocabulary")):
        Vocabulary(("a",), unknown="<unk>")
    with pytest.raises(ValueError, match=re.escape("cannot encode: 'c' is not in the vocabulary of 2 tokens")):
        Vocabulary(("a", "b")).encode(["a", "c"])


# ---- the validation split -----------------------------------------------------------------------

@pytest.mark.parametrize("length, fraction, held_out", [(10, 0.1, 1), (10, 0.25, 2), (19, 0.25, 5), (10, 0.0, 0),
                                                        (3, 0.1, 0), (1000, 0.05, 50)])
def test_the_validation_split_is_the_rounded_tail(length, fraction, held_out):
    items = list(range(length))
    train, validation = split_tail(items, fraction)
    assert validation == items[length - held_out:] and train == items[: length - held_out]
    text = "x" * length
    assert [len(part) for part in split_tail(text, fraction)] == [length - held_out, held_out]


@pytest.mark.parametrize("fraction", [1.0, -0.1, "0.1", True])
def test_a_bad_fraction_is_refused(fraction):
    with pytest.raises(ValueError, match=re.escape(f"the validation fraction must be a number in [0, 1); "
                                                   f"got {fraction!r}")):
        split_tail("abc", fraction)
