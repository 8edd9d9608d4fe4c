"""The token decoder that Seq2Seq (N→M) and SequenceGenerator (1→N) share, and how it runs.

A conditional language model over the output vocabulary, one token at a time
(Sutskever, Vinyals & Le 2014, eq. 1; Cho et al. 2014, §2.2):

    x_t = [E y_{t−1} ; c ; c_t]                    y_0 = BOS; each part optional
    s_t = f(s_{t−1}, x_t)                          a stack of one-step cells (rnnlab.cells)
    p(y_t | y_<t, ·) = softmax(W_o s_t + b_o)      s_t: the top layer's output

E y_{t−1} embeds the previous token (the "feedback"), c is a fixed context vector
fed at every step (Cho et al. 2014's decoder, §2.2), c_t the attention context of
Bahdanau et al. (2015, eq. 5) computed from s_{t−1} (models/attention.py).  When
x_t has no part at all, it is a single constant zero feature, so the cells see only
their biases.

Departure from Cho et al. (2014) and Bahdanau et al. (2015): the readout sees s_t
alone, not also y_{t−1} and c (their g(y_{t−1}, s_t, c), with a maxout layer).

``DecodingModel`` runs the decoder for both models (``forward`` and ``decode``):

* with targets, in training: teacher forcing (Williams & Zipser 1989) with ratio
  ρ = ``teacher_forcing``: the input of step t > 1 is the true y_{t−1} with
  probability ρ, else the model's own argmax prediction, one draw per sequence
  and step from torch's global RNG (``torch.rand``), as in scheduled sampling
  (Bengio et al. 2015).  ρ = 1 and ρ = 0 draw nothing.
* with targets, not training: the model's own argmax at every step, for exactly
  T_out steps, so that logits line up with the targets.
* without targets: greedy, until every sequence has emitted EOS or after
  ``max_length`` steps.

Each sequence's state stops changing after its last step (its target's EOS, or its
own first EOS without targets), so the final state is the one at its end.  Logits
past a sequence's end are computed but mean nothing; score only up to the EOS.

When every input x_t is known in advance (teacher forcing with ρ = 1 in training,
or no feedback) and there is no attention, the whole target runs through the
stack in one call of ``Recurrent``, on the fused kernels where the cell has one.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..cells.base import map_state
from ..layers import Recurrent
from ..vocabulary import BOS, EOS, PAD
from .attention import AdditiveAttention, AttentionMemory
from .beam_search import beam_search

CONTEXTS = ("state", "input", "both")  # how the conditioning vector enters the decoder


class DecoderState(NamedTuple):
    """Everything the decoder carries from step to step, batch first (so that a beam search can reorder it)."""

    layers: tuple  # one cell state per layer: (B, H), or the cell's NamedTuple, e.g. LSTMState((B, H_out), (B, H))
    context: Tensor | None  # (B, C): c, fed at every step; None when not fed
    memory: AttentionMemory | None  # the encoder's annotations for attention; None without attention


def hidden(layer_state) -> Tensor:
    """h (B, H_out) of one layer's state: the state itself, or its first field (LSTMState.h)."""
    return layer_state if isinstance(layer_state, Tensor) else layer_state[0]


class TokenDecoder(nn.Module):
    """The decoder above: an optional token embedding, a stack of cells, a linear readout.

    Args:
        cell: a name from ``rnnlab.cells.available()``.
        output_size: V, symbols of the output vocabulary (PAD, BOS, EOS first).
        hidden_size, num_layers, dropout, **cell_options: of the stack, as in ``Recurrent``.
        embedding_size: size of E y_{t−1}; None: no feedback of the previous token.
        context_size: size of c, fed at every step; 0: none.
        attention_key_size: size of the annotations to attend to; 0: no attention.  The alignment
            model then has attention_size = hidden_size (n' = n in Bahdanau et al. 2015, A.1.2).

    The stack is a ``Recurrent`` (torch.nn parameter names); ``step`` runs its cells one
    step at a time, ``teacher_forced`` runs the stack on a whole known input.
    """

    def __init__(self, cell: str, output_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0, *,
                 embedding_size: int | None = None, context_size: int = 0, attention_key_size: int = 0,
                 **cell_options) -> None:
        super().__init__()
        self.embedding = nn.Embedding(output_size, embedding_size) if embedding_size else None
        self.step_input_size = (embedding_size or 0) + context_size + attention_key_size  # 0: a constant zero input
        self.stack = Recurrent(cell, max(self.step_input_size, 1), hidden_size, num_layers=num_layers,
                               dropout=dropout, **cell_options)
        top = self.stack.output_size  # H_out of the top layer: s_t
        self.attention = AdditiveAttention(top, attention_key_size, hidden_size) if attention_key_size else None
        self.readout = nn.Linear(top, output_size)  # W_o, b_o
        self.fast_paths = True  # False: always step by step (for tests)

    # ---- states --------------------------------------------------------------------------------
    @property
    def state_sizes(self) -> tuple[int, ...]:
        """Last dimension of each field of a layer's state (e.g. (H_out, H) for the LSTM's h and c)."""
        return self.stack.cells[0].state_sizes

    def zero_layers(self, batch_size: int, like: Tensor) -> tuple:
        """Zero state of every layer, with the dtype and device of ``like``."""
        return tuple(cell.state_from_fields([like.new_zeros(batch_size, n) for n in self.state_sizes])
                     for cell in self.stack.cells)

    def unstack(self, h_n) -> tuple:
        """``Recurrent``'s layout, (L, B, n) per field, -> one state per layer."""
        fields = [h_n] if isinstance(h_n, Tensor) else list(h_n)
        return tuple(cell.state_from_fields([f[k] for f in fields]) for k, cell in enumerate(self.stack.cells))

    def stacked(self, layers: tuple):
        """One state per layer -> ``Recurrent``'s layout: (L, B, H), or e.g. LSTMState((L, B, H_out), (L, B, H))."""
        if isinstance(layers[0], Tensor):
            return torch.stack(layers)  # (L, B, H)
        return type(layers[0])(*(torch.stack(field) for field in zip(*layers)))

    # ---- running -----------------------------------------------------------------------------------
    def step(self, tokens: Tensor, state: DecoderState) -> tuple[Tensor, DecoderState]:
        """tokens (B,) int64, y_{t−1} -> (logits (B, V), the state after step t)."""
        parts = []
        if self.embedding is not None:
            parts.append(self.embedding(tokens))  # (B, E)
        if state.context is not None:
            parts.append(state.context)  # (B, C)
        if self.attention is not None:
            attended, _ = self.attention(hidden(state.layers[-1]), state.memory)  # (B, K): c_t from s_{t−1}
            parts.append(attended)
        x = torch.cat(parts, dim=-1) if parts else hidden(state.layers[0]).new_zeros(tokens.shape[0], 1)  # (B, I)
        layers = []
        for k, (cell, layer_state) in enumerate(zip(self.stack.cells, state.layers)):
            if k > 0 and self.stack.dropout and self.training:
                x = F.dropout(x, self.stack.dropout, training=True)  # between layers, as Recurrent does
            x, layer_state = cell(x, layer_state)  # (B, H_out)
            if self.stack.step_hook is not None:  # the stack's own hook sees its cells' steps (Recurrent.step_hook)
                x, layer_state = self.stack.step_hook(k, x, layer_state)
            layers.append(layer_state)
        return self.readout(x), state._replace(layers=tuple(layers))

    def teacher_forced(self, previous: Tensor, state: DecoderState, lengths: Tensor) -> tuple[Tensor, DecoderState]:
        """previous (T, B) int64, y_0 … y_{T−1}, all known -> (logits (T, B, V), state at each sequence's end).

        lengths (B,): steps of each sequence (its state stops there; its logits past it are the readout's bias).
        Only without attention (c_t depends on s_{t−1}).
        """
        steps, batch = previous.shape
        parts = []
        if self.embedding is not None:
            parts.append(self.embedding(previous))  # (T, B, E)
        if state.context is not None:
            parts.append(state.context.unsqueeze(0).expand(steps, -1, -1))  # (T, B, C)
        x = torch.cat(parts, dim=-1) if parts else hidden(state.layers[0]).new_zeros(steps, batch, 1)  # (T, B, I)
        y, h_n = self.stack(x, self.stacked(state.layers), lengths=lengths)  # (T, B, H_out)
        return self.readout(y), state._replace(layers=self.unstack(h_n))


def unroll(decoder: TokenDecoder, state: DecoderState, steps: int, *, targets: Tensor | None = None,
           target_lengths: Tensor | None = None, teacher_forcing: float = 0.0) -> tuple[Tensor, DecoderState]:
    """Step by step from BOS -> (logits (T, B, V), final state); the feeding rules of the module docstring.

    With ``targets`` (T_out, B): exactly T_out steps, the true previous token fed with probability
    ``teacher_forcing``; without: greedy for at most ``steps`` steps, until every sequence emitted EOS.
    """
    batch = hidden(state.layers[0]).shape[0]
    device = hidden(state.layers[0]).device
    tokens = torch.full((batch,), BOS, dtype=torch.long, device=device)  # y_0
    finished = torch.zeros(batch, dtype=torch.bool, device=device)
    outputs = []
    steps = steps if targets is None else targets.shape[0]
    for t in range(steps):
        logits, new = decoder.step(tokens, state)  # (B, V)
        live = (t < target_lengths) if targets is not None else ~finished  # (B,)
        live = live.unsqueeze(1)  # (B, 1)
        layers = tuple(map_state(lambda a, b: torch.where(live, a, b), n, o) for n, o in zip(new.layers, state.layers))
        state = new._replace(layers=layers)
        outputs.append(logits)
        prediction = logits.argmax(dim=-1)  # (B,)
        if targets is None:
            finished = finished | (prediction == EOS)
            if bool(finished.all()):
                break
            tokens = prediction.masked_fill(finished, PAD)
        elif teacher_forcing == 1.0:
            tokens = targets[t]
        elif teacher_forcing == 0.0:
            tokens = prediction
        elif t + 1 < steps:
            truth = torch.rand(batch, device=device) < teacher_forcing  # (B,): one draw per sequence and step
            tokens = torch.where(truth, targets[t], prediction)
    return torch.stack(outputs), state  # (T, B, V)


def target_lengths(targets: Tensor) -> Tensor:
    """(T_out, B) tokens -> (B,) tokens up to and with the first EOS (T_out where there is none)."""
    is_eos = targets == EOS
    first = is_eos.long().argmax(dim=0)  # first EOS (argmax takes the first of equal maxima)
    return torch.where(is_eos.any(dim=0), first + 1, torch.full_like(first, targets.shape[0]))


def cut_at_eos(tokens: Tensor) -> tuple[Tensor, Tensor]:
    """(T, B) tokens -> (the same with PAD after each first EOS, lengths (B,) with the EOS)."""
    lengths = target_lengths(tokens)
    past = torch.arange(tokens.shape[0], device=tokens.device).unsqueeze(1) >= lengths  # (T, B)
    return tokens.masked_fill(past, PAD), lengths


class DecodingModel(nn.Module):
    """What Seq2Seq and SequenceGenerator share: the feeding rules, greedy decoding and beam search.

    A subclass sets ``self.decoder`` (a TokenDecoder), ``self.output_size``, ``self.max_length``
    and ``self.teacher_forcing``, and builds the decoder's initial ``DecoderState`` from its inputs.
    """

    decoder: TokenDecoder

    @property
    def teacher_forcing(self) -> float:
        """ρ: probability of feeding the true previous token in training (settable, e.g. for a schedule)."""
        return self._teacher_forcing

    @teacher_forcing.setter
    def teacher_forcing(self, value: float) -> None:
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 1:
            raise ValueError(f"teacher_forcing must be a number in [0, 1]; got {value!r}")
        self._teacher_forcing = float(value)

    def check_targets(self, targets: Tensor, batch: int) -> None:
        """ValueError unless targets is (T_out, B) int64 with symbols of the output vocabulary."""
        owner = type(self).__name__
        if not isinstance(targets, Tensor) or targets.dim() != 2 or targets.shape[1] != batch \
                or targets.shape[0] == 0 or targets.dtype != torch.long:
            got = f"{tuple(targets.shape)} {targets.dtype}" if isinstance(targets, Tensor) else type(targets).__name__
            raise ValueError(f"{owner} expects targets of shape (T_out >= 1, B={batch}) int64; got {got}")
        low, high = int(targets.min()), int(targets.max())
        if low < 0 or high >= self.output_size:
            raise ValueError(f"{owner}: target tokens must lie in [0, output_size={self.output_size}); "
                             f"got values from {low} to {high}")

    def check_decode_args(self, max_length, beam_size, length_penalty) -> int:
        """``max_length`` (None: the model's), or a ValueError naming the bad argument."""
        owner = type(self).__name__
        if max_length is None:
            max_length = self.max_length
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
            raise ValueError(f"{owner}: max_length must be an int >= 1; got {max_length!r}")
        if isinstance(beam_size, bool) or not isinstance(beam_size, int) or beam_size < 1:
            raise ValueError(f"{owner}: beam_size must be an int >= 1; got {beam_size!r}")
        if isinstance(length_penalty, bool) or not isinstance(length_penalty, numbers.Real) or length_penalty < 0:
            raise ValueError(f"{owner}: length_penalty must be a number >= 0; got {length_penalty!r}")
        return max_length

    def run_decoder(self, state: DecoderState, targets: Tensor | None) -> tuple[Tensor, object]:
        """-> (logits (T_out, B, V), the decoder's final state in ``Recurrent``'s layout)."""
        decoder = self.decoder
        if targets is None:
            logits, final = unroll(decoder, state, self.max_length)
        else:
            lengths = target_lengths(targets)
            ratio = self.teacher_forcing if self.training else 0.0
            inputs_known = decoder.embedding is None or ratio == 1.0
            if decoder.fast_paths and decoder.attention is None and inputs_known:
                bos = torch.full_like(targets[:1], BOS)
                logits, final = decoder.teacher_forced(torch.cat([bos, targets[:-1]]), state, lengths)  # (T_out, B, V)
            else:
                logits, final = unroll(decoder, state, targets.shape[0], targets=targets, target_lengths=lengths,
                                       teacher_forcing=ratio)
        return logits, decoder.stacked(final.layers)

    def decode_from(self, state: DecoderState, max_length: int, beam_size: int,
                    length_penalty: float) -> tuple[Tensor, Tensor]:
        """-> (tokens (T_out, B) int64, PAD after each EOS; lengths (B,) with the EOS, max_length when cut)."""
        if beam_size == 1:
            logits, _ = unroll(self.decoder, state, max_length)  # (T, B, V)
            return cut_at_eos(logits.argmax(dim=-1))
        batch = hidden(state.layers[0]).shape[0]
        best = beam_search(self.decoder.step, state, batch, beam_size, max_length, length_penalty=length_penalty)
        return best.tokens, best.lengths


def check_choice(owner: str, name: str, value, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{owner}: {name} must be one of {', '.join(map(repr, choices))}; got {value!r}")


def check_flag(owner: str, name: str, value) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{owner}: {name} must be a bool; got {value!r}")


def check_int(owner: str, name: str, value, minimum: int, why: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{owner}: {name} must be an int >= {minimum}{why}; got {value!r}")
