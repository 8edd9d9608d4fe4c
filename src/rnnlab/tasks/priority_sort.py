"""Priority sort: read bit vectors with a priority each, then write out the highest-priority ones in order of priority.

Graves, Wayne & Danihelka (2014), "Neural Turing Machines", arXiv:1410.5401, section 4.5.
The paper's task:

* "A sequence of random binary vectors is input to the network along with a scalar priority
  rating for each vector.  The priority is drawn uniformly from the range [-1, 1].  The
  target sequence contains the binary vectors sorted according to their priorities"
  (Figure 16);
* "Each input sequence contained 20 binary vectors with corresponding priorities, and each
  target sequence was the 16 highest-priority vectors in the input"; the width of the
  vectors is not stated: 8 bits, as in the copy tasks and the reference implementations, fits
  the learning curves (Figure 18), which start near 16·8 = 128 bits per sequence.

Layout of one sequence of N = ``items`` vectors of W = ``bits`` bits, each with a priority
uniform in [−1, 1), and K = ``outputs`` answers; T = N + 1 + K steps:

    step t              input (I = W + 2 channels)                         target (O = W bits + the scored flag)
    0 .. N − 1          vector t on channels 0 .. W − 1, its priority      0, not scored
                        on channel W
    N                   the delimiter: 1.0 on channel W + 1                0, not scored
    N + 1 + j, j < K    zeros                                              the vector of the (j + 1)-th highest
                                                                           priority; scored

Worked example (W = 3 bits, N = 4 vectors, K = 3 answers; x[i] is input channel i, y[i]
target column i, y[3] the scored flag):

    t          0      1      2      3      4      5      6      7
    x[0]       1      0      1      0      0      0      0      0     the vectors' bits
    x[1]       0      1      1      0      0      0      0      0
    x[2]       0      1      0      1      0      0      0      0
    x[3]    0.31  −0.62   0.85  −0.07      0      0      0      0     priorities
    x[4]       0      0      0      0      1      0      0      0     delimiter
    y[0]       0      0      0      0      0      1      1      0     vectors 2, 0, 3: priorities 0.85, 0.31, −0.07
    y[1]       0      0      0      0      0      1      0      0
    y[2]       0      0      0      0      0      0      0      1
    y[3]       0      0      0      0      0      1      1      1     scored

Every sequence has the same T, so ``Batch.lengths`` is None.  Loss and metrics: ``tasks.bits``.

Where this departs from the paper, and why:

* the text says "sorted according to their priorities" without the direction; the targets
  are the highest-priority vectors, so the order here is from the highest priority down, as
  in vlgiitr/ntm-pytorch (which sorts with descending=True);
* priorities are uniform in [−1, 1) (torch.rand is uniform in [0, 1)), not [−1, 1]: the
  same distribution;
* the answer starts at the step after the delimiter, with zero inputs, as in the reference
  implementations (the paper gives no timing).

Recommended settings, measured (issue 16; seed 0, batches of 32, Adam 1e-3, one thread):

* with the paper's NTM alone (5 + 5 heads, a controller of 2 × 100, the constant initial memory)
  the cost stayed at 122 bits a sequence after 1,841 steps (15 minutes; trivial: 128) and near 99
  after 127,000 sequences;
* with a learnt initial memory and a curriculum of 5, 10 and 15 vectors (4, 8 and 12 written back)
  until steps 3,000, 7,000 and 12,000 (the recommendation, for the NTM; the curriculum for every
  model), it fell below 15 bits on the full task by step 14,000, to about 8 by step 21,000 and
  10.3 at step 30,000 (the recommendation's last), and to 4.84 after 110 minutes (46,713 steps;
  docs/results/ntm-priority-sort.json), the paper's NTM reaching about 18–20.  It did not place the
  writes by priority, as the paper's Figure 17 suggests of its NTM: it writes the vectors one
  location after another, in arrival order (Spearman's ρ of priority against write location
  −0.02), and its reads find them by content, highest priority first (99.0% of the answer steps
  over 100 fresh sequences; ``memory.pictures.placement``).  The learnt memory is what content can address at all:
  the constant one gives every location the same content.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .base import Batch, check_config_int
from .bits import LSTM_BASELINE, NTM_RECOMMENDED, ScoredBitsTask, random_bits
from .registry import register


@register
class PrioritySortTask(ScoredBitsTask):
    """Priority sort (Graves et al. 2014, NTM §4.5): write the 16 of 20 random vectors of highest priority, in order.

    Inputs (37, B, 10), targets (37, B, 8 + 1) with the scored flag; see the module docstring.
    """

    @dataclass
    class Config:
        """Settings of priority sort; the defaults are the paper's (§4.5)."""

        bits: int = 8  # W, bits of each vector
        items: int = 20  # N, vectors read, each with a priority uniform in [−1, 1)
        outputs: int = 16  # K, vectors written: the K highest-priority ones, highest first

    name = "priority_sort"
    recommended = {
        # 5, 10 and 15 vectors (4, 8, 12 written back) before the task's 20 (issue 16, measured in the module docstring)
        "*": {"train.curriculum": [{"until": 3000, "task": {"items": 5, "outputs": 4}},
                                   {"until": 7000, "task": {"items": 10, "outputs": 8}},
                                   {"until": 12000, "task": {"items": 15, "outputs": 12}}]},
        # the paper's Table 2: 5 + 5 heads, a controller of 2 x 100; a learnt initial memory, which the reads find
        # by content (the constant one offers every location the same content); 30,000 steps
        "ntm": {**NTM_RECOMMENDED, "model.num_layers": 2, "train.steps": 30000,
                "model.options": {"read_heads": 5, "write_heads": 5, "memory_init": "learned"}},
        "lstm": LSTM_BASELINE}

    def __init__(self, config: Config | None = None) -> None:
        super().__init__(config)
        self.input_size = self.config.bits + 2  # the bits, the priority and the delimiter
        self.output_size = self.config.bits

    def validate(self, config: Config) -> None:
        check_config_int(self.name, "bits", config.bits, minimum=1)
        check_config_int(self.name, "items", config.items, minimum=1)
        check_config_int(self.name, "outputs", config.outputs, minimum=1)
        if config.outputs > config.items:
            raise ValueError(f"{self.name} task: outputs must be at most items = {config.items} (the answer is a "
                             f"subset of the input); got {config.outputs!r}")

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        self.check_sample_args(batch_size, generator)
        c, B = self.config, batch_size
        vectors = random_bits((c.items, B, c.bits), generator)  # (N, B, W)
        priorities = 2 * torch.rand(c.items, B, generator=generator) - 1  # (N, B) uniform in [−1, 1)
        return self.make_batch(vectors, priorities)

    def make_batch(self, vectors: Tensor, priorities: Tensor) -> Batch:
        """The batch that sorts ``vectors`` (N, B, W) by ``priorities`` (N, B), highest first, and keeps
        the first ``outputs`` (ties, of probability zero, keep the input order)."""
        N, B, W = vectors.shape
        K = self.config.outputs
        T = N + 1 + K
        order = torch.sort(priorities, dim=0, descending=True, stable=True).indices[:K]  # (K, B)
        ranked = vectors.float().gather(0, order.unsqueeze(2).expand(K, B, W))  # (K, B, W)

        inputs = torch.zeros(T, B, W + 2)
        inputs[:N, :, :W] = vectors.float()
        inputs[:N, :, W] = priorities.float()
        inputs[N, :, W + 1] = 1.0  # the delimiter
        targets = torch.zeros(T, B, W + 1)
        targets[N + 1 :, :, :W] = ranked
        targets[N + 1 :, :, W] = 1.0  # scored
        return Batch(inputs=inputs, targets=targets, lengths=None)
