"""Data file formats: IDX (the MNIST family), plain-text corpora, labelled sentences (TSV).

Readers only: nothing here downloads anything, and nothing needs a particular directory.
Every problem with a file is a ``DataError`` (a ValueError) whose message names the file,
and the line or byte where one place is to blame.

    idx        read_images, read_labels, find_idx_files, load_idx_split      (MNIST, Fashion-MNIST)
    text       read_corpus, char_vocabulary, tokenize_words, word_vocabulary, split_tail
    labelled   read_labelled, tokenize, sentence_vocabulary, pad_batch       (sentence<TAB>label)
"""

from .errors import DataError
from .idx import IdxFiles, find_idx_files, load_idx_split, read_idx, read_images, read_labelled_images, read_labels
from .labelled import LabelledSentence, pad_batch, read_labelled, sentence_vocabulary, tokenize
from .text import (Vocabulary, char_vocabulary, read_corpus, read_text_file, split_tail, tokenize_words,
                   word_vocabulary)

__all__ = ["DataError", "IdxFiles", "LabelledSentence", "Vocabulary", "char_vocabulary", "find_idx_files",
           "load_idx_split", "pad_batch", "read_corpus", "read_idx", "read_images", "read_labelled",
           "read_labelled_images", "read_labels", "read_text_file", "sentence_vocabulary", "split_tail",
           "tokenize", "tokenize_words", "word_vocabulary"]
