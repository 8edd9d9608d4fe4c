"""The adding problem: remember two marked real values over a long sequence and output their scaled sum.

Hochreiter & Schmidhuber (1997), "Long short-term memory", Neural Computation 9(8),
section 5.4, Experiment 4 (Table 7).  The paper's task, with T the minimal length:

* each step is a pair (value, marker); the value is uniform in [−1, 1];
* a sequence has a random length between T and T + T/10 (both included);
* exactly two pairs carry the marker 1.0: first one of the first ten pairs (its
  value is X1), then one of the first T/2 − 1 pairs still unmarked (its value is X2);
* every other marker is 0, except at the first and the final pair, where it is −1;
  in the rare case where the first pair gets marked, its value is set to 0;
* the target, seen only at the sequence end, is 0.5 + (X1 + X2)/4, the sum scaled to [0, 1];
* a sequence is processed correctly when the absolute error at its end is below 0.04.

The paper runs T = 100, 500 and 1000 (the minimal lag between X2 and the end is then
T/2), tests on 2560 sequences and stops training once the average training error is
below 0.01 and the 2000 most recent sequences were processed correctly.  ``length`` is T
(``--set task.length=500`` or ``1000`` for the other two runs; a batch of 32 at T = 1000 is
drawn in well under a millisecond).  The generator, the loss and the metrics live in
``MarkedPairsTask``, which the multiplication problem (Experiment 5, ``multiplication``) shares.

Worked example (T = 12, so lengths 12 or 13, X1 among pairs 0..9, X2 among the first
12/2 − 1 = 5 still-unmarked pairs), one sequence of length 13; X1 was drawn at
t = 6, then X2 as the 3rd unmarked pair (k = 2), which is t = 2:

    t       0     1     2     3     4     5     6     7     8     9    10    11    12
    value −0.31  0.58  0.12 −0.77  0.05  0.90 −0.44  0.33 −0.95  0.61  0.27 −0.18  0.70
    marker −1     0     1     0     0     0     1     0     0     0     0     0    −1
                       X2                      X1                                final

    target = 0.5 + (X1 + X2)/4 = 0.5 + (−0.44 + 0.12)/4 = 0.42

In a batch the sequences are padded with (0, 0) pairs after their last step, and
``Batch.lengths`` holds the true lengths.

Metrics: ``mse`` (also the loss), and ``accuracy``, the paper's criterion: the
fraction of sequences whose absolute error is below ``tolerance`` (0.04).

Where this departs from the paper, and why:

* the paper zeros X1 when the first pair is marked; X2 can land on the first pair
  too (when X1 is elsewhere, the first pair is among the T/2 − 1 still unmarked
  ones), a case it does not mention.  We zero the value of the first pair whenever
  it is marked, by X1 or X2: the rule's purpose is that the first pair contributes
  nothing (Experiment 5 sets it to 1.0, the neutral element of the product);
* T/10 and T/2 are rounded down when T is not a multiple of 10 or 2;
* the loss is the mean squared error over a batch, not one sequence at a time (the
  paper learns on-line); per sequence it is the same squared error at the end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from .base import Batch, Task, check_config_int, lengths_mask
from .registry import register


class MarkedPairsTask(Task):
    """Two marked values among T..T + T//10 (value, marker) pairs, a real-valued target at the end: the
    generator, the checks, the loss and the metrics that the adding (Experiment 4) and the multiplication
    problem (Experiment 5, ``multiplication``) share.  Subclasses give ``Config`` (a subclass of
    ``MarkedPairsTask.Config`` whose docstring names their experiment), ``value_range``,
    ``marked_first_value`` and ``target``.
    """

    @dataclass
    class Config:
        """Settings shared by the marked-pairs problems; the defaults are the paper's (T = 100)."""

        length: int = 100  # T, the minimal sequence length; lengths are drawn from T..T + T//10
        first_marker_window: int = 10  # X1 marks one of the first this-many pairs
        tolerance: float = 0.04  # a sequence counts as correct when |output − target| < tolerance

    value_range: ClassVar[tuple[float, float]]  # (low, high): every value is uniform in [low, high)
    marked_first_value: ClassVar[float]  # the value of the first pair when it is marked (by X1 or X2)
    main_metric = "mse"
    main_metric_goal = "min"
    input_size = 2  # (value, marker)
    output_size = 1

    def target(self, x1: Tensor, x2: Tensor) -> Tensor:
        """The target at the sequence end from the two marked values, x1 and x2 (B,) each -> (B,)."""
        raise NotImplementedError

    def validate(self, config) -> None:
        check_config_int(self.name, "first_marker_window", config.first_marker_window, minimum=1)
        window = config.first_marker_window
        check_config_int(self.name, "length", config.length, minimum=max(window + 1, 4),
                         why=f"the first {window} pairs, one of which is marked, must come before the final "
                             f"pair, and X2 needs length//2 - 1 >= 1 candidates")
        tolerance = config.tolerance
        if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not 0 < tolerance < math.inf:
            raise ValueError(f"{self.name} task: tolerance must be a positive number; got {tolerance!r}")

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        self.check_sample_args(batch_size, generator)
        T, window = self.config.length, self.config.first_marker_window
        low, high = self.value_range
        B = batch_size
        lengths = torch.randint(T, T + T // 10 + 1, (B,), generator=generator)  # (B,)
        steps = int(lengths.max())
        real = lengths_mask(lengths, steps)  # (T_max, B)
        # torch.rand is uniform in [0, 1), so values are in [low, high): the same distribution for float32.
        values = ((high - low) * torch.rand(steps, B, generator=generator) + low) * real  # (T_max, B)
        x1_at = torch.randint(0, window, (B,), generator=generator)  # (B,) position of X1
        # X2 is the k-th still-unmarked pair, k < T/2 − 1: position k, or k + 1 from X1's position on.
        k = torch.randint(0, T // 2 - 1, (B,), generator=generator)  # (B,)
        x2_at = k + (k >= x1_at).long()  # (B,) position of X2

        batch_index = torch.arange(B)
        markers = torch.zeros(steps, B)  # (T_max, B)
        markers[0] = -1.0
        markers[lengths - 1, batch_index] = -1.0  # the final pair (never marked: length > window)
        markers[x1_at, batch_index] = 1.0
        markers[x2_at, batch_index] = 1.0
        values[0] = torch.where(markers[0] == 1.0, self.marked_first_value, values[0])  # a marked first pair

        x1 = values[x1_at, batch_index]  # (B,)
        x2 = values[x2_at, batch_index]  # (B,)
        targets = self.target(x1, x2).unsqueeze(1)  # (B, 1)
        inputs = torch.stack([values, markers], dim=2)  # (T_max, B, 2): (value, marker) pairs
        return Batch(inputs=inputs, targets=targets, lengths=lengths)

    def loss(self, outputs: Tensor, batch: Batch) -> Tensor:
        self.check_outputs(outputs, batch)
        return F.mse_loss(outputs, batch.targets)

    def metrics(self, outputs: Tensor, batch: Batch) -> dict[str, float]:
        self.check_outputs(outputs, batch)
        error = (outputs.detach() - batch.targets).squeeze(1)  # (B,)
        mse = float(error.square().mean())
        accuracy = float((error.abs() < self.config.tolerance).float().mean())
        return {"loss": mse, "mse": mse, "accuracy": accuracy, "count": len(error)}


@register
class AddingTask(MarkedPairsTask):
    """Adding problem (Hochreiter & Schmidhuber 1997, Experiment 4): 0.5 + (X1 + X2)/4 of two marked values.

    Inputs (T..T + T//10, B, 2) (value, marker) pairs, targets (B, 1); see the module docstring.
    """

    @dataclass
    class Config(MarkedPairsTask.Config):
        """Settings of the adding problem; the defaults are the paper's (Experiment 4, T = 100)."""

    name = "adding"
    recommended = {  # the paper's gates; its stopping rule in held-out form (section 5.4: all of 2,000 recent correct)
        "*": {"train.steps": 5000, "train.eval_size": 2000, "train.stop_when": "accuracy >= 0.99"},
        "lstm": {"model.options": {"forget_bias": 5.0, "input_bias": -3.0}},
        "lstm1997": {"model.hidden_size": 4, "train.lr": 0.01,  # Table 10's network (reproduce lstm1997)
                     "model.options": {"block_size": 2, "gate_feedback": True, "input_bias": [-3.0, -6.0],
                                       "init_range": 0.1}},
    }
    value_range = (-1.0, 1.0)
    marked_first_value = 0.0  # the paper's "we set X1 to zero": the first pair adds nothing

    def target(self, x1: Tensor, x2: Tensor) -> Tensor:
        return 0.5 + (x1 + x2) / 4  # the sum scaled to [0, 1]
