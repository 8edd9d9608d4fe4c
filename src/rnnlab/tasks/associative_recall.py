"""Associative recall: read a list of items, then a query item; answer with the item that followed it in the list.

Graves, Wayne & Danihelka (2014), "Neural Turing Machines", arXiv:1410.5401, section 4.3.
The paper's task:

* "we define an item as a sequence of binary vectors that is bounded on the left and right
  by delimiter symbols.  After several items have been propagated to the network, we query
  by showing a random item, and we ask the network to produce the next item";
* "each item consisted of three six-bit binary vectors (giving a total of 18 bits per
  item).  During training, we used a minimum of 2 items and a maximum of 6 items";
* Figure 12: item delimiters are single bits on one input row (7), the query delimiter on
  another (8), so the input has W + 2 channels;
* generalisation (Figure 11) to 10, 15 and 20 items: ``--set task.min_items=15,task.max_items=15``.

Layout of one sequence of k items (k uniform in ``min_items``..``max_items``), each of
ℓ = ``item_length`` vectors of W = ``bits`` bits, s = ℓ + 1 steps per item with its
delimiter, and a query q uniform in 0..k − 2 (any item but the last, which has no
successor); T = s·(k + 1) + ℓ + 1 steps:

    step t                    input (I = W + 2 channels)                   target (O = W bits + the scored flag)
    s·i, i < k                item delimiter: 1.0 on channel W             0, not scored
    s·i + 1 + j, j < ℓ        vector j of item i                           0, not scored
    s·k                       query delimiter: 1.0 on channel W + 1        0, not scored
    s·k + 1 + j               vector j of item q (the query)               0, not scored
    s·(k + 1)                 query delimiter again                        0, not scored
    s·(k + 1) + 1 + j         zeros                                        vector j of item q + 1; scored

So every item is bounded by delimiters: an item delimiter on its left, and on its right the
next item's delimiter or, for the last item, the query delimiter; the query is bounded by
query delimiters.  Worked example (W = 2 bits, ℓ = 2, k = 3 items A = (10, 11),
B = (01, 10), C = (00, 11), query A, so the answer is B; x[i] is input channel i, y[i]
target column i, y[2] the scored flag):

    t       0  1  2  3  4  5  6  7  8  9 10 11 12 13 14
    x[0]    0  1  1  0  0  1  0  0  1  0  1  1  0  0  0     the items' bits
    x[1]    0  0  1  0  1  0  0  0  1  0  0  1  0  0  0
    x[2]    1  0  0  1  0  0  1  0  0  0  0  0  0  0  0     item delimiter
    x[3]    0  0  0  0  0  0  0  0  0  1  0  0  1  0  0     query delimiter
    y[0]    0  0  0  0  0  0  0  0  0  0  0  0  0  0  1     item B, the successor of A
    y[1]    0  0  0  0  0  0  0  0  0  0  0  0  0  1  0
    y[2]    0  0  0  0  0  0  0  0  0  0  0  0  0  1  1     scored

Sequences of a batch draw their own k and are padded with zero steps, never scored, up to
the longest; ``Batch.lengths`` holds s·(k + 1) + ℓ + 1 (None when ``min_items`` =
``max_items``).  Loss and metrics: ``tasks.bits`` (chance is ℓ·W = 18 bits per sequence).

Where this departs from the paper, and why:

* the paper gives the delimiters' rows but not their exact steps; the layout above is
  vlgiitr/ntm-pytorch's (a delimiter before each item, the query between two query
  delimiters, the answer after them, with no input while it is written);
* items are not forced to be distinct: two equal items of 18 random bits come up in about
  15/2**18 ≈ 6e-5 of the sequences of 6 items, and a query equal to an earlier item is then
  ambiguous; the paper says nothing of it, and neither reference implementation avoids it;
* batches of padded sequences instead of one sequence at a time (see ``copy``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .base import Batch, check_config_int
from .bits import LSTM_BASELINE, NTM_RECOMMENDED, ScoredBitsTask, random_bits
from .registry import register


@register
class AssociativeRecallTask(ScoredBitsTask):
    """Associative recall (Graves et al. 2014, NTM §4.3): recall the item that followed the query item in a list.

    Inputs (4(k + 1) + 4, B, 8), targets (same steps, B, 6 + 1) with the scored flag; see the module docstring.
    """

    @dataclass
    class Config:
        """Settings of associative recall; the defaults are the paper's (§4.3)."""

        bits: int = 6  # W, bits of each vector
        item_length: int = 3  # ℓ, vectors per item
        min_items: int = 2  # k, items per sequence, drawn uniformly from min_items..max_items
        max_items: int = 6  # the paper trains on 2..6 and tests up to 20

    name = "associative_recall"
    recommended = {"ntm": {**NTM_RECOMMENDED, "train.stop_when": "bit_errors_per_sequence <= 0.01"},
                   "lstm": LSTM_BASELINE}

    def __init__(self, config: Config | None = None) -> None:
        super().__init__(config)
        self.input_size = self.config.bits + 2  # the bits, the item delimiter and the query delimiter
        self.output_size = self.config.bits

    def validate(self, config: Config) -> None:
        check_config_int(self.name, "bits", config.bits, minimum=1)
        check_config_int(self.name, "item_length", config.item_length, minimum=1)
        check_config_int(self.name, "min_items", config.min_items, minimum=2,
                         why="the query is an item that has a successor")
        check_config_int(self.name, "max_items", config.max_items, minimum=config.min_items,
                         why=f"min_items = {config.min_items}")

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        self.check_sample_args(batch_size, generator)
        c, B = self.config, batch_size
        counts = torch.randint(c.min_items, c.max_items + 1, (B,), generator=generator)  # (B,) k
        items = random_bits((int(counts.max()), c.item_length, B, c.bits), generator)  # (K, ℓ, B, W)
        # q uniform in 0..k − 2: floor(u·(k − 1)) for u uniform in [0, 1).
        queries = (torch.rand(B, generator=generator, dtype=torch.float64) * (counts - 1)).long()  # (B,)
        return self.make_batch(items, counts, queries)

    def make_batch(self, items: Tensor, counts: Tensor, queries: Tensor) -> Batch:
        """The batch of the items ``items`` (K, ℓ, B, W), of which sequence b uses the first
        ``counts[b]``, queried with item ``queries[b]`` (< counts[b] − 1)."""
        K, ell, B, W = items.shape
        s = ell + 1  # steps per item with its delimiter
        total = s * (counts + 1) + ell + 1  # (B,) steps of each sequence
        T = int(total.max())
        t = torch.arange(T).unsqueeze(1)  # (T, 1)
        listed = s * counts  # (B,) steps of the list: the query delimiter comes at this step

        # Which vector (item, slice) each step shows, and where: the list, the query, the answer.
        in_list = t < listed  # (T, B)
        item_step = t % s  # (T, 1) 0 at an item delimiter, 1 + j at vector j
        shows_list_vector = in_list & (item_step > 0)
        query_slice = t - listed - 1  # (T, B) j of the query vector shown at this step
        shows_query = (query_slice >= 0) & (query_slice < ell)
        answer_slice = t - s * (counts + 1) - 1  # (T, B) j of the answer vector due at this step
        answering = (answer_slice >= 0) & (answer_slice < ell)

        flat = items.float().reshape(K * ell, B, W)  # (K·ℓ, B, W): vector j of item i at i·ℓ + j

        def vectors_at(item: Tensor, slice_: Tensor, where: Tensor) -> Tensor:
            """(T, B, W): vector slice_ of item ``item`` at the steps ``where``, zeros elsewhere."""
            index = torch.where(where, item * ell + slice_, 0).clamp(0, K * ell - 1)  # (T, B)
            return flat.gather(0, index.unsqueeze(2).expand(T, B, W)) * where.unsqueeze(2)

        shown = (vectors_at((t // s).expand(T, B), item_step - 1, shows_list_vector)
                 + vectors_at(queries.expand(T, B), query_slice, shows_query))  # (T, B, W)
        item_delimiter = in_list & (item_step == 0)  # (T, B)
        query_delimiter = (t == listed) | (t == s * (counts + 1))  # (T, B)
        inputs = torch.cat([shown, item_delimiter.unsqueeze(2).float(), query_delimiter.unsqueeze(2).float()],
                           dim=2)  # (T, B, W + 2)

        answer = vectors_at((queries + 1).expand(T, B), answer_slice, answering)  # (T, B, W)
        targets = torch.cat([answer, answering.unsqueeze(2).float()], dim=2)  # (T, B, W + 1)
        fixed = self.config.min_items == self.config.max_items
        return Batch(inputs=inputs, targets=targets, lengths=None if fixed else total)
