"""Pictures of a Neural Turing Machine at work: what it reads, what it answers, where its heads look.

The figure of Graves, Wayne & Danihelka (2014), "Neural Turing Machines", arXiv:1410.5401,
Figures 4 and 6 (copy and repeat copy): time on the x axis of every panel,

    inputs              the input vectors x_t                          channel × time
    targets             the target bits, where they are scored         bit × time
    outputs             σ(y_t), the network's answer                   bit × time
    add vectors         one per write head: a_t                         memory element × time
    read vectors        one per read head: r_t                          memory element × time
    write weighting w   one heatmap per write head: w_t^w(i)            memory location × time
    read weighting      one heatmap per read head: w_t^r(i)             memory location × time

Bits, probabilities and weightings live in [0, 1]: one grey scale from 0 (white) to 1 (black)
reads all of them.  Add and read vectors are signed (a_t = tanh(…), r_t a blend of memory rows):
they share a second, diverging scale, blue below 0 and red above, symmetric about 0 (the paper's
middle row).  Red dashed lines bound the scored steps (the answer phase of copy); targets and
outputs outside them are drawn in a pale tint, as the task ignores them.  The title of the
outputs panel counts the wrong bits (σ(y) on the wrong side of ½).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

USED_WEIGHT = 0.01
"""A memory location counts as used when some head gives it at least this weight at some step."""
UNSCORED_TINT = "#dbe7f3"
"""The colour of targets and outputs at steps the task does not score."""


def _array(name: str, value, dims: int) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().float().numpy()
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != dims:
        raise ValueError(f"plot_trace expects {name} with {dims} dimensions; got shape {array.shape}")
    return array


def shown_locations(weights: np.ndarray, max_slots: int) -> tuple[int, int]:
    """(first, last) memory location to draw, inclusive, for weightings (T, H, N) of every head.

    All N locations when N <= ``max_slots``; else the span from the lowest to the highest location
    that some head ever weights by ``USED_WEIGHT`` or more, when it fits in ``max_slots`` rows;
    else the first ``max_slots`` locations."""
    slots = weights.shape[-1]
    if slots <= max_slots:
        return 0, slots - 1
    used = np.flatnonzero(weights.max(axis=(0, 1)) >= USED_WEIGHT)  # (locations used,)
    if len(used) and used[-1] - used[0] < max_slots:
        return int(used[0]), int(used[-1])
    return 0, max_slots - 1


def _scored_runs(scored: np.ndarray) -> list[tuple[int, int]]:
    """[(first, last)] steps of each run of consecutive scored steps."""
    edges = np.diff(np.concatenate([[0], scored.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1))


def plot_trace(inputs, targets, outputs, scored, write_weights, read_weights, path: str | Path,
               title: str = "", *, adds=None, reads=None, max_slots: int = 128) -> Path:
    """Write a PNG of one sequence to ``path`` (module docstring) and return the path.

    Args:
        inputs: (T, I) the input vectors x_t.
        targets: (T, O) the target bits, or None for no targets panel.
        outputs: (T, O) the output probabilities σ(y_t) (not logits).
        scored: (T,) bool, the steps whose output is scored; None when every step is.
        write_weights: (T, W, N) the write heads' weightings w_t^w.
        read_weights: (T, R, N) the read heads' weightings w_t^r.
        path: the PNG to write (its directory must exist).
        title: the figure's title.
        adds: (T, W, M) the write heads' add vectors a_t, or None for no add-vector panels.
        reads: (T, R, M) the read vectors r_t, or None for no read-vector panels.
        max_slots: at most this many memory locations are drawn (``shown_locations``).
    """
    inputs = _array("inputs", inputs, 2)
    outputs = _array("outputs", outputs, 2)
    write_weights = _array("write_weights", write_weights, 3)
    read_weights = _array("read_weights", read_weights, 3)
    steps = inputs.shape[0]
    if steps < 1:
        raise ValueError("plot_trace expects at least one time step; got T = 0")
    targets = None if targets is None else _array("targets", targets, 2)
    adds = None if adds is None else _array("adds", adds, 3)
    reads = None if reads is None else _array("reads", reads, 3)
    scored = np.ones(steps, dtype=bool) if scored is None else _array("scored", scored, 1).astype(bool)
    checks = [("outputs", outputs.shape[0]), ("scored", scored.shape[0]), ("write_weights", write_weights.shape[0]),
              ("read_weights", read_weights.shape[0])] + ([] if targets is None else [("targets", targets.shape[0])])
    checks += [(name, array.shape[0]) for name, array in (("adds", adds), ("reads", reads)) if array is not None]
    for name, length in checks:
        if length != steps:
            raise ValueError(f"plot_trace expects every argument over the same T = {steps} steps as inputs; "
                             f"{name} has {length}")
    if targets is not None and targets.shape != outputs.shape:
        raise ValueError(f"plot_trace expects targets of the shape of outputs {outputs.shape}; got {targets.shape}")
    for name, array, heads, kind in (("adds", adds, write_weights.shape[1], "write"),
                                     ("reads", reads, read_weights.shape[1], "read")):
        if array is not None and array.shape[1] != heads:
            raise ValueError(f"plot_trace expects {name} for the {heads} {kind} heads of the weightings; got "
                             f"{array.shape[1]}")
    if write_weights.shape[2] != read_weights.shape[2]:
        raise ValueError(f"plot_trace expects read and write weightings over the same N locations; got "
                         f"{read_weights.shape[2]} and {write_weights.shape[2]}")
    if isinstance(max_slots, bool) or not isinstance(max_slots, int) or max_slots < 1:
        raise ValueError(f"max_slots must be a positive int; got {max_slots!r}")

    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    slots = write_weights.shape[2]
    first, last = shown_locations(np.concatenate([write_weights, read_weights], axis=1), max_slots)
    rows = last - first + 1
    location_label = "memory location" if rows == slots else f"memory location\n({first}–{last} of {slots})"
    unscored = ~scored[None, :]  # (1, T)
    wrong = int(((outputs > 0.5) != (targets > 0.5))[scored].sum()) if targets is not None else None
    scored_bits = int(scored.sum()) * outputs.shape[1]

    def unscored_hidden(image):  # (O, T) with the unscored steps masked: drawn in UNSCORED_TINT
        return np.ma.masked_where(np.broadcast_to(unscored, image.shape), image)

    # (title, image (rows, T), first row's label, y label, signed: on the diverging scale)
    panels = [("inputs", inputs.T, 0, "channel", False)]
    if targets is not None:
        note = "" if scored.all() else " (pale: not scored; red dashes bound the scored steps)"
        panels.append((f"targets{note}", unscored_hidden(targets.T), 0, "bit", False))
    outputs_title = "outputs σ(y)" if wrong is None else \
        f"outputs σ(y): {wrong} wrong of {scored_bits} scored bits"
    panels.append((outputs_title, unscored_hidden(outputs.T), 0, "bit", False))
    for kind, vectors in (("add vectors a", adds), ("read vectors r", reads)):
        heads = 0 if vectors is None else vectors.shape[1]
        for h in range(heads):
            name = kind + (f", head {h + 1} of {heads}" if heads > 1 else "")
            panels.append((name, vectors[:, h].T, 0, "element", True))
    for kind, weights in (("write", write_weights), ("read", read_weights)):
        heads = weights.shape[1]
        for h in range(heads):
            name = f"{kind} weighting" + (f", head {h + 1} of {heads}" if heads > 1 else "")
            panels.append((name, weights[:, h, first : last + 1].T, first, location_label, False))

    def height(lines: int) -> float:  # inches: bit panels small, memory panels tall enough for their rows
        if lines <= 32:
            return float(np.clip(0.1 * lines + 0.6, 0.9, 2.0))
        return float(np.clip(0.025 * lines + 1.0, 1.6, 4.2))

    heights = [height(image.shape[0]) for _, image, _, _, _ in panels]
    width = float(np.clip(3.0 + 0.06 * steps, 8.0, 24.0))
    fig, axes = plt.subplots(len(panels), 1, sharex=True, figsize=(width, sum(heights) + 1.2),
                             gridspec_kw={"height_ratios": heights}, layout="constrained", squeeze=False)
    axes = axes[:, 0]
    cmap = plt.get_cmap("gray_r").with_extremes(bad=UNSCORED_TINT)
    signed = [image for _, image, _, _, is_signed in panels if is_signed]
    limit = max([float(np.abs(image).max()) for image in signed] + [1e-6])  # the diverging scale: ±limit
    runs = _scored_runs(scored) if not scored.all() else []
    grey_axes, signed_axes = [], []
    for ax, (name, image, start, ylabel, is_signed) in zip(axes, panels):
        lines = image.shape[0]
        scale = dict(cmap="RdBu_r", vmin=-limit, vmax=limit) if is_signed else dict(cmap=cmap, vmin=0.0, vmax=1.0)
        shown = ax.imshow(image, aspect="auto", interpolation="nearest",
                          extent=(-0.5, steps - 0.5, start + lines - 0.5, start - 0.5), **scale)
        if is_signed:
            signed_picture = shown
            signed_axes.append(ax)
        else:
            picture = shown
            grey_axes.append(ax)
        ax.set_title(name, loc="left", fontsize=10)
        ax.set_ylabel(ylabel, fontsize=9)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.tick_params(labelsize=8)
        for begin, end in runs:
            for edge in (begin - 0.5, end + 0.5):
                ax.axvline(edge, color="tab:red", linestyle="--", linewidth=0.8)
    axes[-1].set_xlabel("time")
    axes[-1].xaxis.get_major_locator().set_params(integer=True)
    # one colour bar per scale, each beside its own panels: the grey one beside the weightings
    # (below the signed panels) when there are signed panels, else beside every panel
    below = axes[len(axes) - write_weights.shape[1] - read_weights.shape[1]:]  # the weighting panels, last
    colorbar = fig.colorbar(picture, ax=list(below) if signed_axes else grey_axes, shrink=0.6, aspect=30, pad=0.01)
    colorbar.set_label("bit, probability or weighting\n(0 white, 1 black)", fontsize=9)
    if signed_axes:
        colorbar = fig.colorbar(signed_picture, ax=signed_axes, shrink=0.9, aspect=15, pad=0.01)
        colorbar.set_label("add / read vector", fontsize=9)
    return _save(fig, path, title)


def _save(fig, path: str | Path, title: str) -> Path:
    """Give ``fig`` its ``title`` (none when empty), write it to ``path`` as PNG, close it; returns the path."""
    import matplotlib.pyplot as plt

    if title:
        fig.suptitle(title, fontsize=11)
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def placement(priorities, write_weights, read_weights) -> dict:
    """Where an NTM sorting by priority writes and reads, as numbers (Graves et al. 2014, §4.5 and Figure 17).

    Args:
        priorities: (N,) the priority of each input vector, in input order.
        write_weights: (N, W, S) the write heads' weightings at the N input steps, over S locations.
        read_weights: (K, R, S) the read heads' weightings at the K answer steps.

    Returns a dict: ``write_locations`` (N,) and ``read_locations`` (K,), the location each phase weights
    most at each step (the heads' weightings summed), and two ways to sort:

    * the paper's hypothesis, writes placed by priority ("the network uses the priorities to determine
      the relative location of each write"), then reads in order: ``priority_rank_correlation``,
      Spearman's ρ of the priorities against the write locations (±1 when the write location is a
      monotone function of the priority, near 0 when it is not), and ``read_order_correlation``, ρ of
      the answer step against the read location (±1 when the reads walk the memory one way);
    * writes in arrival order, then reads by priority: ``reads_in_priority_order``, the fraction of
      answer steps j at which some read head's most weighted location is where the vector of the
      (j + 1)-th highest priority was written (``expected_reads`` (K,)).  1 when the reads find the
      vectors in priority order, whatever the writes' order."""
    priorities = _array("priorities", priorities, 1)
    write_weights = _array("write_weights", write_weights, 3)
    read_weights = _array("read_weights", read_weights, 3)
    if write_weights.shape[0] != priorities.shape[0]:
        raise ValueError(f"placement expects write weightings at the {priorities.shape[0]} input steps; got "
                         f"{write_weights.shape[0]}")
    if read_weights.shape[0] > priorities.shape[0]:
        raise ValueError(f"placement expects at most {priorities.shape[0]} answer steps (one per input); got "
                         f"{read_weights.shape[0]}")
    writes = write_weights.sum(axis=1).argmax(axis=1)  # (N,)
    reads = read_weights.sum(axis=1).argmax(axis=1)  # (K,)
    answers = read_weights.shape[0]
    expected = writes[np.argsort(-priorities, kind="stable")[:answers]]  # (K,) where rank j was written
    found = (read_weights.argmax(axis=2) == expected[:, None]).any(axis=1)  # (K,) some head's peak is there
    return {"write_locations": writes, "read_locations": reads, "expected_reads": expected,
            "priority_rank_correlation": _spearman(priorities, writes),
            "read_order_correlation": _spearman(np.arange(len(reads)), reads),
            "reads_in_priority_order": float(found.mean()) if answers else 0.0}


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation of a and b (average ranks for ties); 0 when either is constant."""
    def ranks(x):
        order = np.argsort(x, kind="stable")
        r = np.empty(len(x))
        r[order] = np.arange(len(x))
        for value in np.unique(x):  # ties share their mean rank
            tied = x == value
            r[tied] = r[tied].mean()
        return r

    if len(a) < 2:
        return 0.0
    ra, rb = ranks(np.asarray(a, dtype=np.float64)), ranks(np.asarray(b, dtype=np.float64))
    if ra.std() == 0 or rb.std() == 0:
        return 0.0
    return float(np.corrcoef(ra, rb)[0, 1])


def plot_priority_sort(priorities, write_weights, read_weights, path: str | Path, title: str = "") -> Path:
    """Write a PNG in the form of Graves et al. (2014), Figure 17, and return the path: the summed write
    weightings over the input steps, the summed read weightings over the answer steps (location × time,
    both on one location axis; red rings where the vector of each answer's rank was written), and each
    input's priority against the location written to, with the least-squares line (the paper's
    "hypothesised locations") and Spearman's ρ (``placement``).  Arguments as ``placement``."""
    found = placement(priorities, write_weights, read_weights)
    priorities = _array("priorities", priorities, 1)
    writes = _array("write_weights", write_weights, 3).sum(axis=1)  # (N, S)
    reads = _array("read_weights", read_weights, 3).sum(axis=1)  # (K, S)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    first, last = shown_locations(np.concatenate([writes, reads])[:, None, :], 128)
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.4), layout="constrained",
                             gridspec_kw={"width_ratios": [1.0, 0.85, 1.1]})
    extent = lambda steps: (-0.5, steps - 0.5, last + 0.5, first - 0.5)  # noqa: E731
    for ax, image, name, xlabel in ((axes[0], writes, "write weightings (heads summed)\nat the input steps", "input step"),
                                    (axes[1], reads, "", "answer step")):
        ax.imshow(np.clip(image[:, first : last + 1].T, 0, 1), aspect="auto", interpolation="nearest",
                  cmap="gray_r", vmin=0, vmax=1, extent=extent(image.shape[0]))
        ax.set_title(name, loc="left", fontsize=10)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("memory location")
        ax.xaxis.get_major_locator().set_params(integer=True)
    axes[1].scatter(np.arange(len(found["expected_reads"])), found["expected_reads"], s=40, facecolors="none",
                    edgecolors="tab:red", linewidths=1, label="where rank j was written")
    axes[1].set_title(f"read weightings (heads summed);\nreads that find the vector of their rank: "
                      f"{found['reads_in_priority_order']:.0%}", loc="left", fontsize=10)
    axes[1].legend(fontsize=8, loc="best")
    ax = axes[2]
    locations = found["write_locations"]
    ax.scatter(priorities, locations, s=22, color="tab:blue", label="written to (most weighted location)")
    if np.ptp(priorities) > 0:
        slope, intercept = np.polyfit(priorities, locations, 1)
        grid = np.linspace(priorities.min(), priorities.max(), 2)
        ax.plot(grid, slope * grid + intercept, color="tab:red", linewidth=1,
                label=f"hypothesised: {slope:.1f}·priority + {intercept:.1f}")
    ax.invert_yaxis()
    ax.set_xlabel("priority")
    ax.set_ylabel("memory location")
    ax.set_title(f"write location against priority: Spearman ρ = {found['priority_rank_correlation']:.2f}\n"
                 f"(reads against answer step: ρ = {found['read_order_correlation']:.2f})", loc="left", fontsize=10)
    ax.legend(fontsize=8, loc="best")
    return _save(fig, path, title)
