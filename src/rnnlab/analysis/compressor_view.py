"""Pictures of a neural history compressor at work: level 0's surprise along the stream, and the events each
level keeps (issue 14).

Schmidhuber (1992), §3: level 0 (the automatiser) predicts every input; the inputs it fails to predict, and
only those, are passed up to level 1 (the chunker), which runs on its own clock; and so on up the stack
(``models.history_compressor``).  On the 20-step lag (``tasks.chunk_lag``) a trained level 0 predicts b1 …
b20 and is surprised only by the a or x that opens each block; level 1 receives those alone, one element a
block, and gives the label at the block's end.  ``draw_compressor_events`` shows exactly that, over time:

    input       the symbols, by name (a, x, b1 … b20 on chunk_lag), those level 0 passed up in colour
    surprise    level 0's −log p^0_t(x_t) in nats, a bar a step (the largest error |x̂_t − x_t|_∞ for
                real-valued inputs), coloured where the step was passed up; the threshold dashed: −log θ
                (θ itself for real values).  A step above it is passed up (below it too if the argmax was
                wrong, which θ < 1/2 allows: the bars' colour is the model's own decision, not the line's)
    level k     a mark at each step whose element level k received (k = 1 … K − 1), with its symbol
    answers     at each label step the model's answer, green right, red wrong with the truth beside it
                (and, for a collapsed model, the automatiser's own answer in a second row)

Faint vertical lines close each labelled segment (a block of chunk_lag).  A long sequence is cut after the
last label within ``max_steps`` steps (the title says which steps are shown); the counts in the titles are
those of the whole sequence.  ``compressor_numbers`` returns the same facts as numbers over a whole batch
(per-level event counts, compression ratios, which symbols each level kept, labels right) for tests and for
``reproduce compressor``; ``events_picture`` writes DIRECTORY/compressor_events.png, the picture of
``rnnlab eval RUN --plots`` for a history-compressor run (runs.evaluate).

Symbol names come from the task: its ``TOKENS`` where it has them, chunk_lag's a, x, b1 … b_lag, else the ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from ..models.history_compressor import HistoryCompressor
from ..tasks.chunk_lag import ChunkLagTask
from .tree_view import RIGHT, WRONG

PREDICTED = "#b0bec5"  # level 0's bar at a step it predicted (grey)
LEVEL_COLOURS = ("#e65100", "#6a1b9a", "#1565c0", "#00838f")  # level k's marks (k = 1, 2, …), and level 0's
#                                                                bars of the steps it passed up to level 1
SEPARATOR = "#cfd8dc"  # the line after each label step
MAX_STEPS = 126  # steps drawn by default: the first 6 blocks of chunk_lag's lag 20 (of 10, 210 steps)
TEXT_STEPS = 260  # up to this many steps drawn, every symbol is named; beyond, only those passed up
_INCH_PER_STEP = 0.125
_MIN_WIDTH, _MAX_WIDTH = 10.0, 26.0  # inches
_LEFT = 1.25  # inches: the rows' names


class CompressorTrace(NamedTuple):
    """One sequence through a ``HistoryCompressor``, step by step (T real steps, K levels)."""

    names: list[str]  # (T,) the input symbols by name
    surprise: np.ndarray  # (T,) level 0's −log p of the symbol that came (nats); real values: the largest error
    threshold: float | None  # the surprise above which a step is passed up (−log θ, or θ); None when θ = 0
    passed: np.ndarray  # (T,) bool: the steps level 0 failed to predict, passed up to level 1
    events: list[np.ndarray]  # per level k = 1 … K−1, (T,) bool: the steps whose element level k received
    targets: np.ndarray  # (T,) int: the label at each step, −1 where there is none
    answers: np.ndarray  # (T,) int: the model's answer (the argmax of its outputs) at every step
    automatiser_answers: np.ndarray | None  # (T,) collapsed: the automatiser's own answer (None otherwise)
    class_names: list[str]  # the name of each answer's class
    tokens: bool  # token inputs (surprise −log p) or real-valued (surprise the largest error)


class CompressorNumbers(NamedTuple):
    """The events of a batch, counted (``compressor_numbers``)."""

    steps: int  # the batch's real input steps (n_0 summed over its sequences)
    events: tuple[int, ...]  # per level k = 1 … K−1: the elements it received
    ratios: tuple[float, ...]  # per level k: steps / events, input steps per element (inf when none)
    kept: tuple[dict[str, int], ...]  # per level k: how many elements of each symbol it received, by name
    labels: int  # label steps in the batch
    right: int  # of them, answered right by the model


# ---- names --------------------------------------------------------------------------------------------------------

def symbol_names(task, vocab: int) -> list[str]:
    """The name of each of ``vocab`` input symbols: the task's ``TOKENS``, chunk_lag's a, x, b1 … b_lag, or ids."""
    tokens = getattr(task, "TOKENS", None)
    if tokens is not None and len(tokens) >= vocab:
        return [str(t) for t in tokens[:vocab]]
    if isinstance(task, ChunkLagTask):
        return (["a", "x"] + [f"b{i}" for i in range(1, task.config.lag + 1)])[:vocab] + \
            [str(i) for i in range(task.config.lag + 2, vocab)]
    return [str(i) for i in range(vocab)]


def class_names(task, classes: int) -> list[str]:
    """The name of each of ``classes`` answers: chunk_lag's a and x (a label is its first symbol), else ids."""
    if isinstance(task, ChunkLagTask):
        return symbol_names(task, max(classes, 2))[:classes]
    return [str(c) for c in range(classes)]


# ---- the model over one sequence, or a batch ----------------------------------------------------------------------

def supports(model: nn.Module) -> str | None:
    """None when the compressor pictures can be drawn for ``model``, else why not (one line)."""
    if not isinstance(model, HistoryCompressor):
        return f"the model {type(model).__name__} is not a HistoryCompressor"
    return None


def _check(model: nn.Module, batch) -> None:
    reason = supports(model)
    if reason:
        raise ValueError(f"compressor pictures: {reason}")
    inputs = getattr(batch, "inputs", None)
    if not isinstance(inputs, torch.Tensor) or not hasattr(batch, "targets") or not hasattr(batch, "lengths"):
        raise ValueError(f"compressor pictures: expected a Batch (inputs, targets, lengths); got "
                         f"{type(batch).__name__}")


def _symbol_ids(model: HistoryCompressor, inputs: torch.Tensor) -> torch.Tensor:
    """(T, B) ids: the tokens, or the argmax of each real-valued input (a one-hot vector's symbol)."""
    return inputs if model.input_vocab is not None else inputs.argmax(-1)


def _vocab(model: HistoryCompressor) -> int:
    return model.input_vocab if model.input_vocab is not None else model.input_size


@torch.no_grad()
def _run(model: HistoryCompressor, batch, columns: slice):
    """forward and level 0's predictions on ``columns`` of ``batch``, in eval mode (the model's mode is kept), on
    the model's device -> (inputs (T, B[, I]), real (T, B) bool, outputs (T, B, O), state, predictions)."""
    device = next(model.parameters()).device
    inputs = batch.inputs[:, columns].to(device)
    lengths = None if batch.lengths is None else batch.lengths[columns].to(device)
    training = model.training
    model.eval()
    try:
        outputs, state = model(inputs, lengths)
        predictions = model.input_predictions(inputs, lengths)  # (T, B, V) or (T, B, I)
    finally:
        model.train(training)
    T, B = inputs.shape[:2]
    real = torch.ones(T, B, dtype=torch.bool, device=device) if lengths is None else \
        torch.arange(T, device=device).unsqueeze(1) < lengths  # (T, B)
    return inputs, real, outputs, state, predictions


def _targets(batch, columns: slice, steps: int, width: int) -> torch.Tensor:
    """(T, B) the label at every step (−1 where none): the batch's targets when they are one class a step."""
    targets = batch.targets[:, columns] if batch.targets.dim() == 2 else None
    if targets is None or tuple(targets.shape) != (steps, width) or targets.is_floating_point():
        return torch.full((steps, width), -1, dtype=torch.long)
    return targets.cpu().long()


def compressor_trace(model: nn.Module, batch, index: int = 0, *, task=None) -> CompressorTrace:
    """Sequence ``index`` of ``batch`` through ``model`` (a ``HistoryCompressor``), step by step: level 0's
    surprise and decisions, every level's events, the labels and the model's answers.  ``task`` names the
    symbols and classes (``symbol_names``, ``class_names``)."""
    _check(model, batch)
    size = batch.inputs.shape[1]
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < size:
        raise ValueError(f"compressor pictures: sequence index {index!r} is outside the batch of {size} sequences")
    columns = slice(index, index + 1)
    inputs, real, outputs, state, predictions = _run(model, batch, columns)
    steps = int(real[:, 0].sum())
    x, scores = inputs[:steps, 0], predictions[:steps, 0]  # (T,) or (T, I); (T, V) or (T, I)
    level = model.levels[0]
    passed = ~level.hits(scores, None, x, None, model.threshold)  # (T,)
    if level.tokens:
        surprise = -scores.log_softmax(-1).gather(-1, x.unsqueeze(-1)).squeeze(-1)  # (T,) nats
        threshold = -float(np.log(model.threshold)) if model.threshold > 0 else None
    else:
        surprise = (scores - x).abs().amax(-1)  # (T,)
        threshold = model.threshold
    names = symbol_names(task, _vocab(model))
    automatiser = state.automatiser_outputs
    return CompressorTrace(
        names=[names[i] for i in _symbol_ids(model, x).tolist()],
        surprise=surprise.double().cpu().numpy(), threshold=threshold, passed=passed.cpu().numpy(),
        events=[m[:steps, 0].cpu().numpy() for m in state.events],
        targets=_targets(batch, columns, inputs.shape[0], 1)[:steps, 0].numpy(),
        answers=outputs[:steps, 0].argmax(-1).cpu().numpy(),
        automatiser_answers=None if automatiser is None else automatiser[:steps, 0].argmax(-1).cpu().numpy(),
        class_names=class_names(task, model.output_size), tokens=level.tokens)


def compressor_numbers(model: nn.Module, batch, *, task=None) -> CompressorNumbers:
    """The events of every sequence of ``batch``, counted: per level k >= 1 the elements it received (those of
    ``state.events``, which ``compress`` finds one sequence at a time), input steps per element (as
    ``compression_ratios``), the symbols it kept by name; and the labels the model answered right."""
    _check(model, batch)
    inputs, real, outputs, state, _ = _run(model, batch, slice(None))
    T, B = real.shape
    names = symbol_names(task, _vocab(model))
    ids = _symbol_ids(model, inputs)  # (T, B)
    steps = int(real.sum())
    events, kept = [], []
    for mask in state.events:  # (T, B) bool, real steps only
        counts = torch.bincount(ids[mask], minlength=len(names)).tolist()
        events.append(int(mask.sum()))
        kept.append({names[i]: n for i, n in enumerate(counts) if n})
    targets = _targets(batch, slice(None), T, B).to(real.device)
    labelled = (targets >= 0) & real  # (T, B)
    right = int((outputs.argmax(-1) == targets)[labelled].sum())
    return CompressorNumbers(steps=steps, events=tuple(events),
                             ratios=tuple(steps / n if n else float("inf") for n in events), kept=tuple(kept),
                             labels=int(labelled.sum()), right=right)


def compression_monitor(model: nn.Module, batch) -> dict[str, float]:
    """A trainer monitor (logged at every evaluation): per level k >= 1 of the held-out batch, the input steps over
    the elements level k received, ``compression_ratio_level_k`` (no element: the whole batch's steps)."""
    with torch.no_grad():
        numbers = compressor_numbers(model, batch)
    return {f"compression_ratio_level_{k}": float(ratio if ratio != float("inf") else numbers.steps)
            for k, ratio in enumerate(numbers.ratios, start=1)}


# ---- the picture --------------------------------------------------------------------------------------------------

def shown_steps(trace: CompressorTrace, max_steps: int = MAX_STEPS) -> int:
    """How many steps of ``trace`` are drawn: all when at most ``max_steps``, else up to the last label within
    ``max_steps`` steps (whole labelled segments), else up to the first label, else ``max_steps``."""
    steps = len(trace.names)
    if steps <= max_steps:
        return steps
    labels = np.flatnonzero(trace.targets >= 0)
    within = labels[labels < max_steps]
    if len(within):
        return int(within[-1]) + 1
    return int(labels[0]) + 1 if len(labels) else max_steps


def _check_trace(trace, i: int) -> None:
    if not isinstance(trace, CompressorTrace):
        raise TypeError(f"draw_compressor_events: trace {i} is a {type(trace).__name__}, not a CompressorTrace")
    steps = len(trace.names)
    arrays = {"surprise": trace.surprise, "passed": trace.passed, "targets": trace.targets, "answers": trace.answers,
              **{f"events[{k}]": e for k, e in enumerate(trace.events)}}
    if trace.automatiser_answers is not None:
        arrays["automatiser_answers"] = trace.automatiser_answers
    for name, values in arrays.items():
        if np.shape(values) != (steps,):
            raise ValueError(f"draw_compressor_events: trace {i}'s {name} must hold one value a step, ({steps},); "
                             f"got shape {np.shape(values)}")
    if steps == 0:
        raise ValueError(f"draw_compressor_events: trace {i} has no steps")


def draw_compressor_events(traces: CompressorTrace | Sequence[CompressorTrace], path: str | Path, *,
                           max_steps: int = MAX_STEPS, titles: Sequence[str] | None = None,
                           heading: str = "") -> Path:
    """Draw each trace (one sequence, ``compressor_trace``) as a group of rows over time: input, level 0's
    surprise, each higher level's events, the answers (module docstring), into ``path`` (PNG); returns the path.
    At most ``max_steps`` steps of each are drawn (``shown_steps``), all groups at one scale."""
    if isinstance(traces, CompressorTrace):
        traces = [traces]
    if not isinstance(traces, Sequence) or not traces:
        raise ValueError("draw_compressor_events: traces must be a CompressorTrace or a non-empty sequence of them")
    for i, trace in enumerate(traces):
        _check_trace(trace, i)
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
        raise ValueError(f"draw_compressor_events: max_steps must be an int >= 1; got {max_steps!r}")
    titles = [""] * len(traces) if titles is None else list(titles)
    if len(titles) != len(traces):
        raise ValueError(f"draw_compressor_events: {len(traces)} traces need as many titles; got {len(titles)}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    path = Path(path)
    ends = [shown_steps(trace, max_steps) for trace in traces]
    span = max(ends)
    inches = min(_MAX_WIDTH, max(_MIN_WIDTH, _INCH_PER_STEP * span + _LEFT + 0.4))
    rows, heights = [], []  # (trace index, kind, level) and the rows' heights in inches
    for i, trace in enumerate(traces):
        rows += [(i, "input", 0), (i, "surprise", 0)] + [(i, "events", k + 1) for k in range(len(trace.events))]
        heights += [0.5, 1.7] + [0.55] * len(trace.events)
        if (trace.targets >= 0).any():
            rows.append((i, "answers", 0))
            heights.append(0.5)
            if trace.automatiser_answers is not None:
                rows.append((i, "automatiser", 0))
                heights.append(0.5)
        if i < len(traces) - 1:
            rows.append((i, "gap", 0))
            heights.append(0.45)
    top = (0.3 if heading else 0) + 0.65  # the heading, the legend and the first group's title
    bottom = 0.45
    figure = plt.figure(figsize=(inches, sum(heights) + top + bottom))
    grid = figure.add_gridspec(len(rows), 1, height_ratios=heights, hspace=0.08,
                               top=1 - top / figure.get_figheight(), bottom=bottom / figure.get_figheight(),
                               left=_LEFT / inches, right=1 - 0.25 / inches)
    first_axes = None
    for r, (i, kind, k) in enumerate(rows):
        if kind == "gap":
            continue
        axes = figure.add_subplot(grid[r], sharex=first_axes)
        first_axes = first_axes or axes
        trace, end = traces[i], ends[i]
        _draw_row(axes, kind, k, trace, end)
        for label in np.flatnonzero(trace.targets[:end] >= 0):
            axes.axvline(label + 0.5, color=SEPARATOR, linewidth=0.8, zorder=0)
        last = r == len(rows) - 1 or rows[r + 1][1] == "gap"
        axes.tick_params(axis="x", labelbottom=last, bottom=last, labelsize=8)
        if r == len(rows) - 1:
            axes.set_xlabel("time step t", fontsize=8)
        if kind == "input":
            axes.set_title(_group_title(trace, end, titles[i]), fontsize=9, loc="left")
    first_axes.set_xlim(-0.6, span - 0.4)
    first_axes.xaxis.set_major_locator(matplotlib.ticker.MultipleLocator(10 if span <= 400 else 100))

    thresholds = {trace.threshold for trace in traces if trace.threshold is not None}
    tokens = traces[0].tokens
    handles = [Patch(color=LEVEL_COLOURS[0], label="surprise of a step passed up to level 1 (level 0 missed it)"),
               Patch(color=PREDICTED, label="surprise of a step level 0 predicted")]
    if thresholds:
        value = next(iter(thresholds))
        text = f"threshold −log θ = {value:.3g}" if tokens else f"threshold θ = {value:.3g}"
        handles.append(Line2D([], [], color="black", linestyle="--", linewidth=1, label=text))
    if any((trace.targets >= 0).any() for trace in traces):
        handles += [Line2D([], [], linestyle="", marker="o", markersize=9, color=RIGHT,
                           label="answer at a label, right"),
                    Line2D([], [], linestyle="", marker="o", markersize=9, color=WRONG,
                           label="answer, wrong (the truth boxed beside it)")]
    below = 0.08 + (0.3 if heading else 0)
    if heading:
        figure.text(0.15 / inches, 1 - 0.08 / figure.get_figheight(), heading, ha="left", va="top", fontsize=10,
                    fontweight="bold")
    figure.legend(handles=handles, loc="upper left", ncol=len(handles), fontsize=8, frameon=False,
                  bbox_to_anchor=(0.1 / inches, 1 - below / figure.get_figheight()))
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _group_title(trace: CompressorTrace, end: int, title: str) -> str:
    """'held-out sequence 1: steps 0–125 of 210 (6 of 10 labels); level 0 passed up 10 (a 5, x 5); …'."""
    steps = len(trace.names)
    labels = int((trace.targets >= 0).sum())
    shown = int((trace.targets[:end] >= 0).sum())
    window = f"all {steps} steps" if end == steps else f"steps 0–{end - 1} of {steps}"
    if labels and end < steps:
        window += f" ({shown} of {labels} labels)"
    passed = [name for name, p in zip(trace.names, trace.passed) if p]
    parts = [f"level 0 passed up {len(passed)} of {steps} steps ({_tally(passed)})"]
    for k, events in enumerate(trace.events, start=1):
        parts.append(f"level {k} received {int(events.sum())}")
    if labels:
        labelled = trace.targets >= 0
        parts.append(f"labels right {int((trace.answers[labelled] == trace.targets[labelled]).sum())} of {labels}")
        if trace.automatiser_answers is not None:
            alone = int((trace.automatiser_answers[labelled] == trace.targets[labelled]).sum())
            parts.append(f"the automatiser alone {alone} of {labels}")
    head = f"{title}: {window}" if title else window
    return f"{head}; " + "; ".join(parts) + " (the whole sequence)"


def _tally(names: list[str], most: int = 6) -> str:
    """'a 5, x 5' -- the commonest names first, at most ``most`` of them."""
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    ordered = sorted(counts.items(), key=lambda item: -item[1])
    text = ", ".join(f"{name} {n}" for name, n in ordered[:most])
    return text + (", …" if len(ordered) > most else "") if ordered else "none"


def _row_name(axes, text: str) -> None:
    axes.set_ylabel(text, rotation=0, ha="right", va="center", fontsize=8, labelpad=8)


def _draw_row(axes, kind: str, k: int, trace: CompressorTrace, end: int) -> None:
    steps = np.arange(end)
    named = end <= TEXT_STEPS
    if kind == "input":
        size = 7 if end <= 160 else 6
        passed_steps = np.flatnonzero(trace.passed[:end])
        dense = len(passed_steps) > 1 and int(np.diff(passed_steps).min()) < 3
        for t in steps:
            passed = bool(trace.passed[t])
            if passed and (named or not dense):  # short names upright and larger where they stand apart (a, x)
                upright = not dense and len(trace.names[t]) <= 2
                axes.text(t, 0.5, trace.names[t], ha="center", va="center", rotation=0 if upright else 90,
                          fontsize=10 if upright else size, color=LEVEL_COLOURS[0], fontweight="bold")
            elif named:
                axes.text(t, 0.5, trace.names[t], ha="center", va="center", rotation=90, fontsize=size,
                          color="#455a64")
        axes.set_ylim(0, 1)
        axes.set_yticks([])
        _row_name(axes, "input")
    elif kind == "surprise":
        surprise, passed = trace.surprise[:end], trace.passed[:end]
        colours = [LEVEL_COLOURS[0] if p else PREDICTED for p in passed]
        axes.bar(steps, surprise, width=0.8, color=colours, zorder=2)
        high = float(np.nanmax(surprise)) if len(surprise) else 1.0
        if trace.threshold is not None:
            axes.axhline(trace.threshold, color="black", linestyle="--", linewidth=1, zorder=3)
            high = max(high, 1.6 * trace.threshold)
        axes.set_ylim(0, 1.12 * high if high > 0 else 1)
        axes.tick_params(axis="y", labelsize=7)
        axes.grid(axis="y", alpha=0.25, zorder=0)
        _row_name(axes, "level 0\nsurprise\n" + ("−log p (nats)" if trace.tokens else "|x̂ − x|∞"))
    elif kind == "events":
        events = np.flatnonzero(trace.events[k - 1][:end])
        colour = LEVEL_COLOURS[(k - 1) % len(LEVEL_COLOURS)]
        axes.plot(events, np.full(len(events), 0.28), linestyle="", marker="s", markersize=5, color=colour)
        dense = len(events) > 1 and int(np.diff(events).min()) < 3
        for t in events if named or not dense else ():
            axes.text(t, 0.5, trace.names[t], ha="center", va="bottom", rotation=90 if dense else 0,
                      fontsize=6.5 if dense else 9, color=colour, fontweight="bold")
        axes.set_ylim(0, 1.25 if dense else 1)
        axes.set_yticks([])
        role = "\n(chunker)" if k == 1 and len(trace.events) == 1 else ""
        _row_name(axes, f"level {k}{role}\nreceives")
    else:  # the answers at the label steps: the model's, or the collapsed automatiser's own
        answers = trace.answers if kind == "answers" else trace.automatiser_answers
        for t in np.flatnonzero(trace.targets[:end] >= 0):
            answer, truth = int(answers[t]), int(trace.targets[t])
            right = answer == truth
            axes.plot(t, 0.5, marker="o", markersize=12, markerfacecolor=RIGHT if right else WRONG,
                      markeredgecolor="white", zorder=3)
            axes.text(t, 0.5, _class(trace, answer), ha="center", va="center", fontsize=7, color="white",
                      fontweight="bold", zorder=4)
            if not right:  # the truth boxed to the left of the disc
                axes.annotate(_class(trace, truth), (t, 0.5), xytext=(-13, 0), textcoords="offset points",
                              ha="center", va="center", fontsize=7, zorder=5,
                              bbox=dict(boxstyle="square,pad=0.15", facecolor="white", edgecolor=WRONG, linewidth=0.8))
        axes.set_ylim(0, 1)
        axes.set_yticks([])
        _row_name(axes, "answer at\neach label" if kind == "answers" else "automatiser\nalone")
    for side in ("top", "right") if kind == "surprise" else ("top", "right", "left"):
        axes.spines[side].set_visible(False)


def _class(trace: CompressorTrace, value: int) -> str:
    return trace.class_names[value] if 0 <= value < len(trace.class_names) else str(value)


def events_picture(model: nn.Module, batch, directory: str | Path, *, task=None, sequences: int = 1,
                   max_steps: int = MAX_STEPS) -> Path:
    """DIRECTORY/compressor_events.png: the first ``sequences`` sequences of ``batch`` (e.g. the first held-out
    batch: ``rnnlab eval RUN --plots``), each drawn by ``draw_compressor_events``."""
    _check(model, batch)
    if isinstance(sequences, bool) or not isinstance(sequences, int) or sequences < 1:
        raise ValueError(f"compressor pictures: sequences must be an int >= 1; got {sequences!r}")
    count = min(sequences, batch.inputs.shape[1])
    traces = [compressor_trace(model, batch, b, task=task) for b in range(count)]
    levels = model.num_levels
    name = getattr(task, "name", "")
    described = (f"history compressor, {levels} level{'s' if levels > 1 else ''} of {model.cell_name}, "
                 f"θ = {model.threshold:g}" + (", collapsed" if model.collapsed else ""))
    heading = f"{name}: {described}" if name else described
    return draw_compressor_events(traces, Path(directory) / "compressor_events.png", max_steps=max_steps,
                                  titles=[f"held-out sequence {b + 1}" for b in range(count)], heading=heading)
