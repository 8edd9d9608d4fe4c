"""SequenceTagger (N→N): an output at every real step, zeros at padded steps, token inputs, learning."""

import pytest
import torch

from rnnlab.models import SequenceTagger

CELLS = ["elman_tanh", "lstm", "gru", "gru1"]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_shapes(cell, bidirectional):
    torch.manual_seed(0)
    model = SequenceTagger(cell, 3, 5, 4, num_layers=2, bidirectional=bidirectional)
    outputs, state = model(torch.randn(6, 2, 3), lengths=torch.tensor([6, 3]))
    assert outputs.shape == (6, 2, 4)
    h = state if isinstance(state, torch.Tensor) else state[0]
    assert h.shape == (2 * (2 if bidirectional else 1), 2, 5)
    tokens = SequenceTagger(cell, None, 5, 4, bidirectional=bidirectional, input_vocab=9, embedding_size=3)
    outputs, _ = tokens(torch.randint(9, (6, 2)))
    assert outputs.shape == (6, 2, 4)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_padding_never_changes_a_real_step_and_padded_outputs_are_zero(cell, bidirectional):
    torch.manual_seed(0)
    model = SequenceTagger(cell, 3, 5, 4, num_layers=2, bidirectional=bidirectional).double()
    lengths = torch.tensor([7, 2, 5])
    x = torch.randn(7, 3, 3, dtype=torch.float64)
    x_noisy = x.clone()
    for b, n in enumerate(lengths.tolist()):
        x_noisy[n:, b] = 1e3  # garbage in the padding
    outputs, _ = model(x_noisy, lengths)
    for b, n in enumerate(lengths.tolist()):
        alone, _ = model(x[:n, b : b + 1])  # (n, 1, 4)
        assert torch.allclose(outputs[:n, b], alone[:, 0], atol=1e-12)
        assert torch.equal(outputs[n:, b], torch.zeros_like(outputs[n:, b]))


def test_token_inputs_padding_and_embedding():
    torch.manual_seed(0)
    model = SequenceTagger("lstm", None, 6, 3, input_vocab=10, bidirectional=True).double()
    assert model.embedding.weight.shape == (10, 6)  # embedding_size defaults to hidden_size
    tokens = torch.randint(10, (5, 3))
    lengths = [5, 1, 3]
    tokens_noisy = tokens.clone()
    tokens_noisy[1:, 1] = 7
    outputs, _ = model(tokens_noisy, lengths)
    for b, n in enumerate(lengths):
        alone, _ = model(tokens[:n, b : b + 1])
        assert torch.allclose(outputs[:n, b], alone[:, 0], atol=1e-12)
        assert not outputs[n:, b].any()


@pytest.mark.parametrize("cell", ["elman_tanh", "lstm", "gru1"])
def test_step_by_step_equals_whole_sequence(cell):
    torch.manual_seed(0)
    model = SequenceTagger(cell, 2, 4, 3, num_layers=2).double()
    x = torch.randn(6, 2, 2, dtype=torch.float64)
    whole, final = model(x)
    state, steps = None, []
    for t in range(6):
        y, state = model(x[t : t + 1], state=state)
        steps.append(y)
    assert torch.allclose(torch.cat(steps), whole, atol=1e-12)
    for a, b in zip(final if isinstance(final, tuple) else [final], state if isinstance(state, tuple) else [state]):
        assert torch.allclose(a, b, atol=1e-12)


def test_bad_arguments_and_inputs_are_named():
    with pytest.raises(ValueError, match="embedding_size=4 is given without input_vocab"):
        SequenceTagger("gru", 3, 4, 2, embedding_size=4)
    with pytest.raises(ValueError, match="unknown cell 'grux'"):
        SequenceTagger("grux", 3, 4, 2)
    tokens = SequenceTagger("gru", None, 4, 2, input_vocab=3)
    with pytest.raises(ValueError, match=r"SequenceTagger: token ids must lie in \[0, 3\)"):
        tokens(torch.tensor([[3]]))
    floats = SequenceTagger("gru", 3, 4, 2)
    with pytest.raises(ValueError, match=r"SequenceTagger expects x of shape \(T, B, 3\)"):
        floats(torch.zeros(5, 3))


def test_learns_to_output_the_previous_symbol():
    """Elman-style next-step task: at step t output x_{t−1} (class 0 at t = 0), one-step memory."""
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    vocab = 5

    def batch(size, steps=12):
        tokens = torch.randint(vocab, (steps, size), generator=generator)
        targets = torch.cat([torch.zeros(1, size, dtype=torch.long), tokens[:-1]])
        return tokens, targets

    model = SequenceTagger("gru", None, 24, vocab, input_vocab=vocab, embedding_size=8)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(120):
        tokens, targets = batch(32)
        outputs, _ = model(tokens)
        loss = torch.nn.functional.cross_entropy(outputs.reshape(-1, vocab), targets.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    tokens, targets = batch(200, steps=20)  # fresh data, longer than in training
    with torch.no_grad():
        accuracy = (model(tokens)[0].argmax(-1) == targets).float().mean()
    assert accuracy > 0.98


def test_the_input_shortcut_adds_a_linear_map_of_the_step_input():
    """o_t = W y_t + V x_t + b: the readout of the model without the shortcut plus V x_t (token inputs: the
    embedded x_t); padded steps stay zero."""
    torch.manual_seed(0)
    model = SequenceTagger("lstm1997", 3, 4, 5, input_shortcut=True).double()
    assert model.shortcut.weight.shape == (5, 3) and model.shortcut.bias is None
    x, lengths = torch.randn(6, 2, 3, dtype=torch.float64), torch.tensor([6, 4])
    outputs, _ = model(x, lengths)
    plain = SequenceTagger("lstm1997", 3, 4, 5).double()
    plain.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("shortcut")})
    without, _ = plain(x, lengths)
    real = (torch.arange(6).unsqueeze(1) < lengths).unsqueeze(2)
    assert torch.allclose(outputs, (without + model.shortcut(x)) * real, atol=1e-12)
    tokens = SequenceTagger("gru", None, 4, 5, input_vocab=7, embedding_size=3, input_shortcut=True)
    assert tokens.shortcut.weight.shape == (5, 3)
    assert tokens(torch.randint(7, (4, 2)))[0].shape == (4, 2, 5)
