"""The 2-sequence problem: classify a long noisy sequence by its first N elements.

Bengio, Simard & Frasconi (1994), "Learning long-term dependencies with gradient descent
is difficult", IEEE Trans. Neural Networks 5(2); in the form Hochreiter & Schmidhuber
(1997), "Long short-term memory", Neural Computation 9(8), section 5.3, Task 3a (Table 4)
give it, and that Hochreiter & Schmidhuber (1996), "Bridging long time lags by weight
guessing and 'Long Short-Term Memory'", solve by random weight guessing:

* two classes, each with probability 0.5; one input line;
* the first N elements carry the class: all 1.0 for class 1, all −1.0 for class 2
  (the paper runs N = 1 and N = 3);
* every later element is Gaussian noise, mean 0 and variance 0.2;
* the length is drawn between T and T + T/10 (T = 100 or 1000);
* the target, seen only at the sequence end, is 1.0 for class 1 and 0.0 for class 2,
  on one logistic output unit; a sequence is classified correctly when the absolute
  error at its end is below 0.2.

The paper's stopping criteria: ST1, none of 256 test sequences misclassified
(``train.eval_size = 256``, ``train.stop_when = "accuracy >= 1"``); ST2, ST1 and a mean
absolute test error below 0.01 (``abs_error``, logged beside it).  Table 4 (means of 10
trials): ST2 after 39,850 (T = 100, N = 3), 64,330 (T = 100, N = 1) and 452,460 training
sequences (T = 1000, N = 3: ``--set task.min_length=1000 task.max_length=1100``).

The paper's two harder variants, as settings (``recommendations`` follows them):

* Task 3b (Table 5): the same Gaussian noise (variance 0.2) on the first N elements too,
  ``signal_noise_variance = 0.2`` (``TASK_3B``).  Its criteria: ST1, fewer than 6 of 256
  test sequences misclassified (``accuracy >= 0.98``: 251 of 256 is 0.9805, 250 is
  0.9766); ST2, ST1 and a mean absolute test error below 0.04;
* Task 3c (Table 6): targets 0.2 for class 1 and 0.8 for class 2 (``class1_target``,
  ``class2_target``), with Gaussian noise of mean 0 and variance 0.1 on the targets
  (``target_noise_variance = 0.1``, st. dev. 0.32): to minimise the error the net must
  learn the conditional expectation of the target, the noise-free 0.2 or 0.8.  A sequence
  is misclassified when its output is more than 0.1 from the noise-free target
  (``tolerance = 0.1``), and the net is acceptable when the mean absolute difference is
  below 0.015 (``abs_error < 0.015``).  The four settings are ``TASK_3C``, or ``--set
  task.class1_target=0.2 task.class2_target=0.8 task.target_noise_variance=0.1
  task.tolerance=0.1``.  Table 6: 269,650 (N = 3) and 565,640 (N = 1) training
  sequences, average difference 0.014 and 0.012.  With target noise a batch's targets
  are (B, 2): column 0 the noisy target the loss learns from, column 1 the noise-free one
  the metrics judge by.

Weight guessing (Hochreiter & Schmidhuber 1996): draw all weights at random until the
net classifies every training sequence right, then test.  Their uniform setting for all
the problems they guessed: lengths 500 to 600, 100 training sequences (50 per class) and
a separate test set of 100, correct when the absolute error at the end is below 0.1,
weights in [−100, 100]: ``--set task.min_length=500 task.max_length=600 task.tolerance=0.1``.

Worked example (T = 6, so lengths 6 or 7 with max_length = 7; N = 2), one sequence of
class 2 and length 6:

    t        0      1      2      3      4      5
    x      −1.0   −1.0   0.31  −0.52   0.08   0.47        class 2: target 0.0

The model's readout z at t = 5 is the output unit's net input; the unit's value is
y = σ(z).  With z = −1.73, y = 0.15: |0.15 − 0.0| = 0.15 < 0.2, classified right;
with z = −1.10, y = 0.25: wrong.  In a batch the sequences are padded with zeros after
their last step, and ``Batch.lengths`` holds the true lengths.  As Task 3c the same sequence
has the noise-free target 0.8 and learns from 0.8 plus noise, e.g. 1.13 (targets row
(1.13, 0.8)): z = 1.39 gives y = 0.80, within 0.1 of 0.8, right; z = −1.73 is wrong now.

Metrics: ``accuracy``, the paper's criterion (the fraction with |y − target| below
``tolerance``); ``mse`` and ``abs_error``, the squared and absolute errors of y at the
end (against the noise-free target in Task 3c); ``loss``, the training loss below.

Where this departs from the paper, and why:

* the output unit is the model's linear readout followed by the logistic: the model's
  raw output is its net input z (a logit), and the metrics read y = σ(z).  The network
  under it is whatever model is trained (the paper's: an LSTM with 3 blocks of one cell);
* the loss is the cross-entropy of y, not the squared error (y − d)² that the paper
  minimises: both are minimal at y = d, and the cross-entropy's gradient with respect to
  z, y − d, does not vanish when the unit saturates at the wrong end, as
  (y − d)·y(1 − y) does.  ``mse`` reports the paper's error;
* Bengio et al. also allow sequences as short as T/2; this follows Hochreiter &
  Schmidhuber's T to T + T/10, set by ``min_length`` and ``max_length`` directly (no
  rounding of T/10);
* ST2 is two conditions and ``train.stop_when`` takes one: stop on ST1 and read
  ``abs_error``; Task 3c's stop (none of 256 misclassified and a mean absolute
  difference below 0.015) stops on the second, ``abs_error < 0.015``, and reads ``accuracy``;
* Task 3c's noisy targets leave [0, 1] (0.2 − 3·0.32 < 0): their cross-entropy is then no
  cross-entropy and can be negative, but its gradient with respect to z is still y − d,
  whose mean over the noise is y − E[d], so training still goes to the conditional
  expectation, the paper's point.  The targets are not clipped: that would move E[d].
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


class LogisticEndTask(Task):
    """A two-class task judged at the sequence end on one squashed output unit, as the long-time-lag
    benchmarks of Bengio et al. (1994) and Hochreiter & Schmidhuber (1996, 1997) are.

    outputs (B, 1): the unit's net input z (the model's raw readout); its value y = σ(z) in [0, 1]
    with targets 1.0 / 0.0, or, with ``symmetric``, y = tanh(z) in [−1, 1] with targets 1.0 / −1.0.
    Loss: the cross-entropy of y (for tanh, of (1 + y)/2 = σ(2z)).  Metrics: ``accuracy``, the fraction
    with |y − target| < ``config.tolerance``; ``mse`` and ``abs_error`` of y; ``loss``; ``count``.
    targets (B, 1), or (B, 2) for a task with noisy targets: the loss learns from column 0 and the
    metrics judge by the last column (the noise-free target).
    """

    output_kind = "last"
    main_metric = "accuracy"
    main_metric_goal = "max"
    output_size = 1
    symmetric: ClassVar[bool] = False  # the unit is tanh, targets ±1 (the latch) instead of logistic, 1/0

    def unit(self, outputs: Tensor) -> Tensor:
        """y, the output unit's value, from its net input z = outputs."""
        return torch.tanh(outputs) if self.symmetric else torch.sigmoid(outputs)

    def loss(self, outputs: Tensor, batch: Batch) -> Tensor:
        self.check_outputs(outputs, batch)
        learnt = batch.targets[:, :1]  # (B, 1) the target to learn from (noisy in Task 3c)
        if self.symmetric:  # (1 + tanh z)/2 = σ(2z), against the target mapped to {0, 1}
            return F.binary_cross_entropy_with_logits(2 * outputs, (1 + learnt) / 2)
        return F.binary_cross_entropy_with_logits(outputs, learnt)

    def metrics(self, outputs: Tensor, batch: Batch) -> dict[str, float]:
        self.check_outputs(outputs, batch)
        outputs = outputs.detach()
        judged = batch.targets[:, -1:]  # (B, 1) the target to judge by (noise-free in Task 3c)
        error = (self.unit(outputs) - judged).squeeze(1)  # (B,) y − d at the sequence end
        return {"loss": float(self.loss(outputs, batch)),
                "accuracy": float((error.abs() < self.config.tolerance).float().mean()),
                "mse": float(error.square().mean()), "abs_error": float(error.abs().mean()), "count": len(error)}

    def check_tolerance(self, tolerance, half: float | None = None) -> None:
        """ValueError unless 0 < tolerance <= ``half`` the distance between the two targets (by default 1 for
        the tanh unit's ±1, 0.5 for the logistic unit's 1 and 0)."""
        half = half if half is not None else 1.0 if self.symmetric else 0.5
        if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not 0 < tolerance <= half:
            raise ValueError(f"{self.name} task: tolerance must be a number in (0, {half}] (half the distance "
                             f"between the two targets); got {tolerance!r}")


def check_lengths(task: str, min_length, max_length, *, minimum: int, why: str) -> None:
    """ValueError unless minimum <= min_length <= max_length."""
    check_config_int(task, "min_length", min_length, minimum=minimum, why=why)
    check_config_int(task, "max_length", max_length, minimum=min_length, why=f"min_length = {min_length}")


def check_unit_target(task: str, field: str, value) -> None:
    """ValueError unless ``value`` is a number in [0, 1], a value the logistic unit can take."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"{task} task: {field} must be a number in [0, 1] (the logistic unit's range); got {value!r}")


def check_variance(task: str, field: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
        raise ValueError(f"{task} task: {field} must be a finite number >= 0; got {value!r}")


def first_elements_sequences(batch_size: int, generator: torch.Generator, *, min_length: int, max_length: int,
                             relevant: int, noise_variance: float, signal_noise_variance: float = 0.0):
    """Sequences whose first ``relevant`` elements are +1 (class 1) or −1 (class 2) and the rest Gaussian noise.

    Returns inputs (T_max, B, 1), zero past each length; class1 (B,) bool; lengths (B,) int64.
    Draws, in order: the lengths, the classes, the noise of every step, then (only when
    ``signal_noise_variance`` > 0) the noise on the first elements.
    """
    B = batch_size
    lengths = torch.randint(min_length, max_length + 1, (B,), generator=generator)  # (B,)
    steps = int(lengths.max())
    class1 = torch.randint(0, 2, (B,), generator=generator) == 1  # (B,) each class with probability 0.5
    x = math.sqrt(noise_variance) * torch.randn(steps, B, generator=generator)  # (T_max, B)
    sign = torch.where(class1, 1.0, -1.0)  # (B,)
    x[:relevant] = sign
    if signal_noise_variance > 0:
        x[:relevant] += math.sqrt(signal_noise_variance) * torch.randn(relevant, B, generator=generator)
    x = x * lengths_mask(lengths, steps)  # zero past each length
    return x.unsqueeze(2), class1, lengths


TASK_3B = {"signal_noise_variance": 0.2}  # noise on the class-carrying elements too
TASK_3C = {"class1_target": 0.2, "class2_target": 0.8, "target_noise_variance": 0.1, "tolerance": 0.1}  # noisy targets


@register
class TwoSequenceTask(LogisticEndTask):
    """2-sequence problem (Bengio et al. 1994; Hochreiter & Schmidhuber 1997, Task 3a): the first N inputs give the class.

    Inputs (T..T + T/10, B, 1), the first N elements ±1 then Gaussian noise; targets (B, 1), 1.0 or 0.0,
    on one logistic output unit (Task 3c: (B, 2), noisy and noise-free 0.2 or 0.8); see the module docstring.
    """

    @dataclass
    class Config:
        """Settings of the 2-sequence problem; the defaults are Hochreiter & Schmidhuber's Task 3a (T = 100, N = 3)."""

        min_length: int = 100  # T; lengths are drawn from min_length..max_length, both included
        max_length: int = 110  # T + T/10
        relevant: int = 3  # N, the information-conveying elements at the start (the paper: 1 or 3)
        noise_variance: float = 0.2  # of the Gaussian noise at every step after the first N
        signal_noise_variance: float = 0.0  # Task 3b: 0.2, the same noise on the first N elements too
        class1_target: float = 1.0  # the target of class 1 (Task 3c: 0.2)
        class2_target: float = 0.0  # the target of class 2 (Task 3c: 0.8)
        target_noise_variance: float = 0.0  # Task 3c: 0.1, Gaussian noise on the target learnt from
        tolerance: float = 0.2  # correct when |y − target| < tolerance at the end (the 1996 guessing: 0.1; 3c: 0.1)

    name = "two_sequence"
    recommended = {  # the paper's ST1: none of 256 held-out sequences misclassified
        "*": {"train.steps": 3000, "train.eval_size": 256, "train.eval_every": 100,
              "train.stop_when": "accuracy >= 1.0"},
        "lstm": {"model.options": {"forget_bias": 5.0}},
        "lstm1997": {"model.hidden_size": 3, "train.lr": 0.01,  # Table 10's network (reproduce lstm1997)
                     "model.options": {"block_size": 1, "gate_feedback": True, "output_bias": [-2.0, -4.0, -6.0],
                                       "input_bias": [-1.0, -3.0, -5.0], "init_range": 0.1}},
    }
    input_size = 1

    @classmethod
    def recommendations(cls, model: str, settings) -> dict:
        """Task 3a's; Task 3b's ST1 (fewer than 6 of 256 wrong) with noise on the first elements; Task 3c's
        acceptability (mean absolute difference below 0.015) with noise on the targets."""
        recommended = super().recommendations(model, settings)
        if settings.get("target_noise_variance", cls.Config.target_noise_variance) > 0:
            recommended["train.stop_when"] = "abs_error < 0.015"
        elif settings.get("signal_noise_variance", cls.Config.signal_noise_variance) > 0:
            recommended["train.stop_when"] = "accuracy >= 0.98"
        return recommended

    def validate(self, config: Config) -> None:
        c = config
        check_config_int(self.name, "relevant", c.relevant, minimum=1)
        check_lengths(self.name, c.min_length, c.max_length, minimum=c.relevant,
                      why=f"the first relevant = {c.relevant} elements carry the class")
        check_variance(self.name, "noise_variance", c.noise_variance)
        check_variance(self.name, "signal_noise_variance", c.signal_noise_variance)
        check_unit_target(self.name, "class1_target", c.class1_target)
        check_unit_target(self.name, "class2_target", c.class2_target)
        if c.class1_target == c.class2_target:
            raise ValueError(f"{self.name} task: class1_target and class2_target must differ; got {c.class1_target!r} "
                             f"for both")
        check_variance(self.name, "target_noise_variance", c.target_noise_variance)
        half = round(abs(c.class1_target - c.class2_target) / 2, 12)  # 0.3 for 0.2 and 0.8, not 0.30000000000000004
        self.check_tolerance(c.tolerance, half=half)

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        self.check_sample_args(batch_size, generator)
        c = self.config
        inputs, class1, lengths = first_elements_sequences(
            batch_size, generator, min_length=c.min_length, max_length=c.max_length, relevant=c.relevant,
            noise_variance=c.noise_variance, signal_noise_variance=c.signal_noise_variance)
        targets = torch.where(class1, c.class1_target, c.class2_target).unsqueeze(1)  # (B, 1), noise-free
        if c.target_noise_variance > 0:  # Task 3c: (B, 2), the noisy target to learn from, the noise-free one
            noisy = targets + math.sqrt(c.target_noise_variance) * torch.randn(batch_size, 1, generator=generator)
            targets = torch.cat([noisy, targets], dim=1)
        return Batch(inputs=inputs, targets=targets, lengths=None if c.min_length == c.max_length else lengths)
