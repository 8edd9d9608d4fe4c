"""The cost of the bit-vector tasks of Graves, Wayne & Danihelka (2014): a scored-bits loss and metrics.

Graves et al. (2014), "Neural Turing Machines", arXiv:1410.5401, section 4: "All the tasks
were supervised learning problems with binary targets; all networks had logistic sigmoid
output layers and were trained with the cross-entropy objective function.  Sequence
prediction errors are reported in bits-per-sequence."  The tasks ``copy``, ``repeat_copy``,
``associative_recall``, ``ngrams`` and ``priority_sort`` share this module.

Protocol of these tasks (output_kind "every"; T steps, B sequences, O = ``output_size``):

* inputs  (T, B, I) float32;
* targets (T, B, O + 1) float32: columns 0 .. O − 1 are the target bits and the LAST
  column is the *scored* flag, 1.0 at the steps whose output is scored and 0.0 elsewhere
  (while the network reads its input, and past each sequence's length).  The flag is never
  a model output: it tells the loss and the metrics where the answer is, and keeps a batch
  self-contained (see ``elman_words`` for the same idea);
* lengths (B,) int64, the total steps of each sequence when a setting lets them differ
  within a batch (steps past a length have zero inputs and are never scored), else None;
* the model's outputs (T, B, O) are raw logits, p = σ(output), one per target bit.

Loss and metrics, over the scored entries (t, b, o) only, with

    ℓ(t, b, o) = −[y log p + (1 − y) log(1 − p)]      binary cross-entropy in nats,
                                                      y = targets[t, b, o], p = σ(outputs[t, b, o])

    loss                     Σ ℓ / (number of scored entries): the mean cross-entropy per scored
                             bit, in nats (ln 2 ≈ 0.693 for a network that answers ½ everywhere,
                             0 for a perfect one).  The mean over scored bits keeps one scale
                             whatever the sequence lengths (copy of 1 or of 120 vectors), so
                             that learning rates carry over between settings; the per-sequence
                             sums that the paper plots are the metrics.  A batch or a chunk of
                             truncated BPTT without a scored entry has loss 0 (with a graph).
    bits_per_sequence        Σ ℓ / ln 2 over a sequence's scored bits, averaged over the B
                             sequences: the cost of the paper's learning curves (contract name)
    bit_errors_per_sequence  Σ [p > ½] ≠ y over a sequence's scored bits, averaged over the
                             sequences: wrong bits after thresholding at ½ (contract name).
                             p > ½ is computed as output > 0, the same test without rounding
    count                    B, to weight batches

Under truncated BPTT the trainer weights each chunk's loss by its share of the steps; that is
exactly full BPTT when every step is scored (``ngrams``), and a reweighting of the scored bits
otherwise (the other tasks pad their sequences, and the trainer refuses to cut padded batches).
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from .base import Batch, Task, check_step_outputs

_LN2 = math.log(2.0)


# The recommended settings of these tasks (Task.recommended): the paper's NTM (Table 2: an LSTM
# controller of 100 units; the memory of 128 x 20 and the single read and write heads are the NTM's
# defaults), evaluated often enough to stop soon after a target; and the paper's LSTM baseline (Table 3).
NTM_RECOMMENDED = {"model.hidden_size": 100, "train.eval_every": 250}
LSTM_BASELINE = {"model.num_layers": 3, "model.hidden_size": 256}


class ScoredBitsTask(Task):
    """Base class of the bit-vector tasks: output_kind "every", targets with a scored flag, the loss and
    metrics of this module.  Subclasses set ``input_size`` and ``output_size`` and implement ``sample``."""

    output_kind = "every"
    main_metric: ClassVar[str] = "bit_errors_per_sequence"
    main_metric_goal: ClassVar[str] = "min"

    def loss(self, outputs: Tensor, batch: Batch) -> Tensor:
        return scored_bits_loss(self, outputs, batch)

    def metrics(self, outputs: Tensor, batch: Batch) -> dict[str, float]:
        return scored_bits_metrics(self, outputs, batch)


def check_scored_outputs(task: Task, outputs: Tensor, batch: Batch) -> None:
    """ValueError unless ``outputs`` is (T, B, O) and ``batch.targets`` is (T, B, O + 1) for
    ``batch.inputs`` (T, B, I), with O = ``task.output_size``."""
    O = task.output_size
    T, B = batch.inputs.shape[:2]
    check_step_outputs(task.name, outputs, (T, B), O, "one logit per target bit at every step")
    if tuple(batch.targets.shape) != (T, B, O + 1):
        raise ValueError(f"task {task.name!r} expects targets of shape (T, B, {O} + 1) = {(T, B, O + 1)}: the "
                         f"{O} target bits and the scored flag; got {tuple(batch.targets.shape)}")


def scored_mask(task: Task, batch: Batch) -> Tensor:
    """(T, B) bool: the steps whose output is scored (the last column of the targets is 1)."""
    return batch.targets[..., task.output_size] == 1


def scored_bits_loss(task: Task, outputs: Tensor, batch: Batch) -> Tensor:
    """Scalar: the binary cross-entropy of the logits ``outputs`` (T, B, O), in nats, averaged over
    the scored bits of ``batch``; 0 (with a graph) when nothing is scored.  See the module docstring."""
    check_scored_outputs(task, outputs, batch)
    O = task.output_size
    scored = scored_mask(task, batch).unsqueeze(2).expand(-1, -1, O)  # (T, B, O)
    if not scored.any():
        return outputs.sum() * 0.0
    # Boolean indexing, not a product with the mask: unscored outputs get exactly zero gradient,
    # whatever they hold.
    targets = batch.targets[..., :O].to(outputs.dtype)
    return F.binary_cross_entropy_with_logits(outputs[scored], targets[scored])


def sequence_costs(task: Task, outputs: Tensor, batch: Batch) -> tuple[Tensor, Tensor]:
    """(bits, bit errors), each (B,) float64: each sequence's cross-entropy in bits and its wrong
    bits, summed over its scored bits.  No gradient."""
    check_scored_outputs(task, outputs, batch)
    O = task.output_size
    outputs = outputs.detach().double()
    targets = batch.targets[..., :O].to(outputs.device, torch.float64)
    scored = scored_mask(task, batch).to(outputs.device).unsqueeze(2)  # (T, B, 1)
    nats = F.binary_cross_entropy_with_logits(outputs, targets, reduction="none")  # (T, B, O)
    bits = torch.where(scored, nats, 0.0).sum(dim=(0, 2)) / _LN2  # (B,)
    wrong = (outputs > 0) != (targets == 1)  # (T, B, O): p > ½ is output > 0
    errors = (wrong & scored).sum(dim=(0, 2)).double()  # (B,)
    return bits, errors


def scored_bits_metrics(task: Task, outputs: Tensor, batch: Batch) -> dict[str, float]:
    """{"loss", "bits_per_sequence", "bit_errors_per_sequence", "count"} of ``outputs`` (T, B, O)
    for ``batch``; see the module docstring."""
    bits, errors = sequence_costs(task, outputs, batch)
    return {
        "loss": float(scored_bits_loss(task, outputs.detach(), batch)),
        "bits_per_sequence": float(bits.mean()),
        "bit_errors_per_sequence": float(errors.mean()),
        "count": len(bits),
    }


def random_bits(shape: tuple[int, ...], generator: torch.Generator) -> Tensor:
    """float32 tensor of ``shape`` whose entries are independent Bernoulli(½) bits, 0.0 or 1.0."""
    return torch.randint(0, 2, shape, generator=generator).float()
