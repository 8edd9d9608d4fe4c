"""analysis.cell_activity: the 1997 LSTM's states and gates over one sequence, and their picture."""

import pytest
import torch

from rnnlab import config, runs
from rnnlab.analysis.cell_activity import cell_activity, draw_cell_activity, plot_cell_activity, supports


def _model(cell: str, **options):
    overrides = ["model.hidden_size=4", "task.length=12"]
    if options:
        overrides.append("model.options={" + ", ".join(f"{k} = {v}" for k, v in options.items()) + "}")
    run = config.build_config("adding", model=cell, overrides=overrides)
    task = runs.build_task(run)
    torch.manual_seed(0)
    return runs.build_model(run, task), task


def test_the_recorded_states_are_the_layers():
    model, task = _model("lstm1997", block_size=2, forget_gate="true")
    batch = task.sample(3, torch.Generator().manual_seed(1))
    length = int(batch.lengths[0]) if batch.lengths is not None else batch.inputs.shape[0]
    activity = cell_activity(model, batch.inputs[:, 0], length)
    layer = next(m for m in model.modules() if type(m).__name__ == "Recurrent")
    outputs, (h, c) = layer(batch.inputs[:length, :1])
    assert activity.outputs.shape == (length, 4) and activity.in_gate.shape == (length, 2)
    assert torch.allclose(torch.from_numpy(activity.outputs), outputs[:, 0].detach(), atol=1e-6)
    assert torch.allclose(torch.from_numpy(activity.states[-1]), c[0, 0], atol=1e-6)
    assert activity.forget_gate is not None and activity.forget_gate.shape == (length, 2)


def test_the_picture_is_written(tmp_path):
    model, task = _model("lstm1997")
    batch = task.sample(2, torch.Generator().manual_seed(1))
    path = draw_cell_activity(model, batch, tmp_path)
    assert path == tmp_path / "cell_activity.png" and path.stat().st_size > 10_000
    activity = cell_activity(model, batch.inputs[:, 0], 5)
    assert plot_cell_activity(activity, tmp_path / "x.png", input_labels=["value", "marker"]).exists()


def test_other_cells_are_refused_with_a_reason():
    model, task = _model("lstm")
    assert "lstm1997" in supports(model)
    with pytest.raises(ValueError, match="cell activity is drawn for lstm1997 cells; this model's first cell is LSTMCell"):
        cell_activity(model, torch.zeros(5, 2))
