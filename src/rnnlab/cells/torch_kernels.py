"""torch's fused whole-sequence kernels (oneDNN on CPU, cuDNN on GPU), called directly.

These are the kernels behind torch.nn.RNN/LSTM/GRU: ``torch._VF.{lstm, gru,
rnn_tanh, rnn_relu}``.  They take every layer and direction at once, with the
weights as one flat list in torch.nn's order (per layer and direction: w_ih,
w_hh, [b_ih, b_hh], [w_hr]).  Padded input with ``lengths`` is packed first, as
torch.nn does for a PackedSequence, so that each sequence stops at its own end.
"""

from __future__ import annotations

import torch
from torch import Tensor
from .base import RecurrentCell, State, map_state
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

_KERNELS = {
    "LSTM": torch._VF.lstm,
    "GRU": torch._VF.gru,
    "RNN_TANH": torch._VF.rnn_tanh,
    "RNN_RELU": torch._VF.rnn_relu,
}


def run_torch_kernel(
    mode: str,
    x: Tensor,
    hx: Tensor | tuple[Tensor, Tensor],
    weights: list[Tensor],
    *,
    has_biases: bool,
    num_layers: int,
    dropout: float,
    training: bool,
    bidirectional: bool,
    lengths: Tensor | None = None,
) -> tuple[Tensor, Tensor | tuple[Tensor, Tensor]]:
    """x (T, B, H_in); hx (L·D, B, H) or (h0, c0) for LSTM -> (y (T, B, D·H_out), h_n or (h_n, c_n)).

    With ``lengths``, y is zero at padded positions and the final state of
    each sequence is taken at its own last step.
    """
    kernel = _KERNELS[mode]
    is_lstm = mode == "LSTM"
    hx_arg = tuple(hx) if is_lstm else hx
    if lengths is None:
        result = kernel(x, hx_arg, weights, has_biases, num_layers, dropout, training, bidirectional, False)
        return result[0], (tuple(result[1:]) if is_lstm else result[1])
    if not bidirectional:
        return _run_by_length_groups(kernel, is_lstm, x, hx_arg, weights, lengths, has_biases=has_biases,
                                     num_layers=num_layers, dropout=dropout, training=training)
    packed = pack_padded_sequence(x, lengths.cpu(), enforce_sorted=False)
    order, restore = packed.sorted_indices, packed.unsorted_indices
    hx_sorted = tuple(h.index_select(1, order) for h in hx_arg) if is_lstm else hx_arg.index_select(1, order)
    result = kernel(packed.data, packed.batch_sizes, hx_sorted, weights, has_biases, num_layers, dropout,
                    training, bidirectional)
    y, _ = pad_packed_sequence(PackedSequence(result[0], packed.batch_sizes, order, restore), total_length=x.shape[0])
    states = tuple(s.index_select(1, restore) for s in result[1:])
    return y, (states if is_lstm else states[0])



def _run_by_length_groups(kernel, is_lstm: bool, x: Tensor, hx, weights: list[Tensor], lengths: Tensor, *,
                          has_biases: bool, num_layers: int, dropout: float, training: bool):
    """A padded batch in one direction, without packing: the sequences sorted longest first, the
    kernel runs steps 0..L_1 of all of them (L_1 the shortest length), then steps L_1..L_2 of those
    still running, and so on, each segment continuing from the state where the previous one ended;
    a sequence's final state is the state at its own last step.  The same values as packing, but
    the backward pass is that of plain padded segments: torch's packed backward on CPU grows much
    faster than T (LSTM 16, batch 32: 0.75 s at T = 600 against 0.04 s padded, torch 2.13).
    Segments: one per distinct length, the steps of the batch in total."""
    steps, batch = x.shape[0], x.shape[1]
    lengths = lengths.to(x.device)
    order = torch.argsort(lengths, descending=True, stable=True)  # longest first: the running ones lead
    restore = torch.argsort(order)
    sorted_lengths = lengths[order]
    fields = [h.index_select(1, order) for h in (hx if is_lstm else (hx,))]  # (L·D, B, H) each
    x = x.index_select(1, order)
    pieces, finished = [], []  # outputs per segment (padded to B); final states, shortest first
    start = 0
    for end in torch.unique(sorted_lengths).tolist():  # ascending
        running = int((sorted_lengths > start).sum())  # the first `running` sequences reach step `start`
        state = tuple(f[:, :running] for f in fields)
        result = kernel(x[start:end, :running], state if is_lstm else state[0], weights, has_biases, num_layers,
                        dropout, training, False, False)
        y = result[0]  # (end − start, running, H_out)
        pieces.append(torch.cat([y, y.new_zeros(y.shape[0], batch - running, y.shape[2])], dim=1))
        fields = list(result[1:])
        done = int((sorted_lengths == end).sum())  # the last `done` of the running ones end here
        finished.append(tuple(f[:, running - done:] for f in fields))
        start = end
    if start < steps:  # steps past every sequence's end: zeros
        pieces.append(x.new_zeros(steps - start, batch, pieces[-1].shape[2]))
    y = torch.cat(pieces).index_select(1, restore)
    finals = tuple(torch.cat([group[k] for group in reversed(finished)], dim=1).index_select(1, restore)
                   for k in range(len(finished[0])))  # longest first again, then the caller's order
    return y, (finals if is_lstm else finals[0])


class TorchKernelCell(RecurrentCell):
    """A cell that torch's fused kernel ``torch_kernel`` computes exactly.

    Parameters are named as in torch.nn (weight_ih, weight_hh, bias_ih, bias_hh,
    weight_hr) and ``flat_weights`` lists them in torch.nn's order.  ``sequence``
    runs one layer on the fused kernel.
    """

    def flat_weights(self) -> list[Tensor]:
        names = ["weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"]
        return [getattr(self, n) for n in names if getattr(self, n, None) is not None]

    @property
    def has_biases(self) -> bool:
        return getattr(self, "bias_ih", None) is not None

    def sequence(self, x: Tensor, state: State, lengths: Tensor | None = None) -> tuple[Tensor, State]:
        if not self.uses_torch_kernel(x):
            return super().sequence(x, state, lengths)
        stacked = map_state(lambda s: s.unsqueeze(0), state)
        y, final = run_torch_kernel(self.torch_kernel, x, stacked, self.flat_weights(), has_biases=self.has_biases,
                                    num_layers=1, dropout=0.0, training=self.training, bidirectional=False,
                                    lengths=lengths)
        final = [f.squeeze(0) for f in (final if isinstance(final, tuple) else (final,))]
        return y, self.state_from_fields(final)
