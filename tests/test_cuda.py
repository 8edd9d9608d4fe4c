"""On a CUDA device: rnnlab.GRU on cuDNN against torch.nn.GRU, the hand-written scan kernels' backward against
their CPU result, and ``rnnlab train --device cuda``.  Skipped where torch sees no CUDA device; the refusal of
``--device cuda`` on such a machine is checked everywhere."""

from __future__ import annotations

import copy
import json
import math

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnlab
from rnnlab import cli
from rnnlab.cells.gru_scan import GRUScan
from rnnlab.training import checkpoint as ckpt

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="torch sees no CUDA device")
DEVICE = "cuda"
T, B, I, H = 9, 4, 3, 6  # steps, batch, input features, hidden units
LENGTHS = [9, 4, 7, 1]
SMALL_RUN = ["--set", "model.hidden_size=8", "--set", "task.length=20", "--set", "train.batch_size=8",
             "--set", "train.eval_size=16", "--set", "train.log_every=1"]


def _run(layer, x: torch.Tensor, probe: torch.Tensor, weights: nn.Module | None = None, **kwargs) -> dict:
    """Outputs, final hidden state and every gradient of Σ probe ⊙ y, on the CPU; the weights' (``layer``'s
    unless given) by their state_dict names, which rnnlab's twins share with torch.nn."""
    x = x.detach().clone().requires_grad_()
    y, state = layer(x, **kwargs)
    h_n = state if isinstance(state, torch.Tensor) else state[0]
    (y * probe).sum().backward()
    values = {"y": y, "h_n": h_n, "x.grad": x.grad}
    values |= {f"{name}.grad": p.grad for name, p in (weights or layer).state_dict(keep_vars=True).items()}
    return {k: v.detach().cpu() for k, v in values.items()}


def _assert_same(mine: dict, reference: dict, atol: float) -> None:
    assert mine.keys() == reference.keys()
    for key in reference:
        torch.testing.assert_close(mine[key], reference[key], atol=atol, rtol=0, msg=lambda m, k=key: f"{k}: {m}")


@cuda
@pytest.mark.parametrize("lengths", [None, LENGTHS])
def test_rnnlab_gru_on_cuda_runs_on_cudnn_and_equals_torch_nn_gru(monkeypatch, lengths):
    """Two layers, float32, both on cuDNN; padded input with lengths against torch's packed sequence."""
    torch.manual_seed(0)
    reference = nn.GRU(I, H, num_layers=2).to(DEVICE)
    mine = rnnlab.GRU(I, H, num_layers=2).to(DEVICE)
    mine.load_state_dict(reference.state_dict())
    x = torch.randn(T, B, I, device=DEVICE)
    probe = torch.randn(T, B, H, device=DEVICE)  # past a sequence's end both outputs hold zeros
    assert mine.cells[0].uses_torch_kernel(x)

    def refused(*args):
        raise AssertionError("the CPU scan ran on the GPU")

    monkeypatch.setattr(GRUScan, "apply", refused)  # the cuDNN path or nothing
    if lengths is None:
        expected = _run(reference, x, probe)
        _assert_same(_run(mine, x, probe), expected, atol=1e-5)
    else:
        lengths_t = torch.tensor(lengths)
        expected = _run(_packed(reference, lengths_t), x, probe, weights=reference)
        _assert_same(_run(mine, x, probe, lengths=lengths_t), expected, atol=1e-5)


def _packed(gru: nn.GRU, lengths: torch.Tensor):
    """torch.nn.GRU on the packed form of a padded batch, so that its final state is each sequence's own."""

    def run(x):
        y, h_n = gru(pack_padded_sequence(x, lengths, enforce_sorted=False))
        return pad_packed_sequence(y, total_length=x.shape[0])[0], h_n  # (T, B, H), zeros past each end

    return run


def _against_the_cpu(layer: nn.Module) -> None:
    """``layer`` in float64 on the GPU equals it on the CPU: outputs, final state, every gradient."""
    torch.manual_seed(0)
    layer = layer.double()
    x = torch.randn(T, B, I, dtype=torch.float64)
    probe = torch.randn(T, B, H, dtype=torch.float64)
    on_gpu = copy.deepcopy(layer).to(DEVICE)
    on_cpu = _run(layer, x, probe)
    on_gpu = _run(on_gpu, x.to(DEVICE), probe.to(DEVICE))
    _assert_same(on_gpu, on_cpu, atol=1e-10)


class _GRUScanLayer(nn.Module):
    """GRUScan itself (on the GPU the ``gru`` cell takes cuDNN instead): x (T, B, I) -> (y, h_T)."""

    def __init__(self, bias: bool = True) -> None:
        super().__init__()
        self.weight_ih, self.weight_hh = nn.Parameter(torch.randn(3 * H, I)), nn.Parameter(torch.randn(3 * H, H) / 3)
        self.bias_ih = nn.Parameter(torch.randn(3 * H)) if bias else None
        self.bias_hh = nn.Parameter(torch.randn(3 * H)) if bias else None
        self.h0 = nn.Parameter(torch.randn(B, H))

    def forward(self, x):
        y = GRUScan.apply(x, self.weight_ih, self.bias_ih, self.h0, self.weight_hh, self.bias_hh)
        return y, y[-1]


@cuda
@pytest.mark.parametrize("bias", [True, False])
def test_the_gru_scan_backward_on_cuda_equals_the_cpu(bias):
    _against_the_cpu(_GRUScanLayer(bias))


@cuda
@pytest.mark.parametrize("cell", ["gru_v3", "gru1", "gru2", "gru3"])
def test_the_gru_v3_scan_backward_on_cuda_equals_the_cpu(cell):
    _against_the_cpu(rnnlab.Recurrent(cell, I, H))


@cuda
@pytest.mark.parametrize("options", [{}, {"block_size": 2, "forget_gate": True}, {"gate_feedback": True},
                                     {"cell_output": "identity"}, {"truncated": True}], ids=str)
def test_the_lstm1997_scan_backward_on_cuda_equals_the_cpu(options):
    options = dict(options)
    truncated = options.pop("truncated", False)
    layer = rnnlab.Recurrent("lstm1997", I, H, **options)
    layer.cells[0].truncated_gradient = truncated  # the 1997 rule's gradient (train.algorithm = "lstm_truncated")
    _against_the_cpu(layer)


@cuda
def test_the_fully_recurrent_scan_backward_on_cuda_equals_the_cpu():
    _against_the_cpu(rnnlab.Recurrent("fully_recurrent", I, H))


@cuda
@pytest.mark.parametrize("model", ["gru", "gru_v3"])
def test_rnnlab_train_on_cuda(tmp_path, capsys, model):
    run = tmp_path / "run"
    assert cli.main(["train", "adding", "--model", model, "--steps", "3", "--device", "cuda", *SMALL_RUN,
                     "--out", str(run)]) == 0
    assert json.loads((run / "config.json").read_text())["train"]["device"] == "cuda"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["step"] == 3 and math.isfinite(summary["loss"])
    saved = ckpt.load_latest(run / "checkpoints")
    assert saved.step == 3 and all(torch.isfinite(t).all() for k, t in saved.tensors.items() if k.startswith("model."))
    capsys.readouterr()
    assert cli.main(["eval", str(run), "--json"]) == 0  # read back onto the GPU it names
    assert json.loads(capsys.readouterr().out)["loss"] == pytest.approx(summary["loss"])


def test_device_cuda_without_a_gpu_is_refused_before_any_work(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # this machine, or one with a GPU, alike
    run = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "adding", "--model", "gru", "--steps", "2", "--device", "cuda", *SMALL_RUN,
                  "--out", str(run)])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == ("rnnlab train: error: train.device is cuda, but torch sees no CUDA device "
                                       "(use cpu or auto)\n")
    assert not run.exists()
