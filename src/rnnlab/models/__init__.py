"""Topologies built on the layers, one file each.

    SequenceTagger       N→N   tagger.py            an output at every step
    SequenceClassifier   N→1   classifier.py        one output per sequence (last, mean or max pooling)
    SequenceGenerator    1→N   generator.py         a token sequence from one vector
    Seq2Seq              N→M   seq2seq.py           encoder-decoder, a token sequence from a sequence
    LanguageModel        N→N   language_model.py    next-token logits; generate() samples text
    TreeClassifier       tree  tree_classifier.py   a recursive net over a parse tree, its root read out
    HistoryCompressor    N→N   history_compressor.py  a stack of predictors passing up what they failed to predict

The task protocol (``rnnlab.tasks.base``) says which topology each task needs.
"""

from .classifier import SequenceClassifier
from .generator import SequenceGenerator
from .history_compressor import HistoryCompressor
from .language_model import LanguageModel
from .seq2seq import Seq2Seq
from .tagger import SequenceTagger
from .tree_classifier import TreeClassifier

__all__ = ["SequenceClassifier", "SequenceTagger", "SequenceGenerator", "Seq2Seq", "LanguageModel", "TreeClassifier",
           "HistoryCompressor"]
