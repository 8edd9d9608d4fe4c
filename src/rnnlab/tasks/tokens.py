"""Shared helpers of the tasks whose targets are token sequences (output_kind "sequence" and "generate").

The protocol (``base.py``): a target sequence is a list of output symbols followed by
EOS and padded with PAD, time-major, (T_out, B) int64; ``Batch.target_lengths`` (B,)
counts each target's tokens *with* its EOS.  The output vocabulary starts with PAD,
BOS and EOS (ids 0, 1, 2); a task's own symbols follow from id 3 on.  Token inputs use
id 0 for padding and their symbols from id 1 on.

The model's outputs are logits (T_out, B, V) with V = the task's ``output_size``:
``logits[t]`` is the distribution of ``targets[t]``.  Whether the decoder was fed the
true previous tokens (teacher forcing) or its own (free running) is the model's
business; these helpers score whatever logits they are given, step t against target t.

    masked_cross_entropy   mean −log p(target token) over the real tokens, EOS included
    exact_match            (B,) bool: every real token, EOS included, is the argmax
    token_accuracy         fraction of the real tokens that are the argmax
    token_metrics          the three, as a task's ``metrics`` returns them
    token_targets          lists of symbol ids -> padded (T_out, B) targets with EOS, and their lengths
    pad_tokens             lists of input ids -> padded (T, B) inputs, and their lengths
    output_vocabulary      the names of a task's output symbols, with "<pad>", "<bos>", "<eos>" first
    decode                 a target or prediction column back to text, up to its EOS

Tokens past ``target_lengths`` (the PADs) are never scored, whatever the logits say there.

Each token task also gives ``output_symbols`` (the name of every output id, for
``decode``) and ``max_target_length`` (the longest T_out it can ask for, EOS included:
how long a free-running decoder may write).
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from .base import BOS, EOS, PAD, Batch

SPECIALS = ("<pad>", "<bos>", "<eos>")  # the names of ids PAD, BOS, EOS in an output vocabulary
FIRST_SYMBOL = 3  # a task's first own output symbol has this id (after PAD, BOS and EOS)


# ---- building batches ----------------------------------------------------------------------------

def output_vocabulary(symbols: Sequence[str]) -> tuple[str, ...]:
    """("<pad>", "<bos>", "<eos>", *symbols): the name of every output id, for ``decode``."""
    symbols = tuple(symbols)
    if len(set(symbols)) != len(symbols) or set(symbols) & set(SPECIALS):
        raise ValueError(f"output symbols must be distinct and none of {SPECIALS}; got {symbols!r}")
    return SPECIALS + symbols


def token_targets(sequences: Sequence[Sequence[int]]) -> tuple[Tensor, Tensor]:
    """Padded targets from lists of output symbol ids (each >= 3, without EOS).

    Returns targets (T_out, B) int64, each column the symbols then EOS then PAD, with
    T_out = the longest list + 1, and target_lengths (B,) int64, each list's length + 1.

    >>> targets, target_lengths = token_targets([[5, 6], [7]])
    >>> targets.T.tolist(), target_lengths.tolist()
    ([[5, 6, 2], [7, 2, 0]], [3, 2])
    """
    padded, lengths = _pad("token_targets", sequences, steps_extra=1, minimum_id=FIRST_SYMBOL)
    padded[lengths, torch.arange(len(lengths))] = EOS
    return padded, lengths + 1


def pad_tokens(sequences: Sequence[Sequence[int]]) -> tuple[Tensor, Tensor]:
    """Padded token inputs from lists of input ids (each >= 1): (T, B) int64 with 0 past each
    list's end, T = the longest list, and lengths (B,) int64.

    >>> inputs, lengths = pad_tokens([[3, 1, 4], [2]])
    >>> inputs.T.tolist(), lengths.tolist()
    ([[3, 1, 4], [2, 0, 0]], [3, 1])
    """
    return _pad("pad_tokens", sequences, steps_extra=0, minimum_id=1)


def _pad(caller: str, sequences: Sequence[Sequence[int]], *, steps_extra: int,
         minimum_id: int) -> tuple[Tensor, Tensor]:
    if isinstance(sequences, (str, bytes)) or not isinstance(sequences, Sequence) or len(sequences) == 0:
        raise ValueError(f"{caller} takes a non-empty list of lists of token ids; got {sequences!r}")
    columns = [torch.as_tensor(s, dtype=torch.int64).reshape(-1) for s in sequences]  # B of (L_b,)
    for b, column in enumerate(columns):
        if len(column) and int(column.min()) < minimum_id:
            reserved = "PAD, BOS and EOS" if minimum_id == FIRST_SYMBOL else "padding"
            raise ValueError(f"{caller}: token ids must be >= {minimum_id} (smaller ids are reserved for "
                             f"{reserved}); sequence {b} is {column.tolist()}")
    lengths = torch.tensor([len(c) for c in columns], dtype=torch.int64)  # (B,)
    padded = torch.zeros(int(lengths.max()) + steps_extra, len(columns), dtype=torch.int64)  # (T, B)
    for b, column in enumerate(columns):  # tasks build tables once with this, or vectorise their sampling
        padded[: len(column), b] = column
    return padded, lengths


def decode(tokens: Tensor | Sequence[int], vocabulary: Sequence[str], separator: str = "") -> str:
    """The names of ``tokens`` (one column, (T_out,)) up to their first EOS, skipping PAD and BOS.

    >>> decode([4, 3, 2, 0], output_vocabulary("ab"))
    'ba'
    """
    names = []
    for token in (tokens.tolist() if isinstance(tokens, Tensor) else tokens):
        if token == EOS:
            break
        if token not in (PAD, BOS):
            names.append(vocabulary[token])
    return separator.join(names)


# ---- checks ---------------------------------------------------------------------------------------

def check_token_logits(task: str, logits: Tensor, batch: Batch, vocab_size: int) -> None:
    """Refuse logits that are not (T_out, B, vocab_size) for the targets of ``batch``, or a batch
    without ``target_lengths``."""
    if batch.target_lengths is None:
        raise ValueError(f"task {task!r} scores token targets and needs Batch.target_lengths; the batch has None")
    expected = (*batch.targets.shape, vocab_size)
    if not isinstance(logits, Tensor) or tuple(logits.shape) != expected:
        got = tuple(logits.shape) if isinstance(logits, Tensor) else type(logits).__name__
        raise ValueError(f"task {task!r} expects logits of shape (T_out, B, {vocab_size}) = {expected}, "
                         f"one step per target token; got {got}")


def target_mask(targets: Tensor, target_lengths: Tensor) -> Tensor:
    """(T_out, B) bool on the device of ``targets``: True at the real tokens, EOS included."""
    steps = torch.arange(targets.shape[0], device=targets.device).unsqueeze(1)  # (T_out, 1)
    return steps < target_lengths.to(targets.device).unsqueeze(0)  # (T_out, B)


# ---- loss and metrics -----------------------------------------------------------------------------

def masked_cross_entropy(logits: Tensor, targets: Tensor, target_lengths: Tensor) -> Tensor:
    """Scalar: the mean over every real token of the batch (EOS included, PAD excluded) of
    −log softmax(logits[t, b])[targets[t, b]].  Each token counts once, so a long target
    weighs more than a short one (as ``F.cross_entropy(..., ignore_index=PAD)``).

    logits (T_out, B, V), targets (T_out, B) int64, target_lengths (B,) int64.
    """
    mask = target_mask(targets, target_lengths)  # (T_out, B)
    losses = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="none")  # (T_out·B,)
    return (losses * mask.flatten()).sum() / mask.sum()


def exact_match(logits: Tensor, targets: Tensor, target_lengths: Tensor) -> Tensor:
    """(B,) bool: True where the argmax of the logits equals the target at every real step, the
    EOS included (a right answer that does not stop is wrong); steps past the EOS do not count."""
    wrong = (logits.argmax(dim=2) != targets) & target_mask(targets, target_lengths)  # (T_out, B)
    return ~wrong.any(dim=0)  # (B,)


def token_accuracy(logits: Tensor, targets: Tensor, target_lengths: Tensor) -> Tensor:
    """Scalar: the fraction of the real tokens of the batch (EOS included) where the argmax of the
    logits is the target, pooled over the batch (each token counts once)."""
    mask = target_mask(targets, target_lengths)  # (T_out, B)
    right = (logits.argmax(dim=2) == targets) & mask  # (T_out, B)
    return right.sum() / mask.sum()


def token_metrics(task: str, logits: Tensor, batch: Batch, vocab_size: int) -> dict[str, float]:
    """``loss`` (``masked_cross_entropy``), ``exact_match`` (the fraction of the batch's sequences),
    ``token_accuracy`` and ``count`` (B), for the logits (T_out, B, vocab_size) of ``batch``."""
    check_token_logits(task, logits, batch, vocab_size)
    logits = logits.detach()
    targets, lengths = batch.targets, batch.target_lengths
    return {
        "loss": float(masked_cross_entropy(logits, targets, lengths)),
        "exact_match": float(exact_match(logits, targets, lengths).float().mean()),
        "token_accuracy": float(token_accuracy(logits, targets, lengths)),
        "count": targets.shape[1],
    }


def token_loss(task: str, logits: Tensor, batch: Batch, vocab_size: int) -> Tensor:
    """``masked_cross_entropy`` after checking the logits' shape (a task's ``loss``)."""
    check_token_logits(task, logits, batch, vocab_size)
    return masked_cross_entropy(logits, batch.targets, batch.target_lengths)
