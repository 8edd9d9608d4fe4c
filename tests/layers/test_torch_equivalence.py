"""rnnlab.RNN / LSTM / GRU against torch.nn with copied weights.

The reference is torch.nn itself: build the torch.nn layer with a fixed seed, load
its ``state_dict`` into the rnnlab twin with ``strict=True``, run both on the same
input and initial state, and compare outputs, final states and every gradient
(input, h0/c0, each parameter matched by its ``state_dict`` key).

rnnlab.GRU and rnnlab.RNN run their own hand-written kernels on CPU, so their float32
comparisons are real tests of those kernels; rnnlab.LSTM runs torch's fused kernel on
its fast path; all three run their plain reference loops with ``fast_paths = False``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

import rnnlab

INPUT_SIZE, HIDDEN_SIZE, PROJ_SIZE = 4, 6, 3
STEPS, BATCH = 5, 4
LENGTHS = [3, 5, 1, 4]  # unsorted, one full-length sequence, one of length 1
TOLERANCE = {torch.float32: 1e-5, torch.float64: 1e-10}
DTYPES = pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])

# twin id -> (torch.nn class, rnnlab class, extra constructor arguments)
TWINS = {
    "rnn_tanh": (torch.nn.RNN, rnnlab.RNN, {"nonlinearity": "tanh"}),
    "rnn_relu": (torch.nn.RNN, rnnlab.RNN, {"nonlinearity": "relu"}),
    "lstm": (torch.nn.LSTM, rnnlab.LSTM, {}),
    "lstm_proj": (torch.nn.LSTM, rnnlab.LSTM, {"proj_size": PROJ_SIZE}),
    "gru": (torch.nn.GRU, rnnlab.GRU, {}),
}


@dataclass(frozen=True)
class Config:
    num_layers: int = 1
    bidirectional: bool = False
    batch_first: bool = False
    bias: bool = True
    given_state: bool = False  # pass h0 (and c0) instead of zeros
    unbatched: bool = False  # input (L, H_in)
    packed: bool = False  # PackedSequence of LENGTHS, enforce_sorted=False

    @property
    def layer_args(self) -> dict:
        return {"num_layers": self.num_layers, "bidirectional": self.bidirectional,
                "batch_first": self.batch_first, "bias": self.bias}


# Each configuration combines several features, so that every feature is covered
# with every twin without a cartesian product of all of them.
CONFIGS = {
    "one_layer": Config(),
    "3_layers_bidirectional_h0": Config(num_layers=3, bidirectional=True, given_state=True),
    "batch_first_2_layers_h0": Config(num_layers=2, batch_first=True, given_state=True),
    "unbatched_bidirectional_h0": Config(bidirectional=True, given_state=True, unbatched=True),
    "unbatched_2_layers": Config(num_layers=2, unbatched=True),
    "packed_unsorted_bidirectional_2_layers_h0": Config(num_layers=2, bidirectional=True, given_state=True,
                                                        packed=True),
    "packed_unsorted_batch_first": Config(batch_first=True, packed=True),
    "no_bias_bidirectional_2_layers_h0": Config(num_layers=2, bidirectional=True, bias=False, given_state=True),
}
# Configurations also run on every cell's plain reference loop (fast_paths = False).
REFERENCE_LOOP_CONFIGS = ["3_layers_bidirectional_h0", "packed_unsorted_bidirectional_2_layers_h0",
                          "unbatched_bidirectional_h0", "no_bias_bidirectional_2_layers_h0"]


def make_pair(twin: str, config: Config, dtype: torch.dtype, fast_paths: bool = True):
    """(torch.nn layer, rnnlab twin holding the same weights, on its fast or its reference path)."""
    torch_cls, rnnlab_cls, extra = TWINS[twin]
    torch.manual_seed(0)
    reference = torch_cls(INPUT_SIZE, HIDDEN_SIZE, dtype=dtype, **config.layer_args, **extra)
    ours = rnnlab_cls(INPUT_SIZE, HIDDEN_SIZE, dtype=dtype, **config.layer_args, **extra)
    result = ours.load_state_dict(reference.state_dict(), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    ours.fast_paths = fast_paths
    return reference, ours


def state_shapes(twin: str, config: Config, batch: int | None) -> list[tuple[int, ...]]:
    """Shapes of the initial state's fields as torch.nn expects them: [h0] or [h0, c0]."""
    stack = (2 if config.bidirectional else 1) * config.num_layers
    lead = (stack,) if batch is None else (stack, batch)
    if twin == "lstm":
        return [(*lead, HIDDEN_SIZE), (*lead, HIDDEN_SIZE)]
    if twin == "lstm_proj":
        return [(*lead, PROJ_SIZE), (*lead, HIDDEN_SIZE)]
    return [(*lead, HIDDEN_SIZE)]


def make_inputs(twin: str, config: Config, dtype: torch.dtype, seed: int = 1):
    """(x, state fields or None): x is (L, H_in), (L, N, H_in) or (N, L, H_in); padded when packed."""
    gen = torch.Generator().manual_seed(seed)
    if config.unbatched:
        shape = (STEPS, INPUT_SIZE)
    elif config.batch_first:
        shape = (BATCH, STEPS, INPUT_SIZE)
    else:
        shape = (STEPS, BATCH, INPUT_SIZE)
    x = torch.randn(shape, generator=gen, dtype=dtype)
    fields = None
    if config.given_state:
        fields = [torch.randn(s, generator=gen, dtype=dtype)
                  for s in state_shapes(twin, config, None if config.unbatched else BATCH)]
    return x, fields


def run(module, twin: str, config: Config, x, fields, *, lengths=None, padded_output: bool = False,
        cotangent_seed: int = 2):
    """Forward and backward on fresh leaves.

    Returns (output, final state fields, leaf gradients {"input", "h0", "c0"},
    parameter gradients by state_dict key).  The backward pass uses random
    cotangents for the output and every final-state field (the same for any
    module, given the same seed and shapes), so that every gradient path counts.
    With ``padded_output`` a packed output is padded back (L, N, ·) or (N, L, ·)
    before the backward pass, to be compared with a padded output.
    """
    x = x.detach().clone().requires_grad_(True)
    leaves = {"input": x}
    hx = None
    if fields is not None:
        fields = [f.detach().clone().requires_grad_(True) for f in fields]
        leaves.update(zip(["h0", "c0"], fields))
        hx = tuple(fields) if twin.startswith("lstm") else fields[0]
    if config.packed:
        inp = pack_padded_sequence(x, torch.tensor(LENGTHS), batch_first=config.batch_first, enforce_sorted=False)
    else:
        inp = x
    if lengths is None:
        output, h_n = module(inp, hx)
    else:
        output, h_n = module(inp, hx, lengths=lengths)
    finals = list(h_n) if twin.startswith("lstm") else [h_n]
    if padded_output:
        output, _ = pad_packed_sequence(output, batch_first=config.batch_first, total_length=STEPS)
    out_data = output.data if isinstance(output, PackedSequence) else output
    gen = torch.Generator().manual_seed(cotangent_seed)
    tensors = [out_data, *finals]
    cotangents = [torch.randn(t.shape, generator=gen, dtype=t.dtype) for t in tensors]
    torch.autograd.backward(tensors, cotangents)
    leaf_grads = {name: leaf.grad for name, leaf in leaves.items()}
    param_grads = {key: p.grad for key, p in module.state_dict(keep_vars=True).items()}
    return output, finals, leaf_grads, param_grads


def assert_close(actual, expected, tol, what):
    assert actual is not None, f"{what}: no gradient"
    torch.testing.assert_close(actual, expected, atol=tol, rtol=tol, msg=lambda m: f"{what}: {m}")


def assert_same_results(ours_result, reference_result, tol):
    out, finals, leaf_grads, param_grads = ours_result
    ref_out, ref_finals, ref_leaf_grads, ref_param_grads = reference_result
    if isinstance(ref_out, PackedSequence):
        assert isinstance(out, PackedSequence), f"output is {type(out).__name__}, not a PackedSequence"
        assert torch.equal(out.batch_sizes, ref_out.batch_sizes)
        assert torch.equal(out.sorted_indices, ref_out.sorted_indices)
        assert torch.equal(out.unsorted_indices, ref_out.unsorted_indices)
        assert_close(out.data, ref_out.data, tol, "output")
    else:
        assert_close(out, ref_out, tol, "output")
    assert len(finals) == len(ref_finals)
    for name, f, ref_f in zip(["h_n", "c_n"], finals, ref_finals):
        assert_close(f, ref_f, tol, name)
    assert list(leaf_grads) == list(ref_leaf_grads)
    for name in ref_leaf_grads:
        assert_close(leaf_grads[name], ref_leaf_grads[name], tol, f"gradient of {name}")
    assert list(param_grads) == list(ref_param_grads)
    for key in ref_param_grads:
        assert_close(param_grads[key], ref_param_grads[key], tol, f"gradient of {key}")


# ---- state_dict ----------------------------------------------------------------------------------

@pytest.mark.parametrize("twin", TWINS)
@pytest.mark.parametrize("config", [Config(), Config(num_layers=3, bidirectional=True),
                                    Config(num_layers=2, bidirectional=True, bias=False)],
                         ids=["one_layer", "3_layers_bidirectional", "no_bias_bidirectional"])
def test_state_dict_keys_equal_torch_nn(twin, config):
    torch_cls, rnnlab_cls, extra = TWINS[twin]
    reference = torch_cls(INPUT_SIZE, HIDDEN_SIZE, **config.layer_args, **extra)
    ours = rnnlab_cls(INPUT_SIZE, HIDDEN_SIZE, **config.layer_args, **extra)
    assert list(ours.state_dict()) == list(reference.state_dict())
    for key, value in reference.state_dict().items():
        assert ours.state_dict()[key].shape == value.shape, key


@pytest.mark.parametrize("twin", TWINS)
def test_load_state_dict_copies_every_weight_to_its_place(twin):
    """After loading, each key holds torch.nn's tensor, and torch.nn loads rnnlab's weights back."""
    config = Config(num_layers=2, bidirectional=True)
    reference, ours = make_pair(twin, config, torch.float64)
    ref_state = reference.state_dict()
    for key, value in ours.state_dict().items():
        assert torch.equal(value, ref_state[key]), key
        assert getattr(ours, key) is ours.state_dict(keep_vars=True)[key], key  # torch.nn's attribute names
    torch_cls, _, extra = TWINS[twin]
    back = torch_cls(INPUT_SIZE, HIDDEN_SIZE, dtype=torch.float64, **config.layer_args, **extra)
    back.load_state_dict(ours.state_dict(), strict=True)
    for key, value in back.state_dict().items():
        assert torch.equal(value, ref_state[key]), key


def test_load_state_dict_refuses_a_layer_it_does_not_have():
    reference = torch.nn.GRU(INPUT_SIZE, HIDDEN_SIZE, num_layers=2)
    with pytest.raises(RuntimeError, match="weight_ih_l1"):
        rnnlab.GRU(INPUT_SIZE, HIDDEN_SIZE, num_layers=1).load_state_dict(reference.state_dict(), strict=True)


# ---- outputs, final states, gradients ------------------------------------------------------------

@DTYPES
@pytest.mark.parametrize("config_id, fast_paths",
                         [(c, True) for c in CONFIGS] + [(c, False) for c in REFERENCE_LOOP_CONFIGS],
                         ids=[f"{c}-fast" for c in CONFIGS] + [f"{c}-reference_loop" for c in REFERENCE_LOOP_CONFIGS])
@pytest.mark.parametrize("twin", TWINS)
def test_equals_torch_nn(twin, config_id, fast_paths, dtype):
    """Outputs, final states and every gradient; ``fast_paths = False`` runs each cell's plain per-step loop."""
    config = CONFIGS[config_id]
    reference, ours = make_pair(twin, config, dtype, fast_paths)
    x, fields = make_inputs(twin, config, dtype)
    assert_same_results(run(ours, twin, config, x, fields), run(reference, twin, config, x, fields),
                        TOLERANCE[dtype])


# ---- lengths= on padded input == torch.nn on the PackedSequence ----------------------------------

LENGTHS_CONFIGS = {
    "one_layer": Config(),
    "batch_first_2_layers_bidirectional_h0": Config(num_layers=2, bidirectional=True, batch_first=True,
                                                    given_state=True),
}


@DTYPES
@pytest.mark.parametrize("fast_paths", [True, False], ids=["fast", "reference_loop"])
@pytest.mark.parametrize("config_id", LENGTHS_CONFIGS)
@pytest.mark.parametrize("twin", TWINS)
def test_lengths_equal_torch_nn_on_packed_sequence(twin, config_id, fast_paths, dtype):
    config = LENGTHS_CONFIGS[config_id]
    reference, ours = make_pair(twin, config, dtype, fast_paths)
    x, fields = make_inputs(twin, config, dtype)
    # A padded input whose padding is not zero, so that reading it would show.
    real = torch.arange(STEPS).unsqueeze(1) < torch.tensor(LENGTHS)  # (L, N)
    if config.batch_first:
        real = real.t()
    x = torch.where(real.unsqueeze(-1), x, torch.full_like(x, 7.0))

    out, finals, leaf_grads, param_grads = run(ours, twin, config, x, fields, lengths=torch.tensor(LENGTHS))
    # torch.nn's packed output, padded back in the original batch order: zeros at padded positions.
    ref_padded, ref_finals, ref_leaf_grads, ref_param_grads = run(reference, twin, replace(config, packed=True),
                                                                  x, fields, padded_output=True)
    tol = TOLERANCE[dtype]
    assert out.shape == ref_padded.shape
    assert torch.all(out[~real] == 0), "outputs at padded positions must be zero"
    assert_close(out, ref_padded, tol, "output")
    for name, f, ref_f in zip(["h_n", "c_n"], finals, ref_finals):
        assert_close(f, ref_f, tol, name)
    for name in ref_leaf_grads:
        assert_close(leaf_grads[name], ref_leaf_grads[name], tol, f"gradient of {name}")
    assert torch.all(leaf_grads["input"][~real] == 0), "padded inputs must get no gradient"
    for key in ref_param_grads:
        assert_close(param_grads[key], ref_param_grads[key], tol, f"gradient of {key}")


@pytest.mark.parametrize("mode, twin", [("LSTM", "LSTM"), ("GRU", "GRU"), ("RNN_TANH", "RNN")])
def test_one_direction_runs_padded_by_length_groups_with_packing_s_results(mode, twin, monkeypatch):
    """A padded batch in one direction runs the fused kernel on segments between distinct lengths, never
    packed (torch's packed backward on CPU grows much faster than T), and equals torch.nn on the packed
    batch: outputs, each sequence's final state, and every gradient."""
    from rnnlab.cells import torch_kernels

    torch.manual_seed(0)
    reference = getattr(torch.nn, twin)(3, 5, num_layers=2).double()
    ours = getattr(rnnlab, twin)(3, 5, num_layers=2).double()
    ours.load_state_dict(reference.state_dict())
    x = torch.randn(11, 6, 3, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([11, 4, 7, 11, 1, 7])

    def refused(*args, **kwargs):
        raise AssertionError("packed")

    monkeypatch.setattr(torch_kernels, "pack_padded_sequence", refused)
    y, state = ours(x, lengths=lengths)
    monkeypatch.undo()
    y_ref, state_ref = reference(pack_padded_sequence(x, lengths, enforce_sorted=False))
    y_ref, _ = pad_packed_sequence(y_ref, total_length=11)
    fields = list(state) if isinstance(state, tuple) else [state]
    fields_ref = list(state_ref) if isinstance(state_ref, tuple) else [state_ref]
    assert torch.allclose(y, y_ref, atol=1e-12)
    assert all(torch.allclose(a, b, atol=1e-12) for a, b in zip(fields, fields_ref))
    weights = torch.randn_like(y)
    ours_grads = torch.autograd.grad((y * weights).sum() + sum(f.sum() for f in fields), [x, *ours.parameters()])
    ref_grads = torch.autograd.grad((y_ref * weights).sum() + sum(f.sum() for f in fields_ref),
                                    [x, *reference.parameters()])
    assert all(torch.allclose(a, b, atol=1e-10) for a, b in zip(ours_grads, ref_grads))
