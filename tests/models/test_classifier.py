"""SequenceClassifier reads out at each sequence's own last real step."""

import pytest
import torch

from rnnlab.models import SequenceClassifier


@pytest.mark.parametrize("cell", ["lstm", "gru", "gru1"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_readout_sees_the_last_real_step(cell, bidirectional):
    torch.manual_seed(0)
    model = SequenceClassifier(cell, 3, 5, 4, num_layers=2, bidirectional=bidirectional).double()
    x = torch.randn(7, 3, 3, dtype=torch.float64)
    lengths = torch.tensor([7, 2, 5])
    logits, _ = model(x, lengths)
    assert logits.shape == (3, 4)
    for b, n in enumerate(lengths.tolist()):  # each sequence alone, cut at its length
        alone, _ = model(x[:n, b : b + 1])
        assert torch.allclose(logits[b], alone[0], atol=1e-12)


def test_state_carries_between_chunks():
    torch.manual_seed(0)
    model = SequenceClassifier("gru", 2, 4, 1).double()
    x = torch.randn(6, 2, 2, dtype=torch.float64)
    whole, _ = model(x)
    _, state = model(x[:4])
    rest, _ = model(x[4:], state=state)
    assert torch.allclose(whole, rest, atol=1e-12)
