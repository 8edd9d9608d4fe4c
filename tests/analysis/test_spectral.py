"""λ₁ and ρ of recurrent matrices: read, set, and found in a model by torch.nn name."""

import pytest
import torch

import rnnlab
from rnnlab.analysis import (largest_singular_value, recurrent_matrices, set_largest_singular_value_,
                             set_spectral_radius_, spectra_report, spectral_radius)
from rnnlab.models import SequenceClassifier


def test_set_then_read():
    torch.manual_seed(0)
    w = torch.randn(7, 7)
    set_largest_singular_value_(w, 1.5)
    assert largest_singular_value(w) == pytest.approx(1.5, rel=1e-6)
    assert float(torch.linalg.svdvals(w.double())[0]) == pytest.approx(1.5, rel=1e-6)
    set_spectral_radius_(w, 0.9)
    assert spectral_radius(w) == pytest.approx(0.9, rel=1e-6)
    assert spectral_radius(w) <= largest_singular_value(w)


def test_matrices_of_a_model_by_torch_name_gate_blocks_apart():
    model = SequenceClassifier("lstm", 3, 4, 2, bidirectional=True)
    found = recurrent_matrices(model)
    assert list(found) == [f"recurrent.weight_hh_l0{d}[{g}]" for d in ("", "_reverse") for g in range(4)]
    set_largest_singular_value_(found["recurrent.weight_hh_l0[2]"], 2.0)  # a view: the parameter changes
    assert largest_singular_value(model.recurrent.weight_hh_l0[8:12]) == pytest.approx(2.0, rel=1e-6)
    report = spectra_report(rnnlab.Recurrent("elman_tanh", 2, 5, num_layers=2))
    assert list(report) == ["weight_hh_l0", "weight_hh_l1"]
    assert report["weight_hh_l0"]["spectral_radius"] <= report["weight_hh_l0"]["largest_singular_value"] + 1e-9


def test_bad_inputs_are_explained():
    with pytest.raises(ValueError, match=r"expected a square 2-D matrix; got \(2, 3\)"):
        spectral_radius(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="zero matrix"):
        set_largest_singular_value_(torch.zeros(2, 2), 1.0)
    with pytest.raises(ValueError, match="must be a number >= 0; got -1"):
        set_spectral_radius_(torch.eye(2), -1)
