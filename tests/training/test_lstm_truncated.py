"""train.algorithm = "lstm_truncated": the 1997 LSTM's truncated gradient, against backpropagation through the
network with the net inputs' recurrent inputs detached, and against the paper's formulas for one cell."""

import math

import pytest
import torch

from rnnlab.cells.lstm1997 import LSTM1997GatedState, LSTM1997State
from rnnlab.training.algorithms import LSTMTruncated
from rnnlab.training.algorithms.sensitivity import recurrent_layer
from rnnlab.training.trainer import TrainingError

from sensitivity_runs import applied, relative, trainer


def _detach_recurrent_inputs(index, y, state):
    """Step hook: the next step's net inputs read h (and the gates) detached, the carousel s_c attached, so that
    backpropagation through the network reaches the past only through s_c — the paper's truncation."""
    if isinstance(state, LSTM1997GatedState):
        return y, LSTM1997GatedState(state.h.detach(), state.c, state.gates.detach())
    return y, LSTM1997State(state.h.detach(), state.c)


def _truncated_by_autograd(tmp_path, task, options, overrides):
    reference = trainer(tmp_path, task, "lstm1997", "bptt", *options, *overrides, name="reference")
    recurrent_layer(reference.model).step_hook = _detach_recurrent_inputs
    seen = applied(reference)
    record = reference.train_step()
    return seen[0], record["loss"]


CASES = [  # (task, overrides): one output at the end of padded sequences; one at every step
    ("adding", ["task.length=12"]),
    ("elman_xor", ["task.length=9"]),
]
OPTIONS = {
    "blocks of 1": [],
    "blocks of 2": ['model.options={block_size = 2}'],
    "forget gate": ['model.options={block_size = 2, forget_gate = true}'],
    "gate feedback": ['model.options={block_size = 2, forget_gate = true, gate_feedback = true}'],
}


@pytest.mark.parametrize("way", ["forward", "backward"])
@pytest.mark.parametrize("options", OPTIONS.values(), ids=OPTIONS.keys())
@pytest.mark.parametrize("task, overrides", CASES, ids=[c[0] for c in CASES])
def test_the_truncated_gradient_equals_backpropagation_through_the_carousel_alone(tmp_path, task, overrides, options,
                                                                                  way, monkeypatch):
    """Both ways (sensitivities carried forward; the cell's truncated backward, its kernel where it has one)
    against autograd through the network with the recurrent inputs detached at every step."""
    monkeypatch.setattr(LSTMTruncated, "forward_mode", way == "forward")
    run = trainer(tmp_path, task, "lstm1997", "lstm_truncated", *options, *overrides)
    seen = applied(run)
    record = run.train_step()
    assert len(seen) == 1
    expected, loss = _truncated_by_autograd(tmp_path, task, options, overrides)
    assert relative(seen[0], expected) < 1e-10
    assert record["loss"] == pytest.approx(loss, rel=1e-12)
    assert not recurrent_layer(run.model).cells[0].truncated_gradient  # switched off after the batch


def test_the_truncated_gradient_is_not_the_full_gradient(tmp_path):
    """The truncation drops something real: full BPTT on the same network differs."""
    run = trainer(tmp_path, "adding", "lstm1997", "lstm_truncated", "task.length=12")
    truncated = applied(run)
    run.train_step()
    full = trainer(tmp_path, "adding", "lstm1997", "bptt", "task.length=12", name="full")
    whole = applied(full)
    full.train_step()
    assert relative(truncated[0], whole[0]) > 1e-3


def _sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


def test_one_cell_by_the_papers_formulas(tmp_path):
    """One block of one cell, one sequence of the adding task, the error at its end: the gradient of every weight
    written out with the scalar formulas of the paper's Appendix A.1 (A.10–A.13), independently of the module."""
    run = trainer(tmp_path, "adding", "lstm1997", "lstm_truncated", "task.length=12", "model.hidden_size=1",
                  "train.batch_size=1")
    seen = applied(run)
    batch = trainer(tmp_path, "adding", "lstm1997", "bptt", "task.length=12", "model.hidden_size=1",
                    "train.batch_size=1", name="data")._training_batch()
    cell = recurrent_layer(run.model).cells[0]
    names = [name for name, _ in run.model.named_parameters()]
    readout = [p.detach() for name, p in run.model.named_parameters() if "cells" not in name]
    w_k, b_k = float(readout[0].view(-1)[0]), float(readout[1].view(-1)[0])
    W = torch.cat([cell.weight_ih, cell.weight_hh, cell.bias.unsqueeze(1)], dim=1).tolist()  # rows in, out, cell
    run.train_step()
    length = int(batch.lengths[0]) if batch.lengths is not None else batch.inputs.shape[0]
    xs = batch.inputs[:length, 0].tolist()
    g = lambda v: 4 * _sigmoid(v) - 2  # noqa: E731
    g_slope = lambda v: 4 * _sigmoid(v) * (1 - _sigmoid(v))  # noqa: E731
    h = lambda v: 2 * _sigmoid(v) - 1  # noqa: E731
    h_slope = lambda v: 2 * _sigmoid(v) * (1 - _sigmoid(v))  # noqa: E731
    s, y_c = 0.0, 0.0
    ds_dw_c, ds_dw_in = [0.0] * 4, [0.0] * 4  # ∂s/∂w for the cell's and the input gate's row: x1, x2, y_c, bias
    for x in xs:
        z = [x[0], x[1], y_c, 1.0]
        net_in, net_out, net_c = (sum(w * v for w, v in zip(W[row], z)) for row in range(3))
        y_in = _sigmoid(net_in)
        for m in range(4):
            ds_dw_c[m] += g_slope(net_c) * y_in * z[m]  # A.10
            ds_dw_in[m] += g(net_c) * y_in * (1 - y_in) * z[m]  # A.11
        s += y_in * g(net_c)
        y_out = _sigmoid(net_out)
        y_c = y_out * h(s)
        last_z, last_out = z, (net_out, y_out)
    y = w_k * y_c + b_k
    delta = 2 * (y - float(batch.targets[0, 0]))  # ∂E/∂y for E = (y − d)²
    e_y = delta * w_k  # the error arriving at the cell's output
    e_s = e_y * last_out[1] * h_slope(s)  # A.9
    expected = {
        "in": [e_s * d for d in ds_dw_in],
        "out": [e_y * h(s) * last_out[1] * (1 - last_out[1]) * v for v in last_z],  # A.12
        "cell": [e_s * d for d in ds_dw_c],
    }
    grads = dict(zip(names, seen[0]))
    cell_grads = {name.rsplit(".", 1)[-1]: grad for name, grad in grads.items() if "cells" in name}
    rows = torch.cat([cell_grads["weight_ih"], cell_grads["weight_hh"], cell_grads["bias"].unsqueeze(1)], dim=1)
    got = {unit: rows[row].tolist() for row, unit in enumerate(("in", "out", "cell"))}
    for unit in expected:
        assert got[unit] == pytest.approx(expected[unit], rel=1e-9, abs=1e-14), unit
    readout_grads = [grads[n] for n in names if "cells" not in n]
    assert float(readout_grads[0].view(-1)[0]) == pytest.approx(delta * y_c, rel=1e-9)  # A.13
    assert float(readout_grads[1].view(-1)[0]) == pytest.approx(delta, rel=1e-9)


def test_online_updates_after_every_step_with_an_error(tmp_path):
    run = trainer(tmp_path, "elman_xor", "lstm1997", "lstm_truncated", "task.length=9", "train.online=true")
    seen = applied(run)
    before = [p.detach().clone() for p in run.model.parameters()]
    run.train_step()
    assert len(seen) == 9
    assert any(not torch.equal(a, b) for a, b in zip(before, run.model.parameters()))


@pytest.mark.parametrize("model, overrides, message", [
    ("lstm", [], r"the truncated rule of 1997 is for --model lstm1997; this model's cell is LSTMCell"),
    ("lstm1997", ['model.options={peepholes = true}'], r"not defined here for peepholes"),
    ("lstm1997", ["model.num_layers=2"], r"one layer, one direction"),
])
def test_what_it_refuses(tmp_path, model, overrides, message):
    with pytest.raises(TrainingError, match=message):
        trainer(tmp_path, "adding", model, "lstm_truncated", "task.length=12", *overrides)
