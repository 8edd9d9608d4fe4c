"""Recurrent: dropout between layers only, options, torch.nn-style attribute names."""

import pytest
import torch

import rnnlab


@pytest.mark.parametrize("cell", ["gru", "lstm", "gru2"])
def test_dropout_acts_between_layers_and_only_in_training(cell):
    torch.manual_seed(0)
    x = torch.randn(6, 4, 3)
    deep = rnnlab.Recurrent(cell, 3, 5, num_layers=2, dropout=0.5)
    deep.eval()
    y_eval, _ = deep(x)
    assert torch.equal(deep(x)[0], y_eval)  # no dropout in eval mode
    deep.train()
    assert not torch.allclose(deep(x)[0], y_eval)  # dropout on layer 0's output changes layer 1's

    with pytest.warns(UserWarning, match="dropout=0.5 acts between layers only"):
        shallow = rnnlab.Recurrent(cell, 3, 5, num_layers=1, dropout=0.5)
    shallow.train()
    y_train, _ = shallow(x)
    shallow.eval()
    assert torch.equal(shallow(x)[0], y_train)  # never on the last layer's output


def test_unknown_cell_option_is_named():
    with pytest.raises(TypeError, match="cell 'gru' does not take the option 'proj_size'"):
        rnnlab.Recurrent("gru", 3, 5, proj_size=2)


def test_torch_attribute_names_and_repr():
    layer = rnnlab.LSTM(3, 5, num_layers=2, bidirectional=True, proj_size=2)
    assert layer.weight_hr_l1_reverse is layer.cells[3].weight_hr
    assert layer.weight_ih_l1.shape == (20, 4)  # layer 1 reads both directions of projected outputs
    with pytest.raises(AttributeError):
        layer.weight_ih_l2  # no third layer
    with pytest.raises(AttributeError):
        rnnlab.GRU(3, 5).weight_ih_l0_reverse  # not bidirectional
    assert len(layer.all_weights) == 4 and len(layer.all_weights[0]) == 5
    assert "'lstm', 3, 5, num_layers=2, bidirectional=True" in repr(layer)
    layer.flatten_parameters()  # accepted, as code written for torch.nn calls it
