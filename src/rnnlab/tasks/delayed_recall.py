"""Delayed recall: an endless stream of random bits, the target at every step a function of the bits d steps back.

A continually running task in the sense of Williams & Zipser (1989), "A learning algorithm for
continually running fully recurrent neural networks", Neural Computation 1(2): there are no
episodes, the network never sees a sequence boundary, and it must keep the last d inputs in its
state to answer at every step.  Two rules:

* ``"recall"``: one input line; the target at step t is the input bit of step t − d (a delay
  line of d steps: the network must hold d bits at once);
* ``"xor"``: two input lines; the target at step t is the XOR of the two bits of step t − d
  (Williams & Zipser's pipelined XOR, their §4.1 task, where d is the "computation delay":
  the XOR needs a hidden layer, and the delay gives it the steps to compute).

Bits are 0 or 1 on the inputs (each with probability ½, independent of everything); the target
bit is read on one logistic output unit, p = σ(output).  Steps t < d of a stream have no target
(no bit was seen d steps before them) and are not scored.

Why a stream: online learners (RTRL, UORO, SnAp-1 with ``train.online = true``) learn as the
stream flows, and truncated BPTT with truncation k cannot see the dependency at all when k ≤ d:
within a chunk of k steps, the step that must recall bit t − d never has it in its graph.  The
delay is the knob that separates the learners.

Batches.  Inputs (T, B, L) float32 (L = 1 for recall, 2 for xor), B parallel streams of T =
``length`` steps; targets (T, B, 2) float32: column 0 the target bit, column 1 the scored flag
(1.0 where the step has a target).  ``sample`` draws a fresh stream (its first d steps unscored);
``stream_batch(B, i, seed)`` serves piece i of B endless streams fixed by ``seed``, so that
piece i + 1 continues piece i (``train.carry_state``, truncated BPTT over a stream) and its first
steps are scored with the bits of piece i.  A stream's bits depend on (seed, position) alone,
drawn in blocks of 4,096 steps, so the same stream is served whatever the piece length.

Worked example (recall, d = 2, one stream, T = 8):

    t         0  1  2  3  4  5  6  7
    input     1  0  0  1  1  0  1  0
    target    -  -  1  0  0  1  1  0        (target t = input t − 2; "-": not scored)

With xor and d = 2, inputs (1,0) (1,1) (0,0) (0,1) ... give targets - - 1 0 0 1 ...

Metrics, over the scored steps: ``accuracy``, the fraction whose p is on the right side of ½
(main metric; chance is 0.5); ``mse``, (p − bit)².  ``loss`` (the training loss): the binary
cross-entropy of the logits in nats, averaged over every step of every stream, an unscored step
counting 0 (ln 2 ≈ 0.693 at p = ½ once every step is scored).  So the loss of a batch is the mean
of its steps' losses, as the online algorithms and truncated BPTT add them up step by step or
chunk by chunk (each weighted by its share of the steps): their gradients are exactly BPTT's.

Where this departs from the paper, and why:

* Williams & Zipser's network has no separate readout: one of its units is trained to match the
  teacher signal; here the model's readout is trained (use ``fully_recurrent`` with
  ``visible = 1`` to have that unit feed back, as theirs did);
* the paper's squared error is replaced by the cross-entropy of σ(output) (the same optimum,
  and a gradient that does not vanish when the unit saturates at the wrong end); ``mse`` is the
  paper's error;
* the recall rule is the simplest member of the family (Williams & Zipser's own delay task is the
  XOR); it is here because its only difficulty is the delay.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from .base import Batch, Task, check_config_int, check_step_outputs
from .registry import register

RULES = ("recall", "xor")
BLOCK = 4096  # a stream's bits are drawn in blocks of this many steps, each from its own generator
_SEED_STRIDE = 1_000_003  # block k of the stream seeded s: generator seed s · stride + k
_MAX_SEED = 2**62  # the seed of a fresh stream (``sample``) is drawn below this


@register
class DelayedRecallTask(Task):
    """Delayed recall (Williams & Zipser 1989's continually running setting): an endless bit stream, recall the bit d steps back.

    Inputs (T, B, 1) bits (2 lines for the XOR rule), targets (T, B, 2): the bit of step t − d (or the XOR
    of its two) and a scored flag; see the module docstring.
    """

    @dataclass
    class Config:
        """Settings of delayed recall; rule "xor" with delay 2 is Williams & Zipser's pipelined XOR."""

        delay: int = 4  # d: the target of step t is made of the input of step t − d
        rule: str = "recall"  # "recall" (one line, the bit itself) or "xor" (two lines, their XOR)
        length: int = 1000  # T, steps of each batch (or piece of a stream)

    name = "delayed_recall"
    output_kind = "every"
    stream = True
    main_metric = "accuracy"
    main_metric_goal = "max"
    output_size = 1
    recommended = {
        "*": {"train.steps": 2000, "train.eval_size": 64, "train.eval_every": 100, "train.lr": 0.01},
    }

    def __init__(self, config: Config | None = None) -> None:
        super().__init__(config)
        self.input_size = 1 if self.config.rule == "recall" else 2

    def validate(self, config: Config) -> None:
        check_config_int(self.name, "delay", config.delay, minimum=1)
        if config.rule not in RULES:
            raise ValueError(f"{self.name} task: rule must be one of {', '.join(map(repr, RULES))}; "
                             f"got {config.rule!r}")
        check_config_int(self.name, "length", config.length, minimum=1)

    # ---- data ------------------------------------------------------------------------------------
    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        self.check_sample_args(batch_size, generator)
        seed = int(torch.randint(0, _MAX_SEED, (1,), generator=generator))
        return self.piece(batch_size, 0, seed)

    def stream_batch(self, batch_size: int, index: int, seed: int) -> Batch:
        check_config_int(self.name, "index", index, minimum=0)
        self.check_sample_args(batch_size, torch.Generator())
        return self.piece(batch_size, index, seed)

    def piece(self, batch_size: int, index: int, seed: int) -> Batch:
        """Steps [i·T, (i + 1)·T) of ``batch_size`` streams fixed by ``seed`` (i = ``index``)."""
        c, T = self.config, self.config.length
        start = index * T
        first = max(0, start - c.delay)  # the earliest bit a target of this piece reads
        bits = stream_bits(batch_size, self.input_size, first, start + T, seed)  # (start + T − first, B, L)
        inputs = bits[start - first:]  # (T, B, L)
        positions = torch.arange(start, start + T)  # (T,) absolute steps
        scored = positions >= c.delay  # (T,)
        source = (positions - c.delay).clamp(min=first) - first  # (T,) where each target's bits are in `bits`
        read = bits[source]  # (T, B, L): the bits of step t − d (garbage where unscored)
        target = read[..., 0] if c.rule == "recall" else read[..., 0] ^ read[..., 1]  # (T, B)
        target = torch.where(scored.unsqueeze(1), target, 0)
        flag = scored.unsqueeze(1).expand(-1, batch_size)  # (T, B)
        targets = torch.stack([target.float(), flag.float()], dim=2)  # (T, B, 2)
        return Batch(inputs=inputs.float(), targets=targets, lengths=None)

    # ---- loss and metrics --------------------------------------------------------------------------
    def _check(self, outputs: Tensor, batch: Batch) -> None:
        check_step_outputs(self.name, outputs, tuple(batch.inputs.shape[:2]), 1, "one logit per step")

    def loss(self, outputs: Tensor, batch: Batch) -> Tensor:
        self._check(outputs, batch)
        return _step_losses(outputs, batch).mean()

    def metrics(self, outputs: Tensor, batch: Batch) -> dict[str, float]:
        self._check(outputs, batch)
        outputs = outputs.detach()
        scored = batch.targets[..., 1] == 1  # (T, B)
        logits, bits = outputs[..., 0][scored], batch.targets[..., 0][scored].to(outputs.dtype)
        result = {"loss": float(_step_losses(outputs, batch).mean()), "count": outputs.shape[1]}
        if logits.numel() == 0:
            return {**result, "accuracy": float("nan"), "mse": float("nan")}
        return {**result, "accuracy": float(((logits > 0) == (bits == 1)).float().mean()),
                "mse": float((torch.sigmoid(logits) - bits).square().mean())}


def _step_losses(outputs: Tensor, batch: Batch) -> Tensor:
    """(T, B): the binary cross-entropy of each step's logit against its target bit, 0 where not scored."""
    scored = batch.targets[..., 1]  # (T, B) 1.0 or 0.0
    losses = F.binary_cross_entropy_with_logits(outputs[..., 0], batch.targets[..., 0].to(outputs.dtype),
                                                reduction="none")
    return losses * scored.to(outputs.dtype)


def stream_bits(batch_size: int, lines: int, begin: int, end: int, seed: int) -> Tensor:
    """(end − begin, B, lines) int64: the bits of steps [begin, end) of ``batch_size`` streams fixed by ``seed``,
    drawn block by block (block k from a generator seeded seed · stride + k), so they depend on the position
    alone, not on how the stream is cut."""
    if end <= begin:
        return torch.zeros(0, batch_size, lines, dtype=torch.long)
    blocks = []
    for block in range(begin // BLOCK, (end - 1) // BLOCK + 1):
        generator = torch.Generator().manual_seed((seed * _SEED_STRIDE + block) % 2**63)
        blocks.append(torch.randint(0, 2, (BLOCK, batch_size, lines), generator=generator))
    bits = torch.cat(blocks)  # (blocks · BLOCK, B, L), from step (begin // BLOCK) · BLOCK
    offset = (begin // BLOCK) * BLOCK
    return bits[begin - offset : end - offset]
