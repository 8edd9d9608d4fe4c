"""Every bad input is refused at the public entry with a message that names the
argument and gives what was expected and what was got (STYLE.md: "errors speak
to the user")."""

from __future__ import annotations

import re

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

import rnnlab

STEPS, BATCH, INPUT_SIZE, HIDDEN_SIZE = 5, 4, 3, 5

# Every layer constructor, as (id, factory(input_size, hidden_size, **options)).
CONSTRUCTORS = {
    "Recurrent": lambda i, h, **kw: rnnlab.Recurrent("gru_v3", i, h, **kw),
    "RNN": rnnlab.RNN,
    "LSTM": rnnlab.LSTM,
    "GRU": rnnlab.GRU,
}


def x_(*shape, dtype=torch.float32):
    return torch.randn(*shape, dtype=dtype)


# ---- input --------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(STEPS, BATCH, 2, INPUT_SIZE), (INPUT_SIZE,)], ids=["4-D", "1-D"])
def test_input_of_wrong_rank(shape):
    expected = re.escape(f"GRU expects input of shape (L, N, {INPUT_SIZE}), (N, L, {INPUT_SIZE}) with "
                         f"batch_first=True, or unbatched (L, {INPUT_SIZE}); got {shape}")
    with pytest.raises(ValueError, match=expected):
        rnnlab.GRU(INPUT_SIZE, HIDDEN_SIZE)(x_(*shape))


@pytest.mark.parametrize("shape", [(STEPS, BATCH, INPUT_SIZE + 1), (STEPS, INPUT_SIZE - 1)],
                         ids=["batched", "unbatched"])
def test_input_of_wrong_feature_size(shape):
    expected = rf"LSTM expects input of shape \(L, N, {INPUT_SIZE}\).*; got {re.escape(str(shape))}"
    with pytest.raises(ValueError, match=expected):
        rnnlab.LSTM(INPUT_SIZE, HIDDEN_SIZE)(x_(*shape))


def test_packed_input_of_wrong_feature_size():
    packed = pack_padded_sequence(x_(STEPS, BATCH, INPUT_SIZE + 1), [5, 3, 2, 1])
    with pytest.raises(ValueError, match=re.escape(f"(sum of lengths, {INPUT_SIZE}); got (11, {INPUT_SIZE + 1})")):
        rnnlab.GRU(INPUT_SIZE, HIDDEN_SIZE)(packed)


def test_integer_input():
    layer = rnnlab.RNN(INPUT_SIZE, HIDDEN_SIZE)
    with pytest.raises(TypeError, match=r"RNN expects floating-point input; got dtype torch\.int64"):
        layer(torch.ones(STEPS, BATCH, INPUT_SIZE, dtype=torch.long))


def test_input_dtype_differs_from_parameters():
    layer = rnnlab.GRU(INPUT_SIZE, HIDDEN_SIZE)  # float32
    with pytest.raises(TypeError, match=r"input dtype torch\.float64 does not match the parameters' dtype "
                                        r"torch\.float32"):
        layer(x_(STEPS, BATCH, INPUT_SIZE, dtype=torch.float64))


def test_input_not_a_tensor():
    with pytest.raises(TypeError, match=r"expects input as a Tensor or a PackedSequence; got list"):
        rnnlab.GRU(INPUT_SIZE, HIDDEN_SIZE)([[0.0] * INPUT_SIZE] * STEPS)


# ---- hx -----------------------------------------------------------------------------------------

def test_hx_batch_differs_from_input():
    layer = rnnlab.GRU(INPUT_SIZE, HIDDEN_SIZE)
    expected = re.escape(f"expected hx of shape (1, {BATCH}, {HIDDEN_SIZE}); got (1, {BATCH - 1}, {HIDDEN_SIZE}) "
                         f"(its batch size {BATCH - 1} differs from the input's {BATCH})")
    with pytest.raises(ValueError, match=expected):
        layer(x_(STEPS, BATCH, INPUT_SIZE), x_(1, BATCH - 1, HIDDEN_SIZE))


def test_hx_batch_differs_from_batch_first_input():
    layer = rnnlab.RNN(INPUT_SIZE, HIDDEN_SIZE, batch_first=True)
    expected = re.escape(f"expected hx of shape (1, {BATCH}, {HIDDEN_SIZE}); got (1, {STEPS}, {HIDDEN_SIZE})")
    with pytest.raises(ValueError, match=expected):
        layer(x_(BATCH, STEPS, INPUT_SIZE), x_(1, STEPS, HIDDEN_SIZE))


@pytest.mark.parametrize("hx_shape", [(1, BATCH, HIDDEN_SIZE), (2, BATCH, HIDDEN_SIZE + 1), (BATCH, HIDDEN_SIZE)],
                         ids=["too_few_layers", "wrong_hidden_size", "missing_layer_axis"])
def test_hx_of_wrong_shape(hx_shape):
    layer = rnnlab.GRU(INPUT_SIZE, HIDDEN_SIZE, bidirectional=True)
    expected = re.escape(f"GRU: expected hx of shape (2, {BATCH}, {HIDDEN_SIZE}); got {hx_shape}")
    with pytest.raises(ValueError, match=expected):
        layer(x_(STEPS, BATCH, INPUT_SIZE), x_(*hx_shape))


def test_hx_of_batched_shape_with_unbatched_input():
    layer = rnnlab.RNN(INPUT_SIZE, HIDDEN_SIZE)
    expected = re.escape(f"expected hx of shape (1, {HIDDEN_SIZE}); got (1, 1, {HIDDEN_SIZE})")
    with pytest.raises(ValueError, match=expected):
        layer(x_(STEPS, INPUT_SIZE), x_(1, 1, HIDDEN_SIZE))


@pytest.mark.parametrize("field, proj_size, h_shape, c_shape, expected_shape", [
    ("c0", 0, (1, BATCH, HIDDEN_SIZE), (1, BATCH, 3), (1, BATCH, HIDDEN_SIZE)),
    ("h0", 0, (2, BATCH, HIDDEN_SIZE), (1, BATCH, HIDDEN_SIZE), (1, BATCH, HIDDEN_SIZE)),
    ("h0", 2, (1, BATCH, HIDDEN_SIZE), (1, BATCH, HIDDEN_SIZE), (1, BATCH, 2)),  # h is proj_size wide
    ("c0", 2, (1, BATCH, 2), (1, BATCH, 2), (1, BATCH, HIDDEN_SIZE)),  # c is not
], ids=["c0", "h0", "h0_projected", "c0_projected"])
def test_lstm_state_of_wrong_shape(field, proj_size, h_shape, c_shape, expected_shape):
    layer = rnnlab.LSTM(INPUT_SIZE, HIDDEN_SIZE, proj_size=proj_size)
    got = h_shape if field == "h0" else c_shape
    expected = re.escape(f"LSTM: expected {field} of shape {expected_shape}; got {got}")
    with pytest.raises(ValueError, match=expected):
        layer(x_(STEPS, BATCH, INPUT_SIZE), (x_(*h_shape), x_(*c_shape)))


def test_lstm_hx_given_as_a_tensor():
    layer = rnnlab.LSTM(INPUT_SIZE, HIDDEN_SIZE)
    with pytest.raises(TypeError, match=r"LSTM: hx must be a tuple of 2 tensors \(h0, c0\); got Tensor"):
        layer(x_(STEPS, BATCH, INPUT_SIZE), x_(1, BATCH, HIDDEN_SIZE))


def test_hx_given_as_a_tuple_to_gru():
    layer = rnnlab.GRU(INPUT_SIZE, HIDDEN_SIZE)
    with pytest.raises(TypeError, match=r"GRU: hx must be a Tensor; got tuple"):
        layer(x_(STEPS, BATCH, INPUT_SIZE), (x_(1, BATCH, HIDDEN_SIZE),))


def test_hx_dtype_differs_from_input():
    layer = rnnlab.GRU(INPUT_SIZE, HIDDEN_SIZE)
    with pytest.raises(TypeError, match=r"hx has dtype torch\.float64 .*the input has dtype torch\.float32"):
        layer(x_(STEPS, BATCH, INPUT_SIZE), x_(1, BATCH, HIDDEN_SIZE, dtype=torch.float64))


# ---- lengths ------------------------------------------------------------------------------------

@pytest.mark.parametrize("lengths, detail", [
    (torch.tensor([5.0, 3.0, 2.0, 1.0]), "dtype torch.float32 and shape (4,)"),
    (torch.tensor([[5], [3], [2], [1]]), "dtype torch.int64 and shape (4, 1)"),
], ids=["float_tensor", "2-D_tensor"])
def test_lengths_not_a_1d_integer_tensor(lengths, detail):
    layer = rnnlab.GRU(INPUT_SIZE, HIDDEN_SIZE)
    expected = rf"GRU: lengths must be a 1-D tensor of integers; got {re.escape(detail)}"
    with pytest.raises(TypeError, match=expected):
        layer(x_(STEPS, BATCH, INPUT_SIZE), lengths=lengths)


def test_lengths_list_of_floats():
    with pytest.raises(TypeError, match=r"lengths must be integers; got \[5\.0, 3, 2, 1\]"):
        rnnlab.GRU(INPUT_SIZE, HIDDEN_SIZE)(x_(STEPS, BATCH, INPUT_SIZE), lengths=[5.0, 3, 2, 1])


@pytest.mark.parametrize("lengths, low, high", [([5, 0, 2, 1], 0, 5), ([2, 3, STEPS + 1, 1], 1, STEPS + 1)],
                         ids=["zero", "L+1"])
def test_lengths_outside_1_to_L(lengths, low, high):
    layer = rnnlab.LSTM(INPUT_SIZE, HIDDEN_SIZE)
    expected = re.escape(f"LSTM: lengths must lie in [1, L={STEPS}]; got values from {low} to {high}")
    with pytest.raises(ValueError, match=expected):
        layer(x_(STEPS, BATCH, INPUT_SIZE), lengths=torch.tensor(lengths))


def test_lengths_outside_1_to_L_with_batch_first():
    """L is the time axis, axis 1 with batch_first."""
    layer = rnnlab.RNN(INPUT_SIZE, HIDDEN_SIZE, batch_first=True)
    with pytest.raises(ValueError, match=re.escape(f"lengths must lie in [1, L={STEPS}]; got values from 1 to 6")):
        layer(x_(BATCH, STEPS, INPUT_SIZE), lengths=[1, 2, 6, 3])


@pytest.mark.parametrize("count", [BATCH - 1, BATCH + 1])
def test_lengths_of_wrong_count(count):
    layer = rnnlab.GRU(INPUT_SIZE, HIDDEN_SIZE)
    expected = re.escape(f"GRU: lengths must have one entry per sequence (N={BATCH}); got {count}")
    with pytest.raises(ValueError, match=expected):
        layer(x_(STEPS, BATCH, INPUT_SIZE), lengths=torch.ones(count, dtype=torch.long))


def test_lengths_with_packed_sequence():
    packed = pack_padded_sequence(x_(STEPS, BATCH, INPUT_SIZE), [5, 3, 2, 1])
    with pytest.raises(ValueError, match=r"GRU: lengths= cannot be given with a PackedSequence input"):
        rnnlab.GRU(INPUT_SIZE, HIDDEN_SIZE)(packed, lengths=torch.tensor([5, 3, 2, 1]))


# ---- constructor --------------------------------------------------------------------------------

def test_unknown_cell_lists_the_available_cells():
    expected = re.escape(f"unknown cell 'gru4'; available cells: {', '.join(rnnlab.cells.available())}")
    with pytest.raises(ValueError, match=expected):
        rnnlab.Recurrent("gru4", INPUT_SIZE, HIDDEN_SIZE)


@pytest.mark.parametrize("layer", CONSTRUCTORS)
@pytest.mark.parametrize("argument, value", [("input_size", 0), ("hidden_size", -1), ("num_layers", 0)])
def test_non_positive_sizes(layer, argument, value):
    sizes = {"input_size": INPUT_SIZE, "hidden_size": HIDDEN_SIZE, "num_layers": 1, argument: value}
    with pytest.raises(ValueError, match=rf"^{argument} must be a positive int; got {value}$"):
        CONSTRUCTORS[layer](sizes.pop("input_size"), sizes.pop("hidden_size"), **sizes)


@pytest.mark.parametrize("layer", CONSTRUCTORS)
@pytest.mark.parametrize("argument, value", [("input_size", 3.0), ("hidden_size", "5"), ("num_layers", 2.0)])
def test_non_integer_sizes(layer, argument, value):
    sizes = {"input_size": INPUT_SIZE, "hidden_size": HIDDEN_SIZE, "num_layers": 1, argument: value}
    expected = rf"^{argument} must be a positive int; got {re.escape(repr(value))} of type {type(value).__name__}$"
    with pytest.raises(TypeError, match=expected):
        CONSTRUCTORS[layer](sizes.pop("input_size"), sizes.pop("hidden_size"), **sizes)


@pytest.mark.parametrize("layer", CONSTRUCTORS)
@pytest.mark.parametrize("value", [-0.1, 1.0])
def test_dropout_outside_0_to_1(layer, value):
    with pytest.raises(ValueError, match=re.escape(f"dropout must be a number in [0, 1); got {value}")):
        CONSTRUCTORS[layer](INPUT_SIZE, HIDDEN_SIZE, num_layers=2, dropout=value)


@pytest.mark.parametrize("value", [HIDDEN_SIZE, -1])
def test_proj_size_outside_0_to_hidden_size(value):
    expected = re.escape(f"proj_size must be an int in [0, hidden_size={HIDDEN_SIZE}); got {value}")
    with pytest.raises(ValueError, match=expected):
        rnnlab.LSTM(INPUT_SIZE, HIDDEN_SIZE, proj_size=value)


def test_proj_size_outside_0_to_hidden_size_in_recurrent():
    expected = re.escape(f"proj_size must be an int in [0, hidden_size={HIDDEN_SIZE}); got {HIDDEN_SIZE}")
    with pytest.raises(ValueError, match=expected):
        rnnlab.Recurrent("lstm", INPUT_SIZE, HIDDEN_SIZE, proj_size=HIDDEN_SIZE)


def test_unknown_nonlinearity():
    with pytest.raises(ValueError, match=r"nonlinearity must be 'tanh' or 'relu'; got 'sigmoid'"):
        rnnlab.RNN(INPUT_SIZE, HIDDEN_SIZE, nonlinearity="sigmoid")
