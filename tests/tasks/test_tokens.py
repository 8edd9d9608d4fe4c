"""Helpers of the token-target tasks (tasks/tokens.py): padded targets with EOS, masked cross-entropy,
exact match and token accuracy on hand-made logits, shape checks with their messages."""

from __future__ import annotations

import doctest
import math
import re

import pytest
import torch
import torch.nn.functional as F

import rnnlab.tasks.tokens as tokens
from rnnlab.tasks.base import BOS, EOS, PAD, Batch
from rnnlab.tasks.tokens import (check_token_logits, decode, exact_match, masked_cross_entropy, output_vocabulary,
                                 pad_tokens, target_mask, token_accuracy, token_loss, token_metrics, token_targets)


def test_doctests():
    assert doctest.testmod(tokens).failed == 0


def test_special_ids():
    assert (PAD, BOS, EOS) == (0, 1, 2)
    assert output_vocabulary(["x", "y"]) == ("<pad>", "<bos>", "<eos>", "x", "y")


# ---- building batches ----------------------------------------------------------------------------

def test_token_targets_end_with_eos_then_pad():
    targets, lengths = token_targets([[3, 4, 5], [], [9]])
    assert targets.dtype == torch.int64 and lengths.dtype == torch.int64
    assert targets.T.tolist() == [[3, 4, 5, EOS], [EOS, PAD, PAD, PAD], [9, EOS, PAD, PAD]]
    assert lengths.tolist() == [4, 1, 2]


def test_pad_tokens():
    inputs, lengths = pad_tokens([[1], [5, 6, 7], [2, 2]])
    assert inputs.shape == (3, 3) and inputs.dtype == torch.int64
    assert inputs.T.tolist() == [[1, 0, 0], [5, 6, 7], [2, 2, 0]]
    assert lengths.tolist() == [1, 3, 2]


@pytest.mark.parametrize("call, sequences, message", [
    (token_targets, [[3, 2]], "token_targets: token ids must be >= 3 (smaller ids are reserved for PAD, BOS and EOS); "
                              "sequence 0 is [3, 2]"),
    (pad_tokens, [[1], [0, 4]], "pad_tokens: token ids must be >= 1 (smaller ids are reserved for padding); "
                                "sequence 1 is [0, 4]"),
    (token_targets, [], "token_targets takes a non-empty list of lists of token ids; got []"),
    (pad_tokens, "abc", "pad_tokens takes a non-empty list of lists of token ids; got 'abc'"),
])
def test_bad_token_lists_are_refused(call, sequences, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call(sequences)


def test_output_vocabulary_refuses_duplicates_and_specials():
    for symbols in (["a", "a"], ["<eos>", "b"]):
        with pytest.raises(ValueError, match="output symbols must be distinct and none of"):
            output_vocabulary(symbols)


def test_decode_stops_at_eos_and_skips_pad_and_bos():
    vocabulary = output_vocabulary(["a", "b", " "])
    assert decode(torch.tensor([BOS, 3, 5, 4, EOS, 3, PAD]), vocabulary) == "a b"
    assert decode([3, 4], vocabulary, separator="-") == "a-b"  # no EOS: everything
    assert decode([EOS, 3], vocabulary) == ""


# ---- loss and metrics on hand-made logits -------------------------------------------------------

def logits_for(predictions, vocab=6, confidence=20.0):
    """(T_out, B, vocab) logits whose argmax is ``predictions`` (T_out, B)."""
    return F.one_hot(torch.tensor(predictions), vocab).float() * confidence


TARGETS, LENGTHS = token_targets([[3, 4, 5], [5]])  # columns 3 4 5 EOS / 5 EOS PAD PAD


def test_target_mask_covers_eos_not_pad():
    assert target_mask(TARGETS, LENGTHS).T.tolist() == [[True] * 4, [True, True, False, False]]


def test_perfect_logits_match_exactly():
    logits = logits_for(TARGETS.tolist())
    assert exact_match(logits, TARGETS, LENGTHS).tolist() == [True, True]
    assert token_accuracy(logits, TARGETS, LENGTHS).item() == 1.0
    assert masked_cross_entropy(logits, TARGETS, LENGTHS).item() < 1e-6


def test_what_happens_past_eos_does_not_count():
    predictions = TARGETS.clone()
    predictions[2:, 1] = 4  # garbage after the second column's EOS
    logits = logits_for(predictions.tolist())
    assert exact_match(logits, TARGETS, LENGTHS).tolist() == [True, True]
    assert token_accuracy(logits, TARGETS, LENGTHS).item() == 1.0
    assert masked_cross_entropy(logits, TARGETS, LENGTHS).item() < 1e-6


def test_a_missing_eos_or_one_wrong_token_is_not_a_match():
    """Column 0 writes its three symbols right but no EOS (5 instead); column 1 is right.
    Then column 0 right except its first token.  Token accuracy pools the 6 real tokens."""
    predictions = TARGETS.clone()
    predictions[3, 0] = 5
    logits = logits_for(predictions.tolist())
    assert exact_match(logits, TARGETS, LENGTHS).tolist() == [False, True]
    assert token_accuracy(logits, TARGETS, LENGTHS).item() == pytest.approx(5 / 6)

    predictions = TARGETS.clone()
    predictions[0, 0] = 4
    predictions[0, 1] = 3
    logits = logits_for(predictions.tolist())
    assert exact_match(logits, TARGETS, LENGTHS).tolist() == [False, False]
    assert token_accuracy(logits, TARGETS, LENGTHS).item() == pytest.approx(4 / 6)


def test_cross_entropy_of_uniform_logits_is_log_vocab():
    logits = torch.zeros(4, 2, 6)
    assert masked_cross_entropy(logits, TARGETS, LENGTHS).item() == pytest.approx(math.log(6))


def test_cross_entropy_is_the_mean_over_real_tokens():
    """Equals torch's cross-entropy that ignores PAD targets, computed independently."""
    logits = torch.randn(4, 2, 6, generator=torch.Generator().manual_seed(0))
    expected = F.cross_entropy(logits.reshape(8, 6), TARGETS.reshape(8), ignore_index=PAD)
    assert masked_cross_entropy(logits, TARGETS, LENGTHS).item() == pytest.approx(expected.item(), rel=1e-6)


def test_padded_steps_get_no_gradient():
    logits = torch.randn(4, 2, 6, requires_grad=True)
    masked_cross_entropy(logits, TARGETS, LENGTHS).backward()
    assert (logits.grad[2:, 1] == 0).all()
    assert (logits.grad[:, 0].abs().sum(1) > 0).all() and (logits.grad[:2, 1].abs().sum(1) > 0).all()


def test_token_metrics_and_loss():
    batch = Batch(inputs=torch.ones(3, 2, dtype=torch.int64), targets=TARGETS, lengths=None, target_lengths=LENGTHS)
    predictions = TARGETS.clone()
    predictions[0, 1] = 3
    logits = logits_for(predictions.tolist())
    got = token_metrics("demo", logits, batch, 6)
    assert got.keys() == {"loss", "exact_match", "token_accuracy", "count"}
    assert got["exact_match"] == 0.5 and got["token_accuracy"] == pytest.approx(5 / 6) and got["count"] == 2
    assert got["loss"] == pytest.approx(token_loss("demo", logits, batch, 6).item())


def test_logits_of_the_wrong_shape_or_a_batch_without_target_lengths_are_refused():
    batch = Batch(inputs=torch.ones(3, 2, dtype=torch.int64), targets=TARGETS, lengths=None, target_lengths=LENGTHS)
    for shape in [(3, 2, 6), (4, 2, 7), (4, 6)]:
        message = re.escape(f"task 'demo' expects logits of shape (T_out, B, 6) = (4, 2, 6), one step per target "
                            f"token; got {shape}")
        with pytest.raises(ValueError, match=message):
            check_token_logits("demo", torch.zeros(shape), batch, 6)
    batch.target_lengths = None
    with pytest.raises(ValueError, match="task 'demo' scores token targets and needs Batch.target_lengths"):
        token_loss("demo", torch.zeros(4, 2, 6), batch, 6)
