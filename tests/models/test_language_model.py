"""LanguageModel: logits, padding, weight tying, dropout, and generation with a carried state."""

import warnings

import pytest
import torch

from rnnlab.models import LanguageModel
from rnnlab.models.language_model import sample_logits

CELLS = ["elman_tanh", "lstm", "gru", "gru1"]
V = 11


def _model(cell="gru", **options):
    torch.manual_seed(0)
    return LanguageModel(cell, V, 8, **options).double()


@pytest.mark.parametrize("cell", CELLS)
def test_shapes_and_padding(cell):
    model = _model(cell, num_layers=2)
    tokens = torch.randint(V, (6, 3))
    lengths = torch.tensor([6, 2, 4])
    logits, state = model(tokens, lengths)
    assert logits.shape == (6, 3, V)
    h = state if isinstance(state, torch.Tensor) else state[0]
    assert h.shape == (2, 3, 8)
    for b, n in enumerate(lengths.tolist()):
        alone, _ = model(tokens[:n, b : b + 1])
        assert torch.allclose(logits[:n, b], alone[:, 0], atol=1e-12)
        assert not logits[n:, b].any()  # zero at padded steps


@pytest.mark.parametrize("cell", ["elman_tanh", "lstm"])
def test_carried_state_continues_the_text(cell):
    model = _model(cell, num_layers=2)
    tokens = torch.randint(V, (9, 2))
    whole, _ = model(tokens)
    first, state = model(tokens[:4])
    rest, _ = model(tokens[4:], state=state)
    assert torch.allclose(torch.cat([first, rest]), whole, atol=1e-12)


# ---- weight tying ------------------------------------------------------------------------------

def test_tie_weights_shares_one_parameter():
    model = _model("lstm", tie_weights=True)
    assert model.embedding_size == 8
    assert model.readout.weight is model.embedding.weight
    names = [name for name, _ in model.named_parameters()]
    assert "embedding.weight" in names and "readout.weight" not in names  # counted once
    untied = _model("lstm")
    assert sum(p.numel() for p in untied.parameters()) - sum(p.numel() for p in model.parameters()) == V * 8
    # the gradient of both uses lands in the one matrix
    logits, _ = model(torch.randint(V, (5, 2)))
    logits.sum().backward()
    assert model.embedding.weight.grad is not None and model.embedding.weight.grad.abs().sum() > 0
    # a state_dict round trip keeps the two tied
    copy = LanguageModel("lstm", V, 8, tie_weights=True).double()
    copy.load_state_dict(model.state_dict())
    assert copy.readout.weight is copy.embedding.weight
    assert torch.equal(copy.embedding.weight, model.embedding.weight)


def test_tie_weights_with_projections_uses_the_output_size():
    model = LanguageModel("lstm", V, 8, tie_weights=True, proj_size=3)
    assert model.embedding.weight.shape == (V, 3)
    assert model.readout.weight is model.embedding.weight
    with pytest.raises(ValueError, match=r"embedding_size must equal the recurrent output size 3 \(proj_size\); "
                                         r"got embedding_size=8"):
        LanguageModel("lstm", V, 8, tie_weights=True, embedding_size=8, proj_size=3)


def test_tie_weights_with_a_bad_size_raises():
    with pytest.raises(ValueError, match=r"tie_weights=True shares the embedding with the readout, so "
                                         r"embedding_size must equal the recurrent output size 8 \(hidden_size\); "
                                         r"got embedding_size=5"):
        LanguageModel("gru", V, 8, embedding_size=5, tie_weights=True)
    untied = LanguageModel("gru", V, 8, embedding_size=5)  # fine without tying
    assert untied.readout.weight.shape == (V, 8)


def test_bad_constructor_arguments_are_named():
    with pytest.raises(ValueError, match=r"dropout must be a number in \[0, 1\); got 1.0"):
        LanguageModel("gru", V, 8, dropout=1.0)
    with pytest.raises(ValueError, match="vocab_size must be a positive int; got 0"):
        LanguageModel("gru", 0, 8)
    with pytest.raises(TypeError, match="tie_weights must be a bool; got 1"):
        LanguageModel("gru", V, 8, tie_weights=1)
    with pytest.raises(ValueError, match="unknown cell 'lstmx'"):
        LanguageModel("lstmx", V, 8)


def test_dropout_on_embeddings_and_readout_even_with_one_layer():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "dropout acts between layers only" warning
        model = _model("gru", dropout=0.5)
    tokens = torch.randint(V, (5, 2))
    model.eval()
    reference, _ = model(tokens)
    assert torch.equal(model(tokens)[0], reference)
    model.train()
    assert not torch.allclose(model(tokens)[0], reference)


def test_bad_tokens_are_named():
    model = _model()
    with pytest.raises(ValueError, match=rf"LanguageModel: token ids must lie in \[0, {V}\)"):
        model(torch.tensor([[V]]))
    with pytest.raises(TypeError, match="LanguageModel expects tokens as integer token ids"):
        model(torch.zeros(3, 2))
    with pytest.raises(ValueError, match=r"LanguageModel expects tokens of shape \(T, B\)"):
        model(torch.zeros(3, dtype=torch.long))


# ---- generation --------------------------------------------------------------------------------

@pytest.mark.parametrize("cell", ["elman_tanh", "lstm", "gru1"])
def test_generation_with_a_carried_state_equals_recomputing_from_scratch(cell):
    model = _model(cell, num_layers=2)
    prime = torch.tensor([3, 1, 4, 1])
    sample = model.generate(prime, 12, temperature=0.8, top_k=6, generator=torch.Generator().manual_seed(5))
    assert sample.shape == (12,) and sample.dtype == torch.long
    # from scratch: the whole prefix through forward at every step, the same random stream
    generator = torch.Generator().manual_seed(5)
    prefix = prime.clone()
    _, state = model(prime.unsqueeze(1))
    for t in range(12):
        full, _ = model(prefix.unsqueeze(1))  # (len, 1, V)
        token = sample_logits(full[-1], 0.8, 6, generator)
        assert token.item() == sample[t].item()
        if t > 0:  # the one-step logits with the carried state are the full pass's last ones
            assert torch.allclose(step[0], full[-1], atol=1e-10)
        step, state = model(token.view(1, 1), state=state)
        prefix = torch.cat([prefix, token])


def test_greedy_equals_the_argmax_of_full_passes_and_top_k_1():
    model = _model("lstm")
    prime = torch.tensor([2, 7])
    greedy = model.generate(prime, 10, greedy=True)
    prefix = prime.clone()
    for t in range(10):
        full, _ = model(prefix.unsqueeze(1))
        assert full[-1, 0].argmax().item() == greedy[t].item()
        prefix = torch.cat([prefix, greedy[t : t + 1]])
    top1 = model.generate(prime, 10, top_k=1, generator=torch.Generator().manual_seed(0))
    assert torch.equal(top1, greedy)


def test_generation_costs_one_step_per_token():
    """The prime is read once, then each new token is one step of length 1: the prefix never runs again."""
    model = _model("gru")
    seen = []
    model.recurrent.register_forward_hook(lambda module, args, output: seen.append(args[0].shape[0]))
    model.generate(torch.tensor([1, 2, 3, 4, 5]), 20, generator=torch.Generator().manual_seed(0))
    assert seen == [5] + [1] * 19


def test_top_k_keeps_the_k_largest_logits():
    logits = torch.tensor([[0.0, 3.0, 1.0, 2.0, -1.0]]).expand(2000, 5)
    draws = sample_logits(logits, 1.0, 2, torch.Generator().manual_seed(0))
    assert set(draws.tolist()) == {1, 3}
    draws = sample_logits(logits, 1.0, None, torch.Generator().manual_seed(0))
    assert set(draws.tolist()) == {0, 1, 2, 3, 4}
    hot = sample_logits(logits, 100.0, None, torch.Generator().manual_seed(0))  # nearly uniform
    cold = sample_logits(logits, 0.05, None, torch.Generator().manual_seed(0))  # nearly the argmax
    assert (hot == 1).float().mean() < 0.3 and (cold == 1).float().mean() > 0.99


def test_generation_randomness_comes_from_the_generator_only():
    model = _model("gru")
    prime = torch.tensor([0, 1])
    torch.manual_seed(1)
    a = model.generate(prime, 15, generator=torch.Generator().manual_seed(3))
    torch.manual_seed(2)
    b = model.generate(prime, 15, generator=torch.Generator().manual_seed(3))
    c = model.generate(prime, 15, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_a_batch_of_primes_samples_each_column_alone():
    model = _model("lstm", num_layers=2)
    primes = torch.tensor([[1, 5, 9], [2, 2, 0], [3, 8, 4]])  # (P=3, B=3)
    batch = model.generate(primes, 7, greedy=True)
    assert batch.shape == (7, 3)
    for b in range(3):
        assert torch.equal(batch[:, b], model.generate(primes[:, b], 7, greedy=True))
    assert model.generate(primes[:, 0], 0).shape == (0,)


@pytest.mark.parametrize("training", [True, False])
def test_generation_runs_in_eval_mode_and_restores_the_mode(training):
    model = _model("gru", num_layers=2, dropout=0.5)
    model.train(training)
    model.recurrent.train()  # a mixed setting is restored module by module
    prime = torch.tensor([4, 4, 1])
    sample = model.generate(prime, 8, greedy=True)
    assert model.training is training and model.dropout.training is training and model.recurrent.training
    model.eval()
    assert torch.equal(sample, model.generate(prime, 8, greedy=True))  # no dropout during generation


def test_bad_generation_arguments_are_named():
    model = _model()
    prime = torch.tensor([1, 2])
    for temperature in (0, -1.0, float("nan"), float("inf"), True, "1"):
        with pytest.raises(ValueError, match="temperature must be a finite number > 0 .*use greedy=True or top_k=1"):
            model.generate(prime, 3, temperature=temperature)
    for top_k in (0, V + 1, 2.0):
        with pytest.raises(ValueError, match=rf"top_k must be None or an int in \[1, vocab_size={V}\]"):
            model.generate(prime, 3, top_k=top_k)
    with pytest.raises(ValueError, match="length must be an int >= 0"):
        model.generate(prime, -1)
    with pytest.raises(ValueError, match=r"prime must have shape \(P,\) or \(P, B\) with P, B >= 1.*got \(0,\)"):
        model.generate(torch.tensor([], dtype=torch.long), 3)
    with pytest.raises(TypeError, match="expects prime as integer token ids"):
        model.generate(torch.tensor([1.0, 2.0]), 3)
    with pytest.raises(ValueError, match=rf"LanguageModel.generate: token ids must lie in \[0, {V}\) "
                                         rf"\(the vocabulary size\); got values from 1 to {V}"):
        model.generate(torch.tensor([1, V]), 3)
    with pytest.raises(TypeError, match="generator must be a torch.Generator or None; got int"):
        model.generate(prime, 3, generator=0)


# ---- learning ----------------------------------------------------------------------------------

def test_learns_a_repeating_string():
    """Character model of "hello " repeated (Karpathy 2015's first example, scaled down): after a short
    training the next-character loss on fresh windows is low, and a greedy sample continues the text."""
    text = "hello "
    alphabet = sorted(set(text))
    ids = torch.tensor([alphabet.index(c) for c in text * 20])
    generator = torch.Generator().manual_seed(0)

    def windows(size, steps=13):
        starts = torch.randint(len(text), (size,), generator=generator)
        return torch.stack([ids[s : s + steps] for s in starts.tolist()], dim=1)  # (steps, size)

    torch.manual_seed(0)
    model = LanguageModel("lstm", len(alphabet), 24, tie_weights=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.03)
    for _ in range(100):
        chunk = windows(16)
        logits, _ = model(chunk[:-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, len(alphabet)), chunk[1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    chunk = windows(64)
    with torch.no_grad():
        logits, _ = model(chunk[:-1])
    # after the first character the text is determined (the first "l" is followed by "l" or "o")
    fresh = torch.nn.functional.cross_entropy(logits[2:].reshape(-1, len(alphabet)), chunk[3:].reshape(-1))
    assert fresh < 0.05
    sample = model.generate(ids[:3], 12, greedy=True)
    assert "".join(alphabet[i] for i in sample.tolist()) == "lo hello hel"
