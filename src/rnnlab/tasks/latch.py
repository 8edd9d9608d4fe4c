"""The latch problem: store one bit, given at the first step, through a long stretch of noise.

Bengio, Simard & Frasconi (1994), "Learning long-term dependencies with gradient descent
is difficult", IEEE Trans. Neural Networks 5(2), designed the latch problem as the minimal
test of storing one bit; Hochreiter & Schmidhuber (1996), "Bridging long time lags by
weight guessing and 'Long Short-Term Memory'", solve it by random weight guessing.  This
is their variant II:

* two classes; one input line;
* the first element is 1.0 for class 1 and −1.0 for class 2;
* Gaussian noise with mean 0 and variance 0.2 is added to every element but the first
  (the others are 0 + noise);
* the target at the sequence end is 1.0 for class 1 and −1.0 for class 2, on one tanh
  unit (their net is a single tanh unit fed by itself, the input and a bias);
* their uniform setting for guessing: lengths between 500 and 600, a sequence correct
  when the absolute error at its end is below 0.1, 100 training sequences (50 per
  class) and a separate test set of 100.

How it differs from the 2-sequence problem (``two_sequence``): the class is one element
(N = 1), not N; the output is a tanh unit with targets ±1 instead of a logistic one with
targets 1/0; and the defaults are the 1996 guessing setting (lengths 500–600, error below
0.1) instead of the 1997 LSTM paper's Task 3a (lengths T..T + T/10 with T = 100, error
below 0.2).  As data, the latch is ``two_sequence`` with ``relevant = 1`` up to the
affine map between the two output ranges (tanh z = 2σ(2z) − 1); Bengio et al.'s own
variant I differs in the model, not in the data (below).

Worked example (lengths 6 to 8 to fit on a line), one sequence of class 1 and length 6:

    t        0      1      2      3      4      5
    x       1.0   0.62  −0.18  −0.35   0.44   0.09        class 1: target 1.0

The model's readout z at t = 5 is the output unit's net input; the unit's value is
y = tanh(z).  With z = 1.60, y = 0.92: |0.92 − 1.0| = 0.08 < 0.1, correct; with z = 1.40,
y = 0.89: wrong.  Sequences are padded with zeros in a batch (``Batch.lengths``).

Metrics: ``accuracy`` (the fraction with |y − target| below ``tolerance``), ``mse`` and
``abs_error`` of y, ``loss``.

Where this departs from the paper, and why:

* variant I (a single tanh unit whose recurrent weight is the only weight, and whose
  first input, one value per class, is learnt as well; targets ±0.8) is a model with
  learnable inputs, not a data set: it is not provided;
* the output unit is the model's linear readout followed by tanh, and the loss is the
  cross-entropy of (1 + y)/2 = σ(2z) against the target mapped to {0, 1}, not the
  squared error: both are minimal at y = d, and this gradient does not vanish when the
  unit saturates at the wrong end (see ``two_sequence``); ``mse`` reports the paper's error;
* the trainer draws fresh sequences for every batch instead of a fixed training set of
  100; the held-out set (``train.eval_size``, recommended 100) is the paper's test set.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .base import Batch
from .registry import register
from .two_sequence import LogisticEndTask, check_lengths, check_variance, first_elements_sequences


@register
class LatchTask(LogisticEndTask):
    """Latch problem (Bengio et al. 1994; Hochreiter & Schmidhuber 1996, variant II): keep the sign of the first input.

    Inputs (500..600, B, 1), the first element ±1 then Gaussian noise; targets (B, 1), 1.0 or −1.0, on one
    tanh output unit; see the module docstring.
    """

    @dataclass
    class Config:
        """Settings of the latch problem; the defaults are Hochreiter & Schmidhuber's (1996) guessing setting."""

        min_length: int = 500  # lengths are drawn from min_length..max_length, both included
        max_length: int = 600
        noise_variance: float = 0.2  # of the Gaussian noise at every step after the first
        tolerance: float = 0.1  # correct when |y − target| < tolerance at the end

    name = "latch"
    recommended = {  # the paper's criterion on its test set of 100: every sequence right
        "*": {"train.steps": 2000, "train.eval_size": 100, "train.eval_every": 100,
              "train.stop_when": "accuracy >= 1.0"},
        "lstm": {"model.options": {"forget_bias": 5.0}},
    }
    input_size = 1
    symmetric = True  # a tanh unit, targets ±1

    def validate(self, config: Config) -> None:
        c = config
        check_lengths(self.name, c.min_length, c.max_length, minimum=1, why="the first element is the bit")
        check_variance(self.name, "noise_variance", c.noise_variance)
        self.check_tolerance(c.tolerance)

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        self.check_sample_args(batch_size, generator)
        c = self.config
        inputs, class1, lengths = first_elements_sequences(
            batch_size, generator, min_length=c.min_length, max_length=c.max_length, relevant=1,
            noise_variance=c.noise_variance)
        targets = torch.where(class1, 1.0, -1.0).unsqueeze(1)  # (B, 1): 1.0 for class 1, −1.0 for class 2
        return Batch(inputs=inputs, targets=targets, lengths=None if c.min_length == c.max_length else lengths)
