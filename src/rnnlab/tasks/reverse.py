"""Sequence reversal: read a string of random symbols, write it back in reverse order (N→M).

The toy problem of encoder-decoder models.  Sutskever, Vinyals & Le (2014), "Sequence
to sequence learning with neural networks", section 3.3 "Reversing the source
sentences", found that an LSTM translates better when it reads its source backwards:
the first words of the output then sit close to the words they depend on.  Reversal as
a task in its own right, the decoder writing the source backwards, is the classic first
exercise of seq2seq tutorials: an encoder must carry the whole string in its state, and
the output's first token depends on the input's last one, so it is learnable but not by
copying step by step.

* a source is ``length`` symbols drawn uniformly and independently from ``symbols``
  symbols, the length uniform in ``min_length..max_length`` (both included);
* inputs are token ids (T, B) int64: symbol s is id s + 1, id 0 is padding
  (``input_vocab`` = symbols + 1); ``Batch.lengths`` holds the true lengths;
* the target is the source reversed, in the output vocabulary PAD, BOS, EOS, then the
  symbols (symbol s is output id s + 3), followed by EOS: (T_out, B) int64 with
  T_out = the longest source + 1, PAD after each EOS; ``Batch.target_lengths`` = length + 1.

Worked example (symbols = 10, one source of length 5):

    source   3 0 7 7 2          the symbols
    inputs   4 1 8 8 3          ids s + 1 (0 would be padding)
    target   2 7 7 0 3 <eos>    the source backwards
    targets  5 10 10 3 6 2      ids s + 3, then EOS = 2

Metrics: ``loss`` (cross-entropy per target token, ``tokens.masked_cross_entropy``),
``exact_match`` (the whole output right, EOS included) and ``token_accuracy``.

Where this departs from the paper, and why: the paper reverses natural-language source
sentences as a trick of translation; there is no "reverse task" in it to copy settings
from.  The defaults (10 symbols, lengths 5..15) are those of the common tutorials: long
enough that memorising pairs is hopeless (10^5 to 10^15 sources), short enough for a
small LSTM encoder-decoder to learn in minutes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .base import EOS, PAD, Batch, Task, check_config_int, lengths_mask
from .registry import register
from .tokens import FIRST_SYMBOL, output_vocabulary, token_loss, token_metrics


@register
class ReverseTask(Task):
    """Reverse a random symbol string (seq2seq toy task; source reversal of Sutskever et al. 2014, §3.3).

    Inputs (T, B) token ids, targets (T + 1, B) the reversed symbols then EOS; see the module docstring.
    """

    @dataclass
    class Config:
        """Settings of the reversal task; the defaults are the common tutorials' (no paper fixes them)."""

        symbols: int = 10  # size of the source alphabet
        min_length: int = 5  # source lengths are drawn uniformly from min_length..max_length
        max_length: int = 15

    name = "reverse"
    recommended = {"*": {"model.attention": True, "train.steps": 3000, "train.eval_size": 2000}}
    output_kind = "sequence"
    main_metric = "exact_match"
    main_metric_goal = "max"

    def __init__(self, config: Config | None = None) -> None:
        super().__init__(config)
        symbols = self.config.symbols
        self.input_vocab = symbols + 1  # id 0 is padding, symbol s is id s + 1
        self.input_size = self.input_vocab  # a model that one-hot encodes the ids reads this many features
        self.output_size = symbols + FIRST_SYMBOL  # PAD, BOS, EOS, then the symbols
        names = [str(s) for s in range(symbols)]
        self.input_symbols = ("<pad>", *names)  # the name of every input id
        self.output_symbols = output_vocabulary(names)  # the name of every output id (tokens.decode)
        self.max_target_length = self.config.max_length + 1  # longest T_out, EOS included (bounds free decoding)

    def validate(self, config: Config) -> None:
        check_config_int(self.name, "symbols", config.symbols, minimum=1)
        check_config_int(self.name, "min_length", config.min_length, minimum=1)
        check_config_int(self.name, "max_length", config.max_length, minimum=config.min_length,
                         why=f"min_length = {config.min_length}")

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        self.check_sample_args(batch_size, generator)
        c, B = self.config, batch_size
        lengths = torch.randint(c.min_length, c.max_length + 1, (B,), generator=generator)  # (B,)
        steps = int(lengths.max())
        symbols = torch.randint(0, c.symbols, (steps, B), generator=generator)  # (T, B)
        real = lengths_mask(lengths, steps)  # (T, B)
        inputs = (symbols + 1) * real  # (T, B) ids, 0 past each length

        # targets[t, b] = symbols[lengths[b] - 1 - t, b] for t < lengths[b], then EOS, then PAD.
        t = torch.arange(steps + 1).unsqueeze(1)  # (T + 1, 1)
        source_step = (lengths - 1 - t).clamp(min=0)  # (T + 1, B), clamped where it is not used
        reversed_symbols = symbols.gather(0, source_step.clamp(max=steps - 1))  # (T + 1, B)
        targets = torch.where(t < lengths, reversed_symbols + FIRST_SYMBOL, PAD)  # (T + 1, B)
        targets = torch.where(t == lengths, EOS, targets)
        fixed_length = c.min_length == c.max_length
        return Batch(inputs=inputs, targets=targets, lengths=None if fixed_length else lengths,
                     target_lengths=lengths + 1)

    def loss(self, outputs: Tensor, batch: Batch) -> Tensor:
        """Mean cross-entropy per target token of the logits ``outputs`` (T_out, B, symbols + 3)."""
        return token_loss(self.name, outputs, batch, self.output_size)

    def metrics(self, outputs: Tensor, batch: Batch) -> dict[str, float]:
        """``loss``, ``exact_match``, ``token_accuracy`` and ``count`` of the logits (T_out, B, symbols + 3)."""
        return token_metrics(self.name, outputs, batch, self.output_size)
