"""The temporal order problem: classify a sequence by the order of two widely separated symbols.

Hochreiter & Schmidhuber (1997), "Long short-term memory", Neural Computation 9(8),
section 5.6, Experiment 6, Task 6a ("two relevant, widely separated symbols", Table 9):

* symbols are represented locally (one-hot): a, b, c, d, B, E, X, Y, so 8 inputs;
* a sequence starts with E, ends with B (the "trigger symbol"), and is otherwise made of
  symbols drawn at random from {a, b, c, d}, except at two positions t1 and t2, which
  hold X or Y;
* the length is drawn between 100 and 110, t1 between 10 and 20, t2 between 50 and 60;
* four classes by the order of the two relevant symbols: X, X → Q; X, Y → R;
  Y, X → S; Y, Y → U (here class indices 0, 1, 2, 3);
* error signals come only at the end of a sequence.

The paper tests on 2560 sequences and stops training once the average training error
is below 0.1 and the 2000 most recent sequences were classified correctly.

Worked example, with a short setting (lengths 12, t1 in 2..4, t2 in 7..9) to fit on a line:

    t        0  1  2  3  4  5  6  7  8  9 10 11
    symbol   E  c  a  X  d  b  b  a  Y  c  d  B        t1 = 3 holds X, t2 = 8 holds Y: class R (1)
    index    5  2  0  6  3  1  1  0  7  2  3  4        the one-hot position of each step's input

With the defaults a sequence looks like ``E`` + 9..19 distractors + ``X|Y`` + ... + ``X|Y``
(at 50..60) + ... + ``B`` at its last step, 100..110 steps in all, padded with zero
vectors in a batch (``Batch.lengths`` holds the true lengths).

Where this departs from the paper, and why:

* positions count from 0 (E is at t = 0); the paper does not say whether t1 and t2
  count from 0 or 1.  A shift by one moves both windows together and keeps every
  lag between X/Y symbols;
* the readout is 4 logits trained with softmax cross-entropy, and ``accuracy`` is
  the fraction whose largest logit is the true class.  The paper uses 4 sigmoid
  outputs with local (one-hot) targets and counts a sequence correct when every
  output is within 0.3 of its target; under a softmax that is "probability of the
  true class above 0.7", stricter than the argmax.  Cross-entropy is the standard
  loss for a classifier and what the models of rnnlab read out.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .base import Batch, check_config_int, lengths_mask
from .classification import ClassificationTask
from .registry import register

SYMBOLS = ("a", "b", "c", "d", "B", "E", "X", "Y")  # one-hot index of each symbol
DISTRACTORS = 4  # a, b, c, d are indices 0..3
B_, E_, X_, Y_ = (SYMBOLS.index(s) for s in "BEXY")  # B_ not to clash with the batch size B
CLASSES = ("Q", "R", "S", "U")  # index 2·[first is Y] + [second is Y]: XX, XY, YX, YY


@register
class TemporalOrderTask(ClassificationTask):
    """Temporal order (Hochreiter & Schmidhuber 1997, Task 6a): 4 classes by the order of two distant X/Y.

    Inputs (100..110, B, 8) one-hot symbols, targets (B,) class indices Q, R, S, U; see the module docstring.
    """

    @dataclass
    class Config:
        """Settings of Task 6a; the defaults are the paper's.  Positions count from 0 (E is at 0)."""

        min_length: int = 100  # lengths are drawn from min_length..max_length, both included
        max_length: int = 110
        first_position_min: int = 10  # t1, the step of the first X/Y, is drawn from this range
        first_position_max: int = 20
        second_position_min: int = 50  # t2, the step of the second X/Y, is drawn from this range
        second_position_max: int = 60

    name = "temporal_order"
    recommended = {  # the paper's gates (section 5.6), and a stop once the task is solved
        "*": {"train.steps": 5000, "train.eval_size": 2000, "train.stop_when": "accuracy >= 0.99"},
        "lstm": {"model.options": {"forget_bias": 5.0, "input_bias": -3.0}},
    }
    input_size = len(SYMBOLS)
    output_size = len(CLASSES)

    def validate(self, config: Config) -> None:
        c = config
        check = check_config_int
        check(self.name, "first_position_min", c.first_position_min, minimum=1, why="E is at step 0")
        check(self.name, "first_position_max", c.first_position_max, minimum=c.first_position_min,
              why=f"first_position_min = {c.first_position_min}")
        check(self.name, "second_position_min", c.second_position_min, minimum=c.first_position_max + 1,
              why=f"the second X/Y comes after the first, first_position_max = {c.first_position_max}")
        check(self.name, "second_position_max", c.second_position_max, minimum=c.second_position_min,
              why=f"second_position_min = {c.second_position_min}")
        check(self.name, "min_length", c.min_length, minimum=c.second_position_max + 2,
              why=f"B must come after the second X/Y, second_position_max = {c.second_position_max}")
        check(self.name, "max_length", c.max_length, minimum=c.min_length, why=f"min_length = {c.min_length}")

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        self.check_sample_args(batch_size, generator)
        c, B = self.config, batch_size
        lengths = torch.randint(c.min_length, c.max_length + 1, (B,), generator=generator)  # (B,)
        steps = int(lengths.max())
        t1 = torch.randint(c.first_position_min, c.first_position_max + 1, (B,), generator=generator)  # (B,)
        t2 = torch.randint(c.second_position_min, c.second_position_max + 1, (B,), generator=generator)  # (B,)
        first_is_y = torch.randint(0, 2, (B,), generator=generator)  # (B,) 0: X, 1: Y
        second_is_y = torch.randint(0, 2, (B,), generator=generator)  # (B,)

        batch_index = torch.arange(B)
        symbols = torch.randint(0, DISTRACTORS, (steps, B), generator=generator)  # (T_max, B) a..d
        symbols[0] = E_
        symbols[lengths - 1, batch_index] = B_
        symbols[t1, batch_index] = X_ + first_is_y
        symbols[t2, batch_index] = X_ + second_is_y
        real = lengths_mask(lengths, steps)  # (T_max, B)
        inputs = F.one_hot(symbols, len(SYMBOLS)).float() * real.unsqueeze(2)  # (T_max, B, 8), zero past lengths
        targets = 2 * first_is_y + second_is_y  # (B,) int64: 0 Q (XX), 1 R (XY), 2 S (YX), 3 U (YY)
        fixed_length = c.min_length == c.max_length
        return Batch(inputs=inputs, targets=targets, lengths=None if fixed_length else lengths)

