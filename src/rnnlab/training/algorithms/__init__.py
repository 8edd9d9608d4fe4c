"""Learning algorithms: how a training batch turns into parameter updates (``train.algorithm``).

``bptt`` (whole or truncated backpropagation through time) is the default; each algorithm is one
module behind the small interface of base.py, so the trainer has no branch per algorithm.
"""

from __future__ import annotations

from .base import LearningAlgorithm, Update
from .bptt import BPTT
from .guess import Guess
from .lstm_truncated import LSTMTruncated
from .rtrl import RTRL
from .snap1 import SnAp1
from .uoro import UORO

ALGORITHMS: dict[str, type[LearningAlgorithm]] = {cls.name: cls
                                                  for cls in (BPTT, RTRL, UORO, SnAp1, Guess, LSTMTruncated)}


def get(name: str) -> type[LearningAlgorithm]:
    """The algorithm ``name``; an unknown one is a ValueError listing them."""
    if name not in ALGORITHMS:
        raise ValueError(f"unknown learning algorithm {name!r}; available: {', '.join(ALGORITHMS)}")
    return ALGORITHMS[name]


__all__ = ["ALGORITHMS", "BPTT", "Guess", "LSTMTruncated",
           "RTRL", "SnAp1", "UORO", "LearningAlgorithm", "Update", "get"]
