"""The temporal order problem: classify a sequence by the order of two (or three) widely separated symbols.

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

Task 6b ("three relevant, widely separated symbols"), ``relevant = 3``: the same, but with
three X/Y at t1 (10..20), t2 (33..43) and t3 (66..76), and eight classes by their order:
X, X, X → Q; X, X, Y → R; X, Y, X → S; X, Y, Y → U; Y, X, X → V; Y, X, Y → A; Y, Y, X → B;
Y, Y, Y → C (class indices 0..7, 4·[first is Y] + 2·[second is Y] + [third is Y]; the
class B is not the trigger symbol B).  The second window moves to 33..43: with
``relevant = 3`` set on the command line, the task's recommendations set it
(``task.second_position_min = 33``, ``task.second_position_max = 43``); in Python,
``TemporalOrderTask.Config(**TASK_6B)``.  ``output_size`` is 2^relevant: 4 or 8.

The paper tests on 2560 sequences and stops training once the average training error
is below 0.1 and the 2000 most recent sequences were classified correctly (both tasks).
Table 9: Task 6a 1 of 2560 test sequences wrong after 31,390 training sequences (means of
20 trials), Task 6b 2 of 2560 after 571,100 (10 trials), the latter with learning rate 0.1
instead of 0.5 and three cell blocks of size 2 instead of two.

Worked example, with a short setting (lengths 12, t1 in 2..4, t2 in 7..9) to fit on a line:

    t        0  1  2  3  4  5  6  7  8  9 10 11
    symbol   E  c  a  X  d  b  b  a  Y  c  d  B        t1 = 3 holds X, t2 = 8 holds Y: class R (1)
    index    5  2  0  6  3  1  1  0  7  2  3  4        the one-hot position of each step's input

and Task 6b with a short setting (lengths 14, t1 in 2..3, t2 in 6..7, t3 in 10..11):

    t        0  1  2  3  4  5  6  7  8  9 10 11 12 13
    symbol   E  b  Y  a  c  d  X  b  b  a  c  Y  d  B     Y, X, Y: class A (5)
    index    5  1  7  0  2  3  6  1  1  0  2  7  3  4

With the defaults a sequence looks like ``E`` + 9..19 distractors + ``X|Y`` + ... + ``X|Y``
(at 50..60) + ... + ``B`` at its last step, 100..110 steps in all, padded with zero
vectors in a batch (``Batch.lengths`` holds the true lengths).

Where this departs from the paper, and why:

* positions count from 0 (E is at t = 0); the paper does not say whether t1 and t2
  count from 0 or 1.  A shift by one moves both windows together and keeps every
  lag between X/Y symbols;
* the readout is 4 (8) logits trained with softmax cross-entropy, and ``accuracy`` is
  the fraction whose largest logit is the true class.  The paper uses 4 (8) sigmoid
  outputs with local (one-hot) targets and counts a sequence correct when every
  output is within 0.3 of its target; under a softmax that is "probability of the
  true class above 0.7", stricter than the argmax.  Cross-entropy is the standard
  loss for a classifier and what the models of rnnlab read out;
* the defaults are Task 6a's, so that ``relevant = 3`` alone keeps the second window at
  50..60 (a valid setting, but not Task 6b's): the paper's 6b comes from the
  recommendations on the command line or from ``TASK_6B`` in Python.  One set of
  defaults for both tasks would have changed Task 6a's; the third window's settings are
  ignored by Task 6a.
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
CLASSES = ("Q", "R", "S", "U")  # Task 6a: index 2·[first is Y] + [second is Y]: XX, XY, YX, YY
CLASSES_6B = ("Q", "R", "S", "U", "V", "A", "B", "C")  # Task 6b: 4·[first is Y] + 2·[second is Y] + [third is Y]
TASK_6B = {"relevant": 3, "second_position_min": 33, "second_position_max": 43}  # with the third window's defaults


@register
class TemporalOrderTask(ClassificationTask):
    """Temporal order (Hochreiter & Schmidhuber 1997, Task 6a, 6b): 4 classes by the order of two distant X/Y (6b: 8).

    Inputs (100..110, B, 8) one-hot symbols, targets (B,) class indices Q, R, S, U (6b: Q, R, S, U, V, A, B, C);
    see the module docstring.
    """

    @dataclass
    class Config:
        """Settings of Task 6a; the defaults are the paper's.  Positions count from 0 (E is at 0).
        Task 6b: ``relevant = 3`` with the second window at 33..43 (``TASK_6B``)."""

        relevant: int = 2  # the X/Y symbols that decide the class: 2 (Task 6a, 4 classes) or 3 (Task 6b, 8 classes)
        min_length: int = 100  # lengths are drawn from min_length..max_length, both included
        max_length: int = 110
        first_position_min: int = 10  # t1, the step of the first X/Y, is drawn from this range
        first_position_max: int = 20
        second_position_min: int = 50  # t2, the step of the second X/Y, is drawn from this range (6b: 33..43)
        second_position_max: int = 60
        third_position_min: int = 66  # t3, the step of the third X/Y (Task 6b only), is drawn from this range
        third_position_max: int = 76

    name = "temporal_order"
    # Task 6b needs nothing more: the LSTM with these gates met the stop at step 1,000 (32,000 sequences, 3 of 2,000
    # held-out sequences wrong, 67 s; docs/results/train-temporal_order-lstm-6b.json), the paper's took 571,100.
    recommended = {  # the paper's gates (section 5.6), and a stop once the task is solved
        "*": {"train.steps": 5000, "train.eval_size": 2000, "train.stop_when": "accuracy >= 0.99"},
        "lstm": {"model.options": {"forget_bias": 5.0, "input_bias": -3.0}},
        "lstm1997": {"model.hidden_size": 4, "train.lr": 0.01,  # Table 10's network (reproduce lstm1997)
                     "model.options": {"block_size": 2, "gate_feedback": True, "input_bias": [-2.0, -4.0],
                                       "init_range": 0.1}},
    }
    input_size = len(SYMBOLS)
    output_size = len(CLASSES)  # Task 6a's; an instance has 2^relevant

    def __init__(self, config: Config | None = None) -> None:
        super().__init__(config)
        self.output_size = 2 ** self.config.relevant  # one class for each X/Y pattern

    @classmethod
    def recommendations(cls, model: str, settings) -> dict:
        """Task 6a's recommendations; with ``relevant = 3`` (Task 6b) also the paper's second window, 33..43,
        unless given."""
        recommended = super().recommendations(model, settings)
        if settings.get("relevant", cls.Config.relevant) == 3:
            recommended.update({f"task.{key}": value for key, value in TASK_6B.items() if key != "relevant"})
        return recommended

    def windows(self) -> list[tuple[int, int]]:
        """(first step, last step) of the window of each relevant X/Y, in order."""
        c = self.config
        windows = [(c.first_position_min, c.first_position_max), (c.second_position_min, c.second_position_max),
                   (c.third_position_min, c.third_position_max)]
        return windows[: c.relevant]

    def validate(self, config: Config) -> None:
        c = config
        check = check_config_int
        if isinstance(c.relevant, bool) or not isinstance(c.relevant, int) or c.relevant not in (2, 3):
            raise ValueError(f"{self.name} task: relevant must be 2 (Task 6a) or 3 (Task 6b); got {c.relevant!r}")
        check(self.name, "first_position_min", c.first_position_min, minimum=1, why="E is at step 0")
        check(self.name, "first_position_max", c.first_position_max, minimum=c.first_position_min,
              why=f"first_position_min = {c.first_position_min}")
        check(self.name, "second_position_min", c.second_position_min, minimum=c.first_position_max + 1,
              why=f"the second X/Y comes after the first, first_position_max = {c.first_position_max}")
        check(self.name, "second_position_max", c.second_position_max, minimum=c.second_position_min,
              why=f"second_position_min = {c.second_position_min}")
        last, which = c.second_position_max, "second"
        if c.relevant == 3:
            check(self.name, "third_position_min", c.third_position_min, minimum=c.second_position_max + 1,
                  why=f"the third X/Y comes after the second, second_position_max = {c.second_position_max}")
            check(self.name, "third_position_max", c.third_position_max, minimum=c.third_position_min,
                  why=f"third_position_min = {c.third_position_min}")
            last, which = c.third_position_max, "third"
        check(self.name, "min_length", c.min_length, minimum=last + 2,
              why=f"B must come after the {which} X/Y, {which}_position_max = {last}")
        check(self.name, "max_length", c.max_length, minimum=c.min_length, why=f"min_length = {c.min_length}")

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        self.check_sample_args(batch_size, generator)
        c, B = self.config, batch_size
        lengths = torch.randint(c.min_length, c.max_length + 1, (B,), generator=generator)  # (B,)
        steps = int(lengths.max())
        positions = [torch.randint(low, high + 1, (B,), generator=generator) for low, high in self.windows()]  # (B,)s
        is_y = [torch.randint(0, 2, (B,), generator=generator) for _ in positions]  # (B,) each, 0: X, 1: Y

        batch_index = torch.arange(B)
        symbols = torch.randint(0, DISTRACTORS, (steps, B), generator=generator)  # (T_max, B) a..d
        symbols[0] = E_
        symbols[lengths - 1, batch_index] = B_
        for t, y in zip(positions, is_y):
            symbols[t, batch_index] = X_ + y
        real = lengths_mask(lengths, steps)  # (T_max, B)
        inputs = F.one_hot(symbols, len(SYMBOLS)).float() * real.unsqueeze(2)  # (T_max, B, 8), zero past lengths
        targets = sum(2 ** (len(is_y) - 1 - i) * y for i, y in enumerate(is_y))  # (B,) int64, the binary number
        # of the Y's read in order: 6a 0 Q (XX), 1 R (XY), 2 S (YX), 3 U (YY); 6b 0 Q (XXX) .. 7 C (YYY)
        fixed_length = c.min_length == c.max_length
        return Batch(inputs=inputs, targets=targets, lengths=None if fixed_length else lengths)
