"""Temporal exclusive-or: predict the next bit of a stream in which every third bit is the XOR of the two before.

Elman (1990), "Finding structure in time", Cognitive Science 14, 179–211, section
"Exclusive-OR" (Figure 3).  The paper's task:

* a stream of bits made of triplets: two random bits, then their XOR
  ("1 0 1 0 0 0 0 1 1 1 1 0 ...");
* the network reads one bit per step and is trained to predict the next one;
* only every third bit can be predicted: after the first two bits of a triplet the
  third is determined, while the first two are coin flips;
* the paper trains a network of 1 input, 2 hidden units (with their 2 context units)
  and 1 output on a stream of 3,000 bits for 600 passes, and plots the error at 12
  consecutive steps (Figure 3): low where the XOR bit is predicted, high elsewhere.

Here a batch holds B independent streams of ``length`` steps:

* inputs (T, B, 1) float32, the bits x_0 .. x_{T−1}; targets (T, B, 1) float32, the
  next bits x_1 .. x_T; every stream starts with a triplet (x_0, x_1, x_2 = x_0 XOR x_1);
* the *phase* of step t is the place of its target bit x_{t+1} in its triplet,
  (t + 1) mod 3: phase 0 and 1 targets are random bits, phase 2 targets are the XOR bits.
  The phase is fixed by the step, so the metrics read it from t alone.

Worked example (the paper's stream, T = 12):

    t        0 1 2 3 4 5 6 7 8 9 10 11
    input    1 0 1 0 0 0 0 1 1 1 1  0
    target   0 1 0 0 0 0 1 1 1 1 0  1
    phase    1 2 0 1 2 0 1 2 0 1 2  0     phase 2 (t = 1, 4, 7, 10): target = XOR of inputs t − 1 and t

The model's outputs are raw readouts (T, B, 1); the task reads them as the logit of
the probability that the next bit is 1, p = σ(output) (the paper's output unit is
logistic).  The loss (``Config.loss``):

    "squared_error"  (p − x)², summed over the output bits, averaged over steps and
                     streams: the paper's cost (the default);
    "cross_entropy"  −x log p − (1 − x) log(1 − p) from the logits, same averaging:
                     better conditioned (no vanishing gradient when σ saturates), the
                     same optimum (p = the probability of a 1).

Metrics, whatever the loss: ``error``, the squared error (p − x)² averaged over every
step; ``error_phase_0``, ``error_phase_1``, ``error_phase_2``, the same over the steps
of each phase.  Random bits cannot do better than p = 0.5, an error of 0.25; a
network that has learnt the task reaches ≈ 0 at phase 2 (``main_metric``).  Figure 3
plots root mean squared errors: take the square root of these figures to compare.

Where this departs from the paper, and why:

* B independent streams per batch instead of one 3,000-bit stream seen 600 times: a
  fresh stream each batch (the paper reuses one) and batches for the trainer; the
  default length is the paper's 3,000 steps, for truncated BPTT to chunk;
* every stream starts at a triplet's first bit, so a network could count steps
  modulo 3 from the start instead of inferring the phase from the bits (the paper's
  example stream begins with a triplet too; its network was never reset and so had
  to keep the count over the whole stream).  A fixed phase lets the metrics know
  each step's phase from t alone, with nothing added to the batch;
* the paper trains its simple recurrent network by backpropagation through one step
  (context units are copies of the previous hidden state); the trainer of rnnlab
  backpropagates through time, which can only help.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from .base import Batch, Task, check_config_int, check_step_outputs
from .registry import register

LOSSES = ("squared_error", "cross_entropy")  # Config.loss of the Elman tasks
PHASES = 3


@register
class ElmanXorTask(Task):
    """Temporal XOR (Elman 1990, "Exclusive-OR"): predict the next bit, every third bit is XOR of the two before.

    Inputs (T, B, 1) bits, targets (T, B, 1) the next bits; see the module docstring.
    """

    @dataclass
    class Config:
        """Settings of the temporal XOR; the defaults are the paper's (3,000 bits, squared error)."""

        length: int = 3000  # T, steps (predictions) per stream
        loss: str = "squared_error"  # "squared_error" (the paper's) or "cross_entropy", both on σ(output)

    name = "elman_xor"
    output_kind = "every"
    main_metric = "error_phase_2"
    main_metric_goal = "min"
    input_size = 1
    output_size = 1

    def validate(self, config: Config) -> None:
        check_config_int(self.name, "length", config.length, minimum=3, why="one triplet at least")
        check_loss(self.name, config.loss)

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        self.check_sample_args(batch_size, generator)
        T, B = self.config.length, batch_size
        triplets = -(-(T + 1) // PHASES)  # enough for T + 1 bits
        pairs = torch.randint(0, 2, (triplets, 2, B), generator=generator)  # (N, 2, B) the two random bits
        xor = pairs[:, 0] ^ pairs[:, 1]  # (N, B)
        stream = torch.cat([pairs, xor.unsqueeze(1)], dim=1).reshape(PHASES * triplets, B)[: T + 1].float()  # (T+1, B)
        return Batch(inputs=stream[:-1].unsqueeze(2), targets=stream[1:].unsqueeze(2), lengths=None)  # (T, B, 1) each

    @staticmethod
    def phases(steps: int) -> Tensor:
        """(T,) int64: the phase (t + 1) mod 3 of each step, the place of its target bit in its triplet."""
        return (torch.arange(steps) + 1) % PHASES

    def loss(self, outputs: Tensor, batch: Batch) -> Tensor:
        check_every_outputs(self.name, outputs, batch.inputs, self.output_size)
        return step_loss(outputs, batch.targets, self.config.loss)

    def metrics(self, outputs: Tensor, batch: Batch) -> dict[str, float]:
        check_every_outputs(self.name, outputs, batch.inputs, self.output_size)
        outputs = outputs.detach()
        errors = step_errors(outputs, batch.targets)  # (T, B)
        phase = self.phases(errors.shape[0]).to(errors.device)  # (T,)
        result = {"loss": float(step_loss(outputs, batch.targets, self.config.loss)), "error": float(errors.mean())}
        for k in range(PHASES):
            result[f"error_phase_{k}"] = float(errors[phase == k].mean())
        result["count"] = errors.shape[1]
        return result


# ---- shared with elman_words ----------------------------------------------------------------------

def check_loss(task: str, loss: str) -> None:
    if loss not in LOSSES:
        raise ValueError(f"{task} task: loss must be one of {', '.join(map(repr, LOSSES))}; got {loss!r}")


def check_every_outputs(task: str, outputs: Tensor, inputs: Tensor, output_size: int) -> None:
    """Refuse outputs that are not (T, B, output_size) for inputs (T, B, I)."""
    check_step_outputs(task, outputs, tuple(inputs.shape[:2]), output_size, "one readout per step")


def step_errors(outputs: Tensor, targets: Tensor) -> Tensor:
    """(T, B): Σ_bits (σ(output) − target)², the squared error of each step.

    outputs (T, B, O) raw readouts (logits), targets (T, B, O) in [0, 1].
    """
    return (torch.sigmoid(outputs) - targets).square().sum(dim=2)


def step_loss(outputs: Tensor, targets: Tensor, loss: str) -> Tensor:
    """Scalar: the per-step cost summed over the O output bits, averaged over the T·B steps.

    "squared_error": Σ_bits (σ(output) − target)²; "cross_entropy": Σ_bits of the binary
    cross-entropy of the logits ``outputs`` against ``targets`` (both (T, B, O)).
    """
    if loss == "squared_error":
        return step_errors(outputs, targets).mean()
    return F.binary_cross_entropy_with_logits(outputs, targets, reduction="none").sum(dim=2).mean()
