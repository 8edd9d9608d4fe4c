"""What the memory cells of a 1997 LSTM do over one sequence: their states, their gates, and the input.

Hochreiter & Schmidhuber (1997) argue from pictures of this kind (their §5 describes, per experiment,
which cell stores what and when its gates open): a solved long-time-lag task shows a cell whose input
gate opens at the relevant symbol, whose state s_c then stays flat across the lag (the constant error
carousel), and whose output gate opens when the answer is due.

``cell_activity(model, inputs)`` runs the model's first recurrent layer (an ``lstm1997`` cell; the
model must feed its inputs to that layer unchanged, as every N→1 and N→N topology without a token
embedding does) over one sequence and records, step by step, the cell's own ``parts``;
``plot_cell_activity`` draws them in three panels sharing the time axis: the input (one row a feature),
the cells' states s_c, and the gates' activations (input gate solid, output gate dashed, forget gate
dotted, one colour a block).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from .gradient_flow import recurrent_stacks


@dataclass
class CellActivity:
    """One sequence through an lstm1997 layer, step by step (T steps, H cells, K blocks)."""

    inputs: np.ndarray  # (T, H_in)
    states: np.ndarray  # (T, H): s_c after each step
    outputs: np.ndarray  # (T, H): y^c
    in_gate: np.ndarray  # (T, K)
    out_gate: np.ndarray  # (T, K)
    forget_gate: np.ndarray | None  # (T, K), None without the forget gate
    block_size: int


def supports(model: nn.Module) -> str | None:
    """None when ``cell_activity`` can record ``model``, else why not (one line)."""
    stacks = recurrent_stacks(model)
    if not stacks:
        return f"the model {type(model).__name__} has no rnnlab.Recurrent layer"
    cell = stacks[0][1].cells[0]
    if type(cell).__name__ != "LSTM1997Cell":
        return f"cell activity is drawn for lstm1997 cells; this model's first cell is {type(cell).__name__}"
    if isinstance(getattr(model, "embedding", None), nn.Module):
        return "the model embeds token inputs: the layer's input is not the task's"
    return None


@torch.no_grad()
def cell_activity(model: nn.Module, inputs: Tensor, length: int | None = None) -> CellActivity:
    """Record the first lstm1997 layer of ``model`` over ``inputs`` (T, H_in), one sequence, its first
    ``length`` steps (default all)."""
    reason = supports(model)
    if reason:
        raise ValueError(reason)
    cell = recurrent_stacks(model)[0][1].cells[0]
    steps = inputs.shape[0] if length is None else length
    x = inputs[:steps].to(next(cell.parameters()).dtype).unsqueeze(1)  # (T, 1, H_in)
    state = cell.initial_state(1)
    records = []
    for t in range(steps):
        parts = cell.parts(x[t], state)
        state = cell.state_of(parts)
        records.append(parts)

    def stacked(field: str) -> np.ndarray:
        return torch.cat([getattr(p, field) for p in records]).cpu().numpy()  # (T, ·)

    return CellActivity(inputs=x[:, 0].cpu().numpy(), states=stacked("c"), outputs=stacked("h"),
                        in_gate=stacked("in_gate"), out_gate=stacked("out_gate"),
                        forget_gate=stacked("forget_gate") if cell.forget_gate else None,
                        block_size=cell.block_size)


def plot_cell_activity(activity: CellActivity, path: str | Path, *, title: str = "memory cells at work",
                       input_labels: list[str] | None = None) -> Path:
    """Three panels over time: the input, the cells' states s_c, the gates (module docstring); returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    steps = activity.inputs.shape[0]
    figure, axes = plt.subplots(3, 1, figsize=(9, 6.5), sharex=True,
                                gridspec_kw={"height_ratios": [1.2, 1.5, 1.5]})
    axes[0].imshow(activity.inputs.T, aspect="auto", interpolation="nearest", cmap="Greys",
                   extent=(-0.5, steps - 0.5, activity.inputs.shape[1] - 0.5, -0.5))
    axes[0].set_ylabel("input")
    if input_labels is not None and len(input_labels) == activity.inputs.shape[1]:
        axes[0].set_yticks(range(len(input_labels)), input_labels, fontsize=7)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    dashes = ["-", "--", "-.", ":"]  # one a cell within its block; one colour a block
    for cell in range(activity.states.shape[1]):
        block, place = divmod(cell, activity.block_size)
        axes[1].plot(activity.states[:, cell], color=colours[block % len(colours)], linewidth=1.2,
                     linestyle=dashes[place % len(dashes)], label=f"block {block + 1}, cell {place + 1}")
    axes[1].set_ylabel("cell state $s_c$")
    axes[1].legend(fontsize=7, ncol=2, loc="best")
    for block in range(activity.in_gate.shape[1]):
        colour = colours[block % len(colours)]
        axes[2].plot(activity.in_gate[:, block], color=colour, linewidth=1.2, label=f"in {block + 1}")
        axes[2].plot(activity.out_gate[:, block], color=colour, linewidth=1.2, linestyle="--",
                     label=f"out {block + 1}")
        if activity.forget_gate is not None:
            axes[2].plot(activity.forget_gate[:, block], color=colour, linewidth=1.0, linestyle=":",
                         label=f"forget {block + 1}")
    axes[2].set_ylim(-0.05, 1.05)
    axes[2].set_ylabel("gate")
    axes[2].set_xlabel("time step")
    axes[2].legend(fontsize=7, ncol=3, loc="best")
    axes[0].set_title(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def draw_cell_activity(model: nn.Module, batch, directory: str | Path) -> Path:
    """DIRECTORY/cell_activity.png: the first sequence of ``batch`` (a picture of ``rnnlab eval --plots``)."""
    model.eval()
    length = None if batch.lengths is None else int(batch.lengths[0])
    activity = cell_activity(model, batch.inputs[:, 0], length)
    return plot_cell_activity(activity, Path(directory) / "cell_activity.png")
