"""SequenceClassifier (N→1): readout at each sequence's own last real step, mean/max pooling over
real steps only, token inputs, and a small learning check."""

import pytest
import torch

from rnnlab.models import SequenceClassifier

CELLS = ["elman_tanh", "lstm", "gru", "gru1"]


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


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("pooling", ["last", "mean", "max"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_shapes(cell, pooling, bidirectional):
    torch.manual_seed(0)
    model = SequenceClassifier(cell, 3, 5, 4, num_layers=2, bidirectional=bidirectional, pooling=pooling)
    outputs, state = model(torch.randn(6, 2, 3), lengths=[6, 3])
    assert outputs.shape == (2, 4)
    h = state if isinstance(state, torch.Tensor) else state[0]
    assert h.shape == (2 * (2 if bidirectional else 1), 2, 5)
    tokens = SequenceClassifier(cell, None, 5, 4, bidirectional=bidirectional, pooling=pooling, input_vocab=9)
    outputs, _ = tokens(torch.randint(9, (6, 2)))
    assert outputs.shape == (2, 4)


def test_default_is_the_final_hidden_state():
    """pooling="last" reads the same vector as the layer's final state h_n (both directions)."""
    torch.manual_seed(0)
    model = SequenceClassifier("lstm", 3, 5, 4, num_layers=2, bidirectional=True).double()
    x = torch.randn(7, 3, 3, dtype=torch.float64)
    lengths = torch.tensor([4, 7, 1])
    logits, (h, _) = model(x, lengths)
    assert torch.allclose(logits, model.readout(torch.cat([h[-2], h[-1]], dim=-1)), atol=1e-12)


@pytest.mark.parametrize("cell", ["elman_tanh", "lstm", "gru1"])
@pytest.mark.parametrize("pooling", ["mean", "max"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_pooling_counts_real_steps_only(cell, pooling, bidirectional):
    """Each sequence of a padded batch pools exactly what it pools alone, whatever the padding holds,
    and that is the mean / max of the layer's outputs over its real steps."""
    torch.manual_seed(0)
    model = SequenceClassifier(cell, 3, 5, 4, num_layers=2, bidirectional=bidirectional, pooling=pooling).double()
    lengths = torch.tensor([7, 2, 5])
    x = torch.randn(7, 3, 3, dtype=torch.float64)
    x_noisy = x.clone()
    for b, n in enumerate(lengths.tolist()):
        x_noisy[n:, b] = 1e3  # garbage in the padding
    logits, _ = model(x_noisy, lengths)
    for b, n in enumerate(lengths.tolist()):
        alone, _ = model(x[:n, b : b + 1])
        assert torch.allclose(logits[b], alone[0], atol=1e-12)
        y, _ = model.recurrent(x[:n, b : b + 1])  # (n, 1, D·H): independent reference of the pooling
        pooled = y.mean(0) if pooling == "mean" else y.amax(0)
        assert torch.allclose(logits[b], model.readout(pooled)[0], atol=1e-12)


def test_max_pooling_is_not_fooled_by_zero_padding():
    """Outputs that are all negative: a max over zero-filled padded steps would give 0."""
    model = SequenceClassifier("elman_tanh", 1, 2, 1, pooling="max").double()
    with torch.no_grad():
        model.recurrent.cells[0].weight_ih.fill_(1.0)
        model.recurrent.cells[0].weight_hh.zero_()
        model.recurrent.cells[0].bias_ih.fill_(-5.0)  # tanh(x - 5) < 0: every real output negative
        model.recurrent.cells[0].bias_hh.zero_()
        model.readout.weight.fill_(1.0)
        model.readout.bias.zero_()
    x = torch.zeros(4, 2, 1, dtype=torch.float64)
    out, _ = model(x, torch.tensor([4, 1]))
    expected = 2 * torch.tanh(torch.tensor(-5.0, dtype=torch.float64))
    assert torch.allclose(out, torch.full((2, 1), float(expected), dtype=torch.float64))


@pytest.mark.parametrize("pooling", ["last", "mean", "max"])
def test_token_inputs_are_embedded(pooling):
    torch.manual_seed(0)
    model = SequenceClassifier("gru", None, 6, 3, input_vocab=10, embedding_size=4, pooling=pooling,
                               bidirectional=True).double()
    assert model.embedding.weight.shape == (10, 4)
    assert model.recurrent.input_size == 4
    tokens = torch.randint(10, (5, 3))
    lengths = torch.tensor([5, 2, 3])
    tokens_noisy = tokens.clone()
    tokens_noisy[2:, 1] = 9  # padding holds other ids: no effect
    logits, _ = model(tokens_noisy, lengths)
    for b, n in enumerate(lengths.tolist()):
        alone, _ = model(tokens[:n, b : b + 1])
        assert torch.allclose(logits[b], alone[0], atol=1e-12)
    # the same as feeding the embedded vectors to the same stack
    float_model = SequenceClassifier("gru", 4, 6, 3, pooling=pooling, bidirectional=True).double()
    float_model.recurrent.load_state_dict(model.recurrent.state_dict())
    float_model.readout.load_state_dict(model.readout.state_dict())
    reference, _ = float_model(model.embedding(tokens_noisy), lengths)
    assert torch.allclose(logits, reference, atol=1e-12)


def test_embedding_size_defaults_to_hidden_size_and_input_size_is_ignored():
    model = SequenceClassifier("lstm", 123, 7, 2, input_vocab=5)
    assert model.embedding.weight.shape == (5, 7)
    assert model.recurrent.input_size == 7


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="pooling must be one of 'last', 'mean', 'max'; got 'sum'"):
        SequenceClassifier("gru", 3, 4, 2, pooling="sum")
    with pytest.raises(ValueError, match="embedding_size=8 is given without input_vocab"):
        SequenceClassifier("gru", 3, 4, 2, embedding_size=8)
    with pytest.raises(ValueError, match="input_vocab must be a positive int; got 0"):
        SequenceClassifier("gru", None, 4, 2, input_vocab=0)
    with pytest.raises(TypeError, match="input_size must be a positive int; got None"):
        SequenceClassifier("gru", None, 4, 2)
    with pytest.raises(ValueError, match="output_size must be a positive int; got 0"):
        SequenceClassifier("gru", 3, 4, 0)


def test_bad_inputs_are_named():
    model = SequenceClassifier("gru", None, 4, 2, input_vocab=5)
    with pytest.raises(ValueError, match=r"token ids must lie in \[0, 5\).*from 0 to 5"):
        model(torch.tensor([[0, 5], [1, 2]]))
    with pytest.raises(ValueError, match=r"from -1 to 2"):
        model(torch.tensor([[0, -1], [1, 2]]))
    with pytest.raises(TypeError, match=r"expects x as integer token ids \(int64\) in \[0, 5\); "
                                        r"got dtype torch.float32"):
        model(torch.zeros(3, 2, 4))
    with pytest.raises(ValueError, match=r"expects x of shape \(T, B\) with T, B >= 1; got \(3, 2, 1\)"):
        model(torch.zeros(3, 2, 1, dtype=torch.long))
    floats = SequenceClassifier("gru", 3, 4, 2)
    with pytest.raises(ValueError, match=r"expects x of shape \(T, B, 3\) \(token ids need input_vocab=...\); "
                                         r"got \(5, 3\)"):
        floats(torch.zeros(5, 3))
    with pytest.raises(ValueError, match=r"lengths must lie in \[1, L=5\]"):
        floats(torch.zeros(5, 2, 3), lengths=[6, 1])


def test_learns_the_majority_symbol_with_mean_pooling():
    """Odd-length token strings of 0s and 1s, class = the more frequent symbol: mean pooling makes it easy."""
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)

    def batch(size):
        lengths = 2 * torch.randint(1, 6, (size,), generator=generator) + 1  # 3 … 11
        tokens = torch.randint(2, (11, size), generator=generator)
        real = torch.arange(11).unsqueeze(1) < lengths
        tokens = torch.where(real, tokens, torch.full_like(tokens, 2))  # padding symbol 2
        labels = ((tokens == 1) & real).sum(0) * 2 > lengths
        return tokens, lengths, labels.long()

    model = SequenceClassifier("gru", None, 16, 2, input_vocab=3, embedding_size=8, pooling="mean")
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(150):
        tokens, lengths, labels = batch(32)
        loss = torch.nn.functional.cross_entropy(model(tokens, lengths)[0], labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    tokens, lengths, labels = batch(500)
    with torch.no_grad():
        accuracy = (model(tokens, lengths)[0].argmax(-1) == labels).float().mean()
    assert accuracy > 0.95
