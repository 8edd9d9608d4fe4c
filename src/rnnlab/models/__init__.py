"""Topologies built on the layers: N→1 now; N→N, 1→N, N→M and language models with issue 4."""

from .classifier import SequenceClassifier

__all__ = ["SequenceClassifier"]
