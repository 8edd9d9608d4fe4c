"""The parity problem: is the number of 1's in a long sequence of ±1 bits odd or even?

Bengio, Simard & Frasconi (1994), "Learning long-term dependencies with gradient descent
is difficult", IEEE Trans. Neural Networks 5(2), and Bengio & Frasconi (1994); in the form
Hochreiter & Schmidhuber (1996), "Bridging long time lags by weight guessing and 'Long
Short-Term Memory'", solve it by random weight guessing:

* a sequence of bits, each 1.0 or −1.0 with probability 0.5, one per step on one input line;
* the target at the sequence end is 1.0 when the number of 1's is odd and 0.0 when it
  is even, on one logistic output unit;
* Bengio et al. (1994) also add uniform noise in [−0.2, 0.2] to every element
  (``noise = 0.2``); Hochreiter & Schmidhuber guess both with and without it;
* lengths: 25 to 50 in Bengio et al. (1994), 250 to 500 in Bengio & Frasconi (1994), and
  500 to 600 in Hochreiter & Schmidhuber's uniform setting for guessing (the defaults),
  with a sequence correct when the absolute error at its end is below 0.1, 100 training
  sequences and a separate test set of 100.

The answer depends on every bit, so no input may be forgotten: the error of the last
bit reaches the first one through all the steps between.  Hochreiter & Schmidhuber
report that guessing solves the noise-free problem in about 2,900 trials with one
hidden unit, and needs about 41,000 with the noise.

Worked example (lengths 6 to 8 to fit on a line), one sequence of length 6:

    t        0     1     2     3     4     5
    x      1.0  −1.0  −1.0   1.0   1.0  −1.0        three 1's, odd: target 1.0

The model's readout z at t = 5 is the output unit's net input, y = σ(z).  With z = 2.5,
y = 0.92: |0.92 − 1.0| = 0.08 < 0.1, correct; with z = 2.0, y = 0.88: wrong.  With
``noise = 0.2`` the same bits read e.g. 0.93, −1.12, …; a bit is the sign of its element.
Sequences are padded with zeros in a batch (``Batch.lengths``).

Metrics: ``accuracy`` (the fraction with |y − target| below ``tolerance``), ``mse`` and
``abs_error`` of y, ``loss``.

Where this departs from the paper, and why:

* the output unit is the model's linear readout followed by the logistic, and the loss is
  the cross-entropy of y, not the squared error (see ``two_sequence``); ``mse`` reports
  the paper's error;
* the trainer draws fresh sequences for every batch instead of a fixed training set of
  100; the held-out set (``train.eval_size``, recommended 100) is the paper's test set.
  With lengths 500–600 the 2^500 possible sequences make a fixed set of 100 a tiny
  sample; solving the fresh stream is the stronger claim;
* Hochreiter & Schmidhuber's architecture A2 and their other architectures belong to
  the model, not to the task.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .base import Batch, lengths_mask
from .registry import register
from .two_sequence import LogisticEndTask, check_lengths


@register
class ParityTask(LogisticEndTask):
    """Parity (Bengio et al. 1994; Hochreiter & Schmidhuber 1996): 1 when a sequence of ±1 bits holds an odd number of 1's.

    Inputs (500..600, B, 1) bits ±1 (optionally with uniform noise); targets (B, 1), 1.0 (odd) or 0.0 (even),
    on one logistic output unit; see the module docstring.
    """

    @dataclass
    class Config:
        """Settings of the parity problem; the defaults are Hochreiter & Schmidhuber's (1996) guessing setting."""

        min_length: int = 500  # lengths are drawn from min_length..max_length, both included
        max_length: int = 600  # (Bengio et al. 1994: 25..50)
        noise: float = 0.0  # uniform noise in [−noise, noise] added to every bit (Bengio et al. 1994: 0.2)
        tolerance: float = 0.1  # correct when |y − target| < tolerance at the end

    name = "parity"
    recommended = {  # the paper's criterion on its test set of 100: every sequence right
        "*": {"train.steps": 3000, "train.eval_size": 100, "train.eval_every": 100,
              "train.stop_when": "accuracy >= 1.0"},
    }
    input_size = 1

    def validate(self, config: Config) -> None:
        c = config
        check_lengths(self.name, c.min_length, c.max_length, minimum=1, why="a sequence holds one bit at least")
        noise = c.noise
        if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not 0 <= noise < 1:
            raise ValueError(f"{self.name} task: noise must be a number in [0, 1), so that the sign of an element "
                             f"is its bit; got {noise!r}")
        self.check_tolerance(c.tolerance)

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        self.check_sample_args(batch_size, generator)
        c, B = self.config, batch_size
        lengths = torch.randint(c.min_length, c.max_length + 1, (B,), generator=generator)  # (B,)
        steps = int(lengths.max())
        real = lengths_mask(lengths, steps)  # (T_max, B)
        ones = (torch.randint(0, 2, (steps, B), generator=generator) == 1) & real  # (T_max, B) the 1 bits
        bits = torch.where(ones, 1.0, -1.0)  # (T_max, B)
        if c.noise > 0:
            bits += c.noise * (2 * torch.rand(steps, B, generator=generator) - 1)
        inputs = (bits * real).unsqueeze(2)  # (T_max, B, 1), zero past each length
        targets = (ones.sum(0) % 2).float().unsqueeze(1)  # (B, 1): 1.0 when the number of 1's is odd
        return Batch(inputs=inputs, targets=targets, lengths=None if c.min_length == c.max_length else lengths)
