"""gradient_flow: ∂L/∂h_t of every step, against independent references, on every cell and topology."""

import pytest
import torch

import rnnlab
from rnnlab.analysis import gradient_flow
from rnnlab.models import Seq2Seq, SequenceClassifier

CELLS = rnnlab.cells.available()


def _relative(a, b):
    return float(((a - b).abs() / b.abs().clamp(min=1e-12)).max())


@pytest.mark.parametrize("cell", CELLS)
def test_fast_paths_agree_with_the_reference_loop(cell):
    """float64, two layers, both directions, a padded batch: every field of every cell within 1e-6."""
    torch.manual_seed(0)
    layer = rnnlab.Recurrent(cell, 3, 5, num_layers=2, bidirectional=True).double()
    x = torch.randn(7, 4, 3, dtype=torch.float64)
    lengths = torch.tensor([7, 3, 5, 1])
    loss = lambda result: (result[0] ** 2).sum()  # noqa: E731
    fast = gradient_flow(layer, x, loss, lengths=lengths, fast_paths=True)
    plain = gradient_flow(layer, x, loss, lengths=lengths, fast_paths=False)
    assert list(fast.cells) == ["l0", "l0_reverse", "l1", "l1_reverse"]
    for name, flow in fast.cells.items():
        for field, norms in flow.fields.items():
            assert _relative(norms, plain.cells[name].fields[field]) < 1e-6, (name, field)
    assert layer.fast_paths and layer.step_hook is None  # the layer's own settings are back


@pytest.mark.parametrize("cell", CELLS)
def test_equals_the_total_derivative_through_the_rest_of_the_sequence(cell):
    """Independent reference: ∂L/∂s_t = ∂L_t/∂s_t + ∂(Σ_{u>t} L_u)/∂s_t, the second term from running the
    steps after t alone from s_t as a leaf.  L = Σ_t G_t · y_t, so ∂L_t/∂h_t = G_t."""
    torch.manual_seed(1)
    layer = rnnlab.Recurrent(cell, 3, 4).double()
    x = torch.randn(6, 2, 3, dtype=torch.float64)
    weights = torch.randn(6, 2, layer.output_size, dtype=torch.float64)
    flow = gradient_flow(layer, x, lambda result: (weights * result[0]).sum())
    states = []  # s_t of every step, each field as it is
    state = None
    for t in range(6):
        _, state = layer(x[t:t + 1], state)
        states.append(state)
    for t in range(6):
        fields = [states[t]] if isinstance(states[t], torch.Tensor) else list(states[t])
        leaves = [f.detach().clone().requires_grad_(True) for f in fields]
        expected = [torch.zeros_like(f[0]) for f in fields]  # (B, n) per field
        if t < 5:
            hx = leaves[0] if len(leaves) == 1 else tuple(leaves)
            y, _ = layer(x[t + 1:], hx)
            grads = torch.autograd.grad((weights[t + 1:] * y).sum(), leaves)
            expected = [g[0] for g in grads]
        expected[0] = expected[0] + weights[t]
        names = ["h"] if len(fields) == 1 else list(states[t]._fields)
        for name, e in zip(names, expected):
            assert torch.allclose(flow.cells["l0"].fields[name][t], e.norm(dim=1), rtol=1e-10), (cell, t, name)


def test_elman_by_the_backpropagation_recursion():
    """One Elman layer, loss at the last step only: g_{T} = ∂L/∂h_T, g_t = W_hhᵀ (φ′(a_{t+1}) ⊙ g_{t+1})."""
    torch.manual_seed(2)
    layer = rnnlab.Recurrent("elman_tanh", 2, 6).double()
    x = torch.randn(10, 3, 2, dtype=torch.float64)
    target = torch.randn(3, 6, dtype=torch.float64)
    flow = gradient_flow(layer, x, lambda result: ((result[0][-1] - target) ** 2).sum())
    y, _ = layer(x)
    g = 2 * (y[-1] - target)  # (B, H)
    expected = [g]
    for t in range(8, -1, -1):
        g = (g * (1 - y[t + 1] ** 2)) @ layer.weight_hh_l0  # W_hhᵀ applied to a row vector
        expected.append(g)
    expected = torch.stack(expected[::-1]).detach().norm(dim=2)  # (T, B)
    assert torch.allclose(flow.per_sequence, expected, rtol=1e-10)
    assert torch.allclose(flow.norms, expected.mean(1), rtol=1e-10)
    assert flow.ratio() == pytest.approx(float(expected[0].mean() / expected[-1].mean()), rel=1e-10)


def test_padded_sequences_equal_each_sequence_alone():
    torch.manual_seed(3)
    layer = rnnlab.Recurrent("gru", 2, 4, bidirectional=True).double()
    lengths = torch.tensor([5, 2, 4])
    x = torch.randn(5, 3, 2, dtype=torch.float64)
    loss = lambda result: (result[0] ** 2).sum()  # noqa: E731  (padded outputs are zero: separable)
    batch = gradient_flow(layer, x, loss, lengths=lengths)
    for b, n in enumerate(lengths.tolist()):
        alone = gradient_flow(layer, x[:n, b:b + 1], loss)
        for name in ("l0", "l0_reverse"):
            assert torch.allclose(batch.cells[name].fields["h"][:n, b], alone.cells[name].fields["h"][:, 0],
                                  rtol=1e-10)
            assert (batch.cells[name].fields["h"][n:, b] == 0).all()
    # the batch mean at step t counts the sequences alive at t only
    live_mean = torch.stack([batch.per_sequence[t, lengths > t].mean() for t in range(5)])
    assert torch.allclose(batch.norms, live_mean)
    # by lag: lag 0 is each sequence's own last step
    last = torch.stack([batch.per_sequence[n - 1, b] for b, n in enumerate(lengths.tolist())]).mean()
    assert batch.by_lag()[0] == pytest.approx(float(last))


def test_the_probes_do_not_change_the_forward_pass():
    torch.manual_seed(4)
    model = SequenceClassifier("lstm", 3, 8, 2, num_layers=2)
    x = torch.randn(9, 4, 3)
    plain, _ = model(x)
    seen = []
    flow = gradient_flow(model, x, lambda result: seen.append(result[0].detach()) or result[0].sum())
    assert torch.equal(seen[0], plain)
    assert flow.norms.shape == (9,) and set(flow.cells) == {"recurrent.l0", "recurrent.l1"}
    assert set(flow.cells["recurrent.l1"].fields) == {"h", "c"}


def test_seq2seq_with_attention_reports_encoder_and_decoder():
    torch.manual_seed(5)
    model = Seq2Seq("gru", 4, 7, 6, attention=True, bidirectional_encoder=True)
    x = torch.randn(5, 2, 4)
    targets = torch.tensor([[3, 4], [5, 6], [2, 2]])
    flow = gradient_flow(model, (x,), lambda result: result[0].logsumexp(-1).sum(), lengths=torch.tensor([5, 3]))
    assert set(flow.cells) == {"encoder.l0", "encoder.l0_reverse", "decoder.stack.l0"}
    assert flow.norms.shape == (5,)  # the encoder: the first stack
    assert (flow.per_sequence[3:, 1] == 0).all()
    flow = gradient_flow(model, (x, None, None, targets), lambda result: result[0].logsumexp(-1).sum())
    assert flow.cells["decoder.stack.l0"].fields["h"].shape == (3, 2)  # one per output step, teacher forced


def test_bad_uses_are_explained():
    with pytest.raises(ValueError, match="needs a model with an rnnlab.Recurrent layer; Linear has none"):
        gradient_flow(torch.nn.Linear(2, 2), torch.randn(2, 2), lambda y: y.sum())
    layer = rnnlab.Recurrent("elman_tanh", 2, 3)
    with pytest.raises(ValueError, match=r"loss_fn must return a scalar tensor; got a tensor of shape \(4, 1, 3\)"):
        gradient_flow(layer, torch.randn(4, 1, 2), lambda result: result[0])
    assert layer.step_hook is None  # restored after the error


def test_the_picture_is_drawn(tmp_path):
    from rnnlab.analysis.pictures import plot_gradient_flow

    layer = rnnlab.Recurrent("elman_tanh", 1, 4)
    flow = gradient_flow(layer, torch.randn(12, 3, 1), lambda result: result[0][-1].sum())
    path = plot_gradient_flow({"elman": flow, "flat": torch.ones(12)}, tmp_path / "flow.png",
                              bands={"elman": (flow.by_lag() / 2, flow.by_lag() * 2)}, guides={"bound": 0.9 ** torch.arange(12.)})
    assert path.stat().st_size > 1000
    with pytest.raises(ValueError, match=r"one curve per label, \(K,\) norms by lag; got shape \(2, 2\)"):
        plot_gradient_flow({"bad": torch.ones(2, 2)}, tmp_path / "bad.png")
