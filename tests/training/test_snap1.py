"""train.algorithm = "snap1": the one-step pattern by hand; equal to RTRL where J_t keeps M_t on it (a diagonal
recurrent matrix), not otherwise; equal to the dense masked recursion for every cell; online updates; flat
memory; what it refuses."""


import pytest
import torch

from rnnlab.training.algorithms import snap1
from rnnlab.training.algorithms.sensitivity import OneStep, recurrent_layer
from rnnlab.training.trainer import TrainingError

from sensitivity_runs import SHAKESPEARE
from sensitivity_runs import applied as _applied
from sensitivity_runs import relative as _relative
from sensitivity_runs import trainer as _trainer


def _diagonal_recurrence(model) -> None:
    """Every H × H block of the recurrent weights made diagonal: unit i reads only its own past."""
    with torch.no_grad():
        for name, weight in model.named_parameters():
            if name.endswith("weight_hh"):
                hidden = weight.shape[1]
                weight.view(-1, hidden, hidden).mul_(torch.eye(hidden, dtype=weight.dtype))


def _gradients(tmp_path, task, cell, overrides, *, diagonal: bool) -> dict:
    gradients = {}
    for algorithm in ("rtrl", "snap1"):
        trainer = _trainer(tmp_path, task, cell, algorithm, *overrides, name=algorithm)
        if diagonal:
            _diagonal_recurrence(trainer.model)
        seen = _applied(trainer)
        trainer.train_step()
        assert len(seen) == 1
        gradients[algorithm] = seen[0]
    return gradients


CASES = [  # (task, overrides): one output at the end of padded sequences; one at every step
    ("adding", ["task.length=12"]),
    ("elman_xor", ["task.length=9"]),
]


@pytest.mark.parametrize("cell", ["elman_tanh", "fully_recurrent", "gru", "gru_v3"])
@pytest.mark.parametrize("task, overrides", CASES, ids=[c[0] for c in CASES])
def test_snap1_equals_rtrl_for_a_diagonal_recurrent_matrix(tmp_path, cell, task, overrides):
    gradients = _gradients(tmp_path, task, cell, overrides, diagonal=True)
    assert _relative(gradients["snap1"], gradients["rtrl"]) < 1e-10


@pytest.mark.parametrize("cell", ["elman_tanh", "lstm"])
def test_snap1_differs_from_rtrl_for_a_full_one(tmp_path, cell):
    gradients = _gradients(tmp_path, CASES[0][0], cell, CASES[0][1], diagonal=False)
    assert _relative(gradients["snap1"], gradients["rtrl"]) > 1e-3


def test_the_lstm_is_not_exact_even_with_diagonal_recurrent_blocks(tmp_path):
    """Its output gate reaches h_j in one step but c_j only in two: outside SnAp-1's pattern."""
    gradients = _gradients(tmp_path, CASES[0][0], "lstm", CASES[0][1], diagonal=True)
    assert _relative(gradients["snap1"], gradients["rtrl"]) > 1e-4


def _reach(tmp_path, cell) -> dict:
    trainer = _trainer(tmp_path, "adding", cell, "snap1", "task.length=12", "model.hidden_size=3", name=cell)
    layer = recurrent_layer(trainer.model)
    layer.fast_paths = False  # the plain loop: torch.func has no rules for the fused kernels
    step = OneStep(trainer.model, layer)
    return {name.rsplit(".", 1)[1]: reach for name, reach in snap1.one_step_reach(step, (2,)).items()}


def test_the_one_step_pattern_of_the_elman_network_is_one_unit_a_weight(tmp_path):
    reach = _reach(tmp_path, "elman_tanh")  # H = 3 units, 2 inputs
    unit_of_row = torch.arange(3)
    for name, columns in (("weight_ih", 2), ("weight_hh", 3), ("bias_ih", 1), ("bias_hh", 1)):
        expected = (torch.arange(3)[:, None] == unit_of_row.repeat_interleave(columns)[None])  # (n, P)
        assert torch.equal(reach[name], expected), name
        assert len(snap1.colour_units(reach[name])) == 1


def test_the_one_step_pattern_of_the_lstm_by_hand(tmp_path):
    """State (h_0..h_2, c_0..c_2); weight rows by gate i, f, g, o: the first three reach c_j and h_j, o only h_j."""
    reach = _reach(tmp_path, "lstm")
    expected = torch.zeros(6, 12, dtype=torch.bool)  # (n, rows of W_hh)
    for gate in range(4):
        for j in range(3):
            expected[j, 3 * gate + j] = True  # h_j
            expected[3 + j, 3 * gate + j] = gate < 3  # c_j: not through the output gate
    assert torch.equal(reach["weight_hh"], expected.repeat_interleave(3, dim=1))  # 3 columns a row
    assert snap1.colour_units(reach["weight_hh"]) == [[0, 1, 2], [3, 4, 5]]  # h, then c: 2 colours


def test_the_reset_gate_of_gru_v3_reaches_every_unit_in_one_step(tmp_path):
    """ĥ = tanh(W_h x + U_h (r ⊙ h) + b_h): a weight of r_j reaches every unit; of z_j or ĥ_j, unit j only."""
    reach = _reach(tmp_path, "gru_v3")["weight_hh"].view(3, 3, 3, 3)  # (unit, gate z r h, row j, column)
    for gate in range(3):
        for j in range(3):
            expected = torch.ones(3, dtype=torch.bool) if gate == 1 else torch.arange(3) == j
            assert torch.equal(reach[:, gate, j, :], expected[:, None].expand(3, 3)), (gate, j)
    assert len(snap1.colour_units(reach.view(3, -1))) == 3  # as costly as RTRL for this tensor


def _masked_rtrl(trainer, batch) -> list[torch.Tensor]:
    """An independent SnAp-1: M̂_t = (J_t M̂_{t−1} + K_t) ⊙ 𝒫 with dense (B, n, P) matrices, the paper's
    definition written out, for an output at every step -> the gradient."""
    model, task = trainer.model, trainer.task
    layer = recurrent_layer(model)
    layer.fast_paths = False
    step = OneStep(model, layer)
    pattern = snap1.one_step_reach(step, tuple(batch.inputs.shape[2:]))  # (n, P) per parameter
    steps, size = batch.inputs.shape[:2]
    state = torch.zeros(size, step.n, dtype=torch.float64)
    influence = {name: torch.zeros(size, step.n, p.numel(), dtype=torch.float64) for name, p in step.tracked.items()}
    for t in range(steps):
        _, _, grad_state = step.loss(task, state, batch.inputs[t], batch.steps(t, t + 1), 1.0 / steps)
        for name in step.names:  # + (∂L_t/∂s_{t−1}) M̂_{t−1}
            step.tracked[name].grad += torch.einsum("bn,bnp->p", grad_state, influence[name]).view_as(
                step.tracked[name])
        with torch.no_grad():
            k_parts, j, state = step.jacobians(state, batch.inputs[t])
            for name, k in zip(step.names, k_parts):
                influence[name] = (j @ influence[name] + k.reshape(size, step.n, -1)) * pattern[name]
    return [p.grad for p in model.parameters()]


@pytest.mark.parametrize("cell", ["elman_tanh", "lstm", "gru_v3"])
def test_snap1_is_the_masked_recursion_of_the_paper(tmp_path, cell):
    """One colour (Elman), two (LSTM: h and c), n (gru_v3's reset gate): the compact M̂ is the dense masked one."""
    trainer = _trainer(tmp_path, "elman_xor", cell, "snap1", "task.length=9", name=cell)
    seen = _applied(trainer)
    batch = trainer._training_batch()
    trainer.algorithm.train_batch(batch, trainer._update)
    reference = _trainer(tmp_path, "elman_xor", cell, "bptt", "task.length=9", name=f"{cell}-reference")
    assert _relative(seen[0], _masked_rtrl(reference, batch)) < 1e-10


def test_online_snap1_updates_after_every_step_with_a_loss(tmp_path):
    trainer = _trainer(tmp_path, "elman_xor", "elman_tanh", "snap1", "task.length=9", "train.online=true")
    seen = _applied(trainer)
    before = [p.detach().clone() for p in trainer.model.parameters()]
    trainer.train_step()
    assert len(seen) == 9
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.model.parameters()))
    # its first update is the gradient of the first step's loss alone (M̂_0 = 0)
    first = _trainer(tmp_path, "elman_xor", "elman_tanh", "bptt", "task.length=9", "train.tbptt=1", name="first")
    batch = first._training_batch()
    outputs, _ = first.model(batch.inputs[:1])
    (first.task.loss(outputs, batch.steps(0, 1)) / 9).backward()
    assert _relative(seen[0], [p.grad for p in first.model.parameters()]) < 1e-10


def test_the_sensitivity_is_one_number_a_weight_whatever_the_length(tmp_path):
    """Memory independent of T, and as large as the weights for the Elman network: (B, 1, P) per parameter."""
    sizes = {}
    for length in (12, 48):
        trainer = _trainer(tmp_path, "adding", "elman_tanh", "snap1", f"task.length={length}", name=str(length))
        kept, advance = [], trainer.algorithm.advance

        def spying(*args):
            carried, state = advance(*args)
            kept.append(sum(t.numel() for t in carried.values()))
            return carried, state

        trainer.algorithm.advance = spying
        trainer.train_step()
        sizes[length] = max(kept)
    weights = sum(p.numel() for p in recurrent_layer(trainer.model).parameters())
    assert sizes[12] == sizes[48] == 3 * weights  # B = 3 sequences


@pytest.mark.parametrize("task, model, overrides, message", [
    ("copy", "ntm", [], "needs exactly one rnnlab.Recurrent stack"),
    ("reverse", "gru", [], "task reverse decodes its outputs"),
    ("adding", "gru", ["model.num_layers=2"], "must be one layer, one direction"),
    ("adding", "gru", ["model.bidirectional=true"], "must be one layer, one direction"),
    ("adding", "gru", ["train.tbptt=5"], "train.tbptt does not apply"),
    ("char_lm", "gru", [f"task.path={SHAKESPEARE}"], "token inputs .an input embedding. are not supported yet"),
    ("adding", "gru", ["model.pooling=mean"], "model.pooling = 'mean'"),
])
def test_combinations_that_make_no_sense_are_refused_in_one_line(tmp_path, task, model, overrides, message):
    with pytest.raises(TrainingError, match=f"train.algorithm = 'snap1': .*{message}"):
        _trainer(tmp_path, task, model, "snap1", *overrides)
