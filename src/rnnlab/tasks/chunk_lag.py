"""The 20-step lag of Schmidhuber's chunker: blocks a b1 … b20 or x b1 … b20; at each block's end, which began it?

Schmidhuber (1992), "Learning complex, extended sequences using the principle of history
compression", Neural Computation 4(2): 234-242, §5 "An experiment" (also in the report FKI-148-91,
1991, and NIPS 4, 1991):

* 22 symbols a, x, b1, …, b20, represented locally; the learner observes an unending stream of
  strings, each a b1 … b20 or x b1 … b20, the first symbol a or x at random;
* at the end of each string a target says which of a and x began it: to give it, the net must hold
  the first symbol across the 20 steps of b1 … b20, which carry no information about it;
* the paper's results: a conventional recurrent net (BPTT or RTRL), "with various learning rates, and
  with more than 1,000,000 training sequences", made no significant progress on the target unit (a
  5-step version of the task needed "many hundreds of thousands"); the two-net chunking system (§4)
  solved it with BPTT truncated at 3 steps, no time representation, in 13 of 17 runs with fewer than
  5,000 training sequences and in the other 4 with fewer than 35,000 -- a training sequence being
  one string.  The automatiser quickly learns to predict b1 … b20, so that the chunker sees only
  the unpredictable a or x of each string, one step before the target on its own clock.

``lag`` is the number of steps from the first symbol to the step that asks for it: a block is the
first symbol and b1 … b_lag (lag + 1 steps), the alphabet has lag + 2 symbols.  ``lag`` = 20 is the
paper's; 100 and 1,000 are the "very deep" variants (Schmidhuber's 1993 habilitation thesis claims
credit assignment across 1,000 steps and more with the chunker).

Batches.  A sequence is a piece of the stream: ``blocks`` strings, each first symbol drawn a or x
with probability 1/2 from the generator.  Inputs: token ids (T, B) int64, T = blocks · (lag + 1)
(``input_vocab`` = lag + 2; ids a 0, x 1, b_i i + 1), or with ``one_hot`` the paper's one-hot vectors
(T, B, lag + 2) float32.  Targets (T, B) int64: at the last step of each block (the one that reads
b_lag) the label, the id of the block's first symbol (0 for a, 1 for x); −1 at every other step.
The model's outputs (T, B, 2) are the logits of the label's two classes (a, x) at every step; only
the label steps are scored.

Worked example (lag = 3: symbols a x b1 b2 b3, ids 0 1 2 3 4; blocks = 2):

    t        0    1    2    3    4    5    6    7
    symbol   x    b1   b2   b3   a    b1   b2   b3
    id       1    2    3    4    0    2    3    4
    target  −1   −1   −1    1   −1   −1   −1    0        (the label when b3 is read: x, then a)

Outputs (0.2, 1.5) at t = 3 say x (right); (0.4, −0.1) at t = 7 say a (right): accuracy 1.  Only
the first symbol of each block is unpredictable: a next-symbol predictor that has learnt the b's
misses at t = 0 and t = 4 (and at t = 4 only by chance: a or x, 1/2 each).

Metrics (the main metric is ``accuracy``, goal "max"):

    accuracy           the fraction of labels right (the argmax of the two logits is the first symbol)
    sequence_accuracy  the fraction of sequences with every label right
    loss               the cross-entropy of the labels (nats), averaged over the label steps

Where this departs from the paper, and why:

* the paper's stream is unending and its learner never reset; here a sequence is a piece of
  ``blocks`` strings and a model starts each afresh (the trainer draws batches of them); the first
  block of a piece is like every other, since its first symbol is unpredictable too;
* the paper's conventional net was trained to predict its next input as well as the target; here the
  task's loss is the label's alone (a model that predicts its inputs, such as the history compressor,
  does so through its own auxiliary loss), and the label is read from two logits (softmax) rather
  than from one target unit;
* the paper counts training sequences (strings); here a training step reads ``train.batch_size``
  sequences of ``blocks`` strings each: strings seen = steps · batch size · blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import Tensor

from .base import Batch, Task, check_config_int, check_step_outputs
from .registry import register

A, X = 0, 1  # the ids of a and x, which are also the label's classes; b_i is i + 1


@register
class ChunkLagTask(Task):
    """The 20-step chunking problem (Schmidhuber 1992, §5): blocks a|x b1 … b20; at each end, recall the first.

    Inputs (T, B) token ids (or one-hot), targets (T, B) the label (0 for a, 1 for x) at the last step of
    each block and −1 elsewhere; see the module docstring.
    """

    @dataclass
    class Config:
        """Settings of the chunking problem; the defaults are the paper's 20-step lag."""

        lag: int = 20  # steps from a block's first symbol to the label (blocks of lag + 1 symbols, lag + 2 in all)
        blocks: int = 10  # strings per sequence (the paper's stream is unending)
        one_hot: bool = False  # inputs as one-hot vectors (the paper's) instead of token ids

    name = "chunk_lag"
    output_kind = "every"
    main_metric = "accuracy"
    main_metric_goal = "max"
    output_size = 2
    recommended = {  # the same budget for every model: 1,000 steps of 8 sequences (80,000 strings); stop at 99%
        "*": {"model.hidden_size": 32, "train.steps": 1000, "train.batch_size": 8, "train.lr": 0.01,
              "train.eval_size": 1000, "train.eval_every": 10, "train.stop_when": "accuracy >= 0.99"},
        "history_compressor": {"model.options": {"cell": "elman_tanh", "levels": 2, "threshold": 0.9}},
    }

    @classmethod
    def recommendations(cls, model: str, settings: Mapping[str, Any]) -> dict[str, Any]:
        """Measured with these settings (the trainer's held-out set; then 2,000 fresh sequences, seeds 0-9):
        ``history_compressor`` (Elman cells of 32 units, θ = 0.9) met 99% in 10 of 10 seeds at lag 20, at steps
        30 to 40 (2,400 to 3,200 strings, the paper's "fewer than 5,000"; 2 s each), 100% on fresh data, each
        chunker element standing for about 21 input steps; a single ``elman_tanh`` net stayed at chance (0.49 to
        0.51) in 10 of 10 after 1,000 steps, and so did a single ``lstm`` (3 of 3; with batches of 32 at lr 0.003
        it met 99% at steps 250 to 600, 3 of 3, where the Elman net still failed 10 of 10).  Longer lags read shorter
        sequences (``task.blocks``) and smaller held-out sets, whose steps each score lag + 2 symbols: lag 100
        (5 blocks) met at steps 40 to 60 (3 of 3), lag 1,000 (2 blocks) at step 60 (3 of 3, 60 s each)."""
        advice = super().recommendations(model, settings)
        lag = settings.get("lag", cls.Config.lag)
        if isinstance(lag, int) and not isinstance(lag, bool) and lag >= 100:
            advice.update({"task.blocks": 2 if lag >= 500 else 5, "train.eval_size": 200 if lag >= 500 else 500})
        return advice

    def __init__(self, config: Config | None = None) -> None:
        super().__init__(config)
        self.symbols = self.config.lag + 2  # a, x, b1 … b_lag
        self.input_size = self.symbols
        self.input_vocab = None if self.config.one_hot else self.symbols

    def validate(self, config: Config) -> None:
        check_config_int(self.name, "lag", config.lag, minimum=1, why="the steps from a block's first symbol "
                                                                       "to its label")
        check_config_int(self.name, "blocks", config.blocks, minimum=1)
        if not isinstance(config.one_hot, bool):
            raise ValueError(f"{self.name} task: one_hot must be true or false; got {config.one_hot!r}")

    # ---- data ------------------------------------------------------------------------------------
    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        self.check_sample_args(batch_size, generator)
        first = torch.randint(0, 2, (self.config.blocks, batch_size), generator=generator)  # (blocks, B): a 0, x 1
        return self.make_batch(first)

    def make_batch(self, first: Tensor) -> Batch:
        """The batch whose blocks begin with ``first`` (blocks, B): 0 for a, 1 for x."""
        if not isinstance(first, Tensor) or first.dim() != 2 or first.shape[0] != self.config.blocks \
                or first.is_floating_point() or not bool(((first == A) | (first == X)).all()):
            got = f"{first.dtype} {tuple(first.shape)}" if isinstance(first, Tensor) else repr(first)
            raise ValueError(f"{self.name} task: make_batch expects the first symbols as a (blocks={self.config.blocks}"
                             f", B) integer tensor of 0 (a) and 1 (x); got {got}")
        blocks, B = first.shape
        span = self.config.lag + 1
        symbols = torch.arange(1, span + 1).view(1, span, 1).repeat(blocks, 1, B)  # (blocks, lag + 1, B): b_i = i + 1
        symbols[:, 0] = first  # the first symbol of every block
        targets = torch.full((blocks, span, B), -1, dtype=torch.long)
        targets[:, -1] = first  # the label, at the step that reads b_lag
        symbols, targets = symbols.reshape(blocks * span, B), targets.reshape(blocks * span, B)  # (T, B)
        inputs = F.one_hot(symbols, self.symbols).float() if self.config.one_hot else symbols
        return Batch(inputs=inputs, targets=targets, lengths=None)

    # ---- loss and metrics --------------------------------------------------------------------------
    def _check(self, outputs: Tensor, batch: Batch) -> None:
        T, B = batch.targets.shape
        check_step_outputs(self.name, outputs, (T, B), 2, "the logits of a and x at every step")

    def loss(self, outputs: Tensor, batch: Batch) -> Tensor:
        self._check(outputs, batch)
        labelled = batch.targets >= 0  # (T, B)
        # boolean indexing: steps without a label get exactly zero gradient
        return F.cross_entropy(outputs[labelled], batch.targets[labelled])

    def metrics(self, outputs: Tensor, batch: Batch) -> dict[str, float]:
        self._check(outputs, batch)
        outputs = outputs.detach()
        labelled = batch.targets >= 0  # (T, B)
        right = (outputs.argmax(2) == batch.targets) | ~labelled  # (T, B): unlabelled steps count as right
        labels = labelled.sum()
        wrong = (~right).sum()
        return {"loss": float(self.loss(outputs, batch)),
                "accuracy": float(1 - wrong / labels),
                "sequence_accuracy": float(right.all(0).float().mean()),
                "count": batch.targets.shape[1]}
