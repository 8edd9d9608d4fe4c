"""Tasks: data + loss + metrics, one module per task; a task never builds a model or an optimizer.

>>> import torch, rnnlab.tasks as tasks
>>> tasks.available()  # doctest: +NORMALIZE_WHITESPACE
['adding', 'temporal_order', 'char_lm', 'word_lm', 'sentiment', 'seq_image', 'reverse', 'addition',
 'number_words', 'elman_xor', 'elman_words', 'copy', 'repeat_copy', 'associative_recall', 'ngrams',
 'priority_sort', 'two_sequence', 'latch', 'parity', 'delayed_recall', 'reber', 'long_lag', 'multiplication',
 'delayed_xor', 'listops', 'expression_trees', 'chunk_lag', 'number_translation', 'date_translation']
>>> task = tasks.create("adding")                      # the paper's settings (T = 100)
>>> batch = task.sample(32, torch.Generator().manual_seed(0))
>>> batch.inputs.shape[1:], batch.targets.shape
(torch.Size([32, 2]), torch.Size([32, 1]))

The topology each task needs, and what its batches hold, is the table of ``tasks.base``.
"""

# importing a module registers its task; this order is the order of `rnnlab tasks`
from . import adding, temporal_order  # noqa: F401  (issue 3: long time lags)
from . import char_lm, word_lm, sentiment, seq_image  # noqa: F401  (file data)
from . import reverse, addition, number_words, elman_xor, elman_words  # noqa: F401  (synthetic, issue 4)
from . import copy, repeat_copy, associative_recall, ngrams, priority_sort  # noqa: F401  (NTM, issue 5)
from . import two_sequence, latch, parity  # noqa: F401  (weight guessing, issue 12)
from . import delayed_recall  # noqa: F401  (online learning on a stream, issue 12)
from . import reber, long_lag  # noqa: F401  (LSTM 1997, issue 13)
from . import multiplication, delayed_xor  # noqa: F401  (LSTM 1997 battery, issue 13)
from . import listops, expression_trees  # noqa: F401  (recursive nets, issue 14)
from . import chunk_lag  # noqa: F401  (the neural history compressor, issue 14)
from . import number_translation, date_translation  # noqa: F401  (translation between real languages, issue 15)
from .adding import AddingTask
from .base import BOS, EOS, PAD, Batch, Task
from .registry import available, create, describe, get, register
from .temporal_order import TemporalOrderTask

__all__ = ["Batch", "Task", "PAD", "BOS", "EOS", "AddingTask", "TemporalOrderTask",
           "available", "create", "describe", "get", "register"]
