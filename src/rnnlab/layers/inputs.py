"""Everything about the time axis a layer accepts: layouts, lengths, packing, reversal.

Inside a layer every input is padded time-major, (T, B, H_in), with optional
``lengths`` (B,) in the caller's batch order.  ``prepare_input`` brings any
accepted input there (checking it first), ``finish_output`` brings the output
back to the caller's layout.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence


@dataclass
class PreparedInput:
    x: Tensor  # (T, B, H_in)
    lengths: Tensor | None  # (B,) int64 on x's device, or None: every sequence is T long
    batched: bool  # False for an unbatched (L, H_in) input
    packed: PackedSequence | None  # the caller's PackedSequence, to pack the output alike


def prepare_input(owner: str, input, lengths, *, input_size: int, batch_first: bool,
                  dtype: torch.dtype) -> PreparedInput:
    """Check ``input`` and ``lengths`` and return them padded and time-major."""
    if isinstance(input, PackedSequence):
        if lengths is not None:
            raise ValueError(f"{owner}: lengths= cannot be given with a PackedSequence input, which carries its own")
        _check_features(owner, input.data, input_size, dtype, packed=True)
        x, seq_lengths = pad_packed_sequence(input)  # (T, B, H_in), lengths in the caller's order
        return PreparedInput(x, seq_lengths.to(x.device), True, input)
    if not isinstance(input, Tensor):
        raise TypeError(f"{owner} expects input as a Tensor or a PackedSequence; got {type(input).__name__}")
    if input.dim() not in (2, 3) or input.shape[-1] != input_size:
        raise ValueError(
            f"{owner} expects input of shape (L, N, {input_size}), (N, L, {input_size}) with batch_first=True, "
            f"or unbatched (L, {input_size}); got {tuple(input.shape)}")
    _check_features(owner, input, input_size, dtype, packed=False)
    batched = input.dim() == 3
    x = input if batched else input.unsqueeze(1)
    if batched and batch_first:
        x = x.transpose(0, 1)
    if x.shape[0] == 0:
        raise ValueError(f"{owner}: input has no time steps; got shape {tuple(input.shape)}")
    return PreparedInput(x, _check_lengths(owner, lengths, x.shape[0], x.shape[1], x.device), batched, None)


def _check_features(owner: str, data: Tensor, input_size: int, dtype: torch.dtype, *, packed: bool) -> None:
    if not data.is_floating_point():
        raise TypeError(f"{owner} expects floating-point input; got dtype {data.dtype} (convert it with .to({dtype}))")
    if data.dtype != dtype:
        raise TypeError(f"{owner}: input dtype {data.dtype} does not match the parameters' dtype {dtype}")
    if packed and (data.dim() != 2 or data.shape[-1] != input_size):
        raise ValueError(f"{owner} expects PackedSequence data of shape (sum of lengths, {input_size}); "
                         f"got {tuple(data.shape)}")


def _check_lengths(owner: str, lengths, steps: int, batch: int, device) -> Tensor | None:
    if lengths is None:
        return None
    if isinstance(lengths, (list, tuple)):
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in lengths):
            raise TypeError(f"{owner}: lengths must be integers; got {lengths!r}")
        lengths = torch.tensor(lengths, dtype=torch.long)
    if not isinstance(lengths, Tensor):
        raise TypeError(f"{owner}: lengths must be a 1-D tensor or list of integers; got {type(lengths).__name__}")
    if lengths.dim() != 1 or lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
        raise TypeError(f"{owner}: lengths must be a 1-D tensor of integers; "
                        f"got dtype {lengths.dtype} and shape {tuple(lengths.shape)}")
    if lengths.numel() != batch:
        raise ValueError(f"{owner}: lengths must have one entry per sequence (N={batch}); got {lengths.numel()}")
    low, high = int(lengths.min()), int(lengths.max())
    if low < 1 or high > steps:
        raise ValueError(f"{owner}: lengths must lie in [1, L={steps}]; got values from {low} to {high}")
    return lengths.to(device=device, dtype=torch.long)


def finish_output(y: Tensor, prep: PreparedInput, batch_first: bool) -> Tensor | PackedSequence:
    """(T, B, H_out) -> the caller's layout: packed like the input, batch-first, or unbatched."""
    if prep.packed is not None:
        packed = prep.packed
        order = packed.sorted_indices
        y_sorted = y if order is None else y.index_select(1, order)
        lengths_sorted = prep.lengths.cpu() if order is None else prep.lengths.cpu()[order.cpu()]
        data = pack_padded_sequence(y_sorted, lengths_sorted, enforce_sorted=True).data
        return PackedSequence(data, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices)
    if not prep.batched:
        return y.squeeze(1)
    return y.transpose(0, 1) if batch_first else y


def padding_mask(lengths: Tensor, steps: int) -> Tensor:
    """(T, B, 1) bool, True at real positions."""
    return (torch.arange(steps, device=lengths.device).unsqueeze(1) < lengths).unsqueeze(2)


def reverse_padded(x: Tensor, lengths: Tensor | None) -> Tensor:
    """Reverse each sequence of x (T, B, ...) within its own length; padding stays where it is."""
    if lengths is None:
        return x.flip(0)
    steps = x.shape[0]
    t = torch.arange(steps, device=x.device).unsqueeze(1)  # (T, 1)
    index = torch.where(t < lengths, lengths - 1 - t, t)  # (T, B)
    index = index.view(steps, -1, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(0, index)
