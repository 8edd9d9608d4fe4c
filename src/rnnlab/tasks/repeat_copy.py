"""The repeat copy task: read bit vectors and a repeat count n, write the vectors n times, then an end marker.

Graves, Wayne & Danihelka (2014), "Neural Turing Machines", arXiv:1410.5401, section 4.2.
The paper's task:

* "The network receives random-length sequences of random binary vectors, followed by a
  scalar value indicating the desired number of copies, which appears on a separate input
  channel"; it must "output the copied sequence a specified number of times and then emit
  an end-of-sequence marker";
* "no inputs are provided to the network after the initial sequence and repeat number";
* eight-bit vectors; "both the sequence length and the number of repetitions were chosen
  randomly from one to ten.  The input representing the repeat number was normalised to
  have mean zero and variance one";
* generalisation (Figure 8) doubles the length, then the number of repeats:
  ``--set task.min_length=20,task.max_length=20`` or ``--set task.min_repeats=20,task.max_repeats=20``.

The repeat count n is fed as (n − ``repeat_mean``) / ``repeat_std``.  The defaults, 5.5 and
√8.25 ≈ 2.872, are the mean and the standard deviation of n uniform on 1..10, so the input has
mean zero and variance one on the paper's training range, as loudinthecloud/pytorch-ntm
computes them.  They are settings of their own, not derived from ``min_repeats`` and
``max_repeats``, so that a network trained on 1..10 reads the same code for the same count
when it is evaluated on 1..20 (set them too when training on another range).

Layout of one sequence of L vectors of W = ``bits`` bits, repeated n times
(T = L + 2 + L·n + 1 steps; O = W + 1 outputs, the bits and the end marker):

    step t                input (I = W + 2 channels)                target (O bits + the scored flag)
    0 .. L − 1            vector t on channels 0 .. W − 1           0, not scored
    L                     the delimiter: 1.0 on channel W            0, not scored
    L + 1                 the normalised count on channel W + 1      0, not scored
    L + 2 + j, j < L·n    zeros                                      vector j mod L, end marker 0; scored
    L + 2 + L·n           zeros                                      bits 0, end marker (column W) 1; scored

Worked example (W = 3 bits, L = 2, n = 2, so the count reads (2 − 5.5)/√8.25 = −1.22; x[i]
is input channel i, y[i] target column i, y[4] the scored flag):

    t        0      1      2      3      4      5      6      7      8
    x[0]     1      0      0      0      0      0      0      0      0     the vectors' bits
    x[1]     0      1      0      0      0      0      0      0      0
    x[2]     1      1      0      0      0      0      0      0      0
    x[3]     0      0      1      0      0      0      0      0      0     delimiter
    x[4]     0      0      0  −1.22      0      0      0      0      0     repeat count
    y[0]     0      0      0      0      1      0      1      0      0     the vectors, twice
    y[1]     0      0      0      0      0      1      0      1      0
    y[2]     0      0      0      0      1      1      1      1      0
    y[3]     0      0      0      0      0      0      0      0      1     end marker
    y[4]     0      0      0      0      1      1      1      1      1     scored

The end-marker column is scored at every answer step (0 until the end), so a network that
stops early or late pays for it.  Sequences of a batch draw their own L and n and are padded
with zero steps, never scored, up to the longest; ``Batch.lengths`` holds L + 3 + L·n (None
when both ranges are single values).  Loss and metrics: ``tasks.bits``.

Where this departs from the paper, and why:

* the paper does not give the normalisation constants nor whether they follow the range of
  the test; here they are fixed settings (above), so that generalisation tests read counts on
  the training scale;
* the timing is not given either; the delimiter and the count take one step each after the
  vectors, as in loudinthecloud/pytorch-ntm (vlgiitr/ntm-pytorch puts a start flag before the
  vectors instead);
* batches of padded sequences instead of one sequence at a time (see ``copy``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from .base import Batch, check_config_int
from .bits import LSTM_BASELINE, NTM_RECOMMENDED, ScoredBitsTask, random_bits
from .registry import register


@register
class RepeatCopyTask(ScoredBitsTask):
    """Repeat copy (Graves et al. 2014, NTM §4.2): write random 8-bit vectors back n times, then an end marker.

    Inputs (L + 3 + L·n, B, 10), targets (same steps, B, 9 + 1) with the scored flag; see the module docstring.
    """

    @dataclass
    class Config:
        """Settings of the repeat copy task; the defaults are the paper's (§4.2)."""

        bits: int = 8  # W, bits of each vector
        min_length: int = 1  # L, vectors per sequence, drawn uniformly from min_length..max_length
        max_length: int = 10
        min_repeats: int = 1  # n, repeats, drawn uniformly from min_repeats..max_repeats
        max_repeats: int = 10
        repeat_mean: float = 5.5  # the count is fed as (n − repeat_mean) / repeat_std: the mean and
        repeat_std: float = math.sqrt(8.25)  # the standard deviation of n uniform on 1..10

    name = "repeat_copy"
    recommended = {  # more and more repeats, stage by stage: without them the NTM never uses its memory
        "*": {"train.curriculum": [{"until": 800, "task": {"max_repeats": 1}}, {"until": 2000, "task": {"max_repeats": 3}},
                                   {"until": 3500, "task": {"max_repeats": 6}}]},
        # without the NTM's gradient clip: with it (bound 1) one run collapsed from 0.77 bit errors at step
        # 3,750 to 80 at step 7,796; without it, 0.087 (issue 10's measurements, one run each)
        "ntm": {**NTM_RECOMMENDED, "train.stop_when": "bit_errors_per_sequence <= 0.01",
                "model.options": {"gradient_clip": "none"}},
        "lstm": LSTM_BASELINE,
    }

    def __init__(self, config: Config | None = None) -> None:
        super().__init__(config)
        self.input_size = self.config.bits + 2  # the bits, the delimiter and the repeat count
        self.output_size = self.config.bits + 1  # the bits and the end marker

    def validate(self, config: Config) -> None:
        check_config_int(self.name, "bits", config.bits, minimum=1)
        check_config_int(self.name, "min_length", config.min_length, minimum=1)
        check_config_int(self.name, "max_length", config.max_length, minimum=config.min_length,
                         why=f"min_length = {config.min_length}")
        check_config_int(self.name, "min_repeats", config.min_repeats, minimum=1)
        check_config_int(self.name, "max_repeats", config.max_repeats, minimum=config.min_repeats,
                         why=f"min_repeats = {config.min_repeats}")
        mean, std = config.repeat_mean, config.repeat_std
        if isinstance(mean, bool) or not isinstance(mean, (int, float)) or not math.isfinite(mean):
            raise ValueError(f"{self.name} task: repeat_mean must be a finite number; got {mean!r}")
        if isinstance(std, bool) or not isinstance(std, (int, float)) or not 0 < std < math.inf:
            raise ValueError(f"{self.name} task: repeat_std must be a positive number; got {std!r}")

    def count_input(self, repeats: Tensor) -> Tensor:
        """The input that codes the repeat counts ``repeats``: (n − repeat_mean) / repeat_std, float32."""
        return ((repeats.double() - self.config.repeat_mean) / self.config.repeat_std).float()

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        self.check_sample_args(batch_size, generator)
        c, B = self.config, batch_size
        lengths = torch.randint(c.min_length, c.max_length + 1, (B,), generator=generator)  # (B,) L
        repeats = torch.randint(c.min_repeats, c.max_repeats + 1, (B,), generator=generator)  # (B,) n
        vectors = random_bits((int(lengths.max()), B, c.bits), generator)  # (L_max, B, W)
        return self.make_batch(vectors, lengths, repeats)

    def make_batch(self, vectors: Tensor, lengths: Tensor, repeats: Tensor) -> Batch:
        """The batch that repeats ``vectors`` (L_max, B, W), of which sequence b uses the first
        ``lengths[b]``, ``repeats[b]`` times."""
        vectors = vectors[: int(lengths.max())]  # (L_max, B, W), no vector past the longest sequence
        L_max, B, W = vectors.shape
        answer = lengths * repeats  # (B,) steps of copies before the end marker
        total = lengths + 3 + answer  # (B,) steps of each sequence
        T = int(total.max())
        t = torch.arange(T).unsqueeze(1)  # (T, 1)
        batch_index = torch.arange(B)

        inputs = torch.zeros(T, B, W + 2)
        inputs[:L_max, :, :W] = vectors.float() * (t[:L_max] < lengths).unsqueeze(2)
        inputs[lengths, batch_index, W] = 1.0  # the delimiter
        inputs[lengths + 1, batch_index, W + 1] = self.count_input(repeats)

        j = t - lengths - 2  # (T, B) place in the answer
        copying = (j >= 0) & (j < answer)  # (T, B)
        ending = j == answer  # (T, B)
        source = torch.where(copying, j % lengths, 0).clamp(max=L_max - 1)  # (T, B) the vector copied
        copied = vectors.float().gather(0, source.unsqueeze(2).expand(T, B, W)) * copying.unsqueeze(2)  # (T, B, W)
        flag = (copying | ending).unsqueeze(2).float()  # (T, B, 1)
        targets = torch.cat([copied, ending.unsqueeze(2).float(), flag], dim=2)  # (T, B, W + 2)
        c = self.config
        fixed = c.min_length == c.max_length and c.min_repeats == c.max_repeats
        return Batch(inputs=inputs, targets=targets, lengths=None if fixed else total)
