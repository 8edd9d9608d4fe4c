"""Pictures of a recursive net at work: its prediction at every node of a tree, and its node states in 2-D.

A tree model (``models.TreeClassifier``) computes a state at every node and can read every one of them out
(``node_outputs``), so on ListOps or the arithmetic expressions each completed list or subexpression gets a
predicted value beside its true one (``Tree.label``).  Two pictures show what the model has learnt:

* ``draw_tree_predictions``: one tree drawn with the leaves' tokens left to right at the bottom, each inner
  node above its children at its height (the level ``batch_trees`` schedules it at), and at every node that
  has a label a disc holding the predicted value, green where it is right and red where it is wrong, the
  true value beside a wrong one.  A model that solves the small lists and fails the large ones shows green
  at the bottom of the tree and red towards the root;
* ``node_state_projection``: the states h of the labelled nodes projected onto their first two principal
  components and coloured by their value: a model that computes the values keeps the values apart.

``tree_pictures(model, task, batch, directory)`` writes both for the first held-out trees of a batch
(``tree_predictions.png``, ``node_states.png``); ``rnnlab eval --plots`` draws them for a tree-model run
(runs.evaluate, through ``predictions_picture`` and ``states_picture``).

Layout (``tree_layout``): leaf i of the tree (left to right) sits at x = i, y = 0; an inner node at y =
its height, x = the midpoint of its first and last child.  Edges are drawn as in a dendrogram, a bar at
the parent's height over its children and a vertical drop to each child: a subtree's lines stay within
the x interval of its own leaves, which no other subtree enters, so no two lines cross (straight edges
from a high parent to a leaf would cross the sibling's subtree).  The projection is principal component
analysis by the SVD of the centred states (``project_states``), without scikit-learn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor, nn

from ..trees.batching import TreeBatch
from ..trees.tree import Tree

RIGHT = "#2e7d32"  # the disc of a right prediction (green)
WRONG = "#c62828"  # and of a wrong one (red)
EDGE = "#9e9e9e"  # edges and unlabelled inner nodes
TREES = 3  # trees drawn by ``tree_pictures``
MAX_LEAVES = 60  # ``tree_pictures`` draws trees of at most this many leaves (where the batch has them)
MAX_POINTS = 3000  # labelled nodes in the projection of ``tree_pictures``: those of the first trees
_INCH_PER_LEAF = 0.36
_MIN_WIDTH = 9.0  # inches: the legend and a row's title fit
_INCH_PER_LEVEL = 0.34


class TreeLayout(NamedTuple):
    """Where each node of a tree is drawn, nodes in the tree's postorder (``Tree.postorder()``)."""

    x: list[float]  # leaves at 0, 1, 2, ... left to right; a parent at the midpoint of its first and last child
    y: list[int]  # the node's height: leaves 0, a parent 1 + its highest child
    edges: list[tuple[int, int]]  # (parent, child) as postorder indices, children left to right
    leaves: int  # the leaves of the tree: x runs over 0 .. leaves - 1


class Mark(NamedTuple):
    """What is drawn at a labelled node."""

    predicted: int
    truth: int

    @property
    def right(self) -> bool:
        return self.predicted == self.truth


def tree_layout(tree: Tree) -> TreeLayout:
    """The positions of ``tree``'s nodes in its postorder (module docstring), without recursion."""
    if not isinstance(tree, Tree):
        raise TypeError(f"tree_layout expects a Tree; got {type(tree).__name__}")
    x: list[float] = []
    y: list[int] = []
    edges: list[tuple[int, int]] = []
    index: dict[int, int] = {}  # id(node) -> postorder index
    leaves = 0
    for node in tree.postorder():
        i = len(x)
        index[id(node)] = i
        if node.children:
            kids = [index[id(child)] for child in node.children]
            x.append((x[kids[0]] + x[kids[-1]]) / 2)
            y.append(1 + max(y[k] for k in kids))
            edges.extend((i, k) for k in kids)
        else:
            x.append(float(leaves))
            y.append(0)
            leaves += 1
    return TreeLayout(x, y, edges, leaves)


def node_marks(tree: Tree, predictions, truths=None, *, caller: str = "node_marks") -> list[Mark | None]:
    """One entry a node of ``tree`` in its postorder: a ``Mark`` (predicted, truth) where the node has a label,
    None where it has none.

    predictions: a class for every node, in the tree's postorder ((N,) tensor or sequence of ints).
    truths: the true class of every node in the same order, None or -1 where a node has no label;
        None: the tree's own labels (``Tree.label``).
    """
    size = tree.size()
    predicted = _classes(predictions, "predictions", size, caller, missing=False)
    if truths is None:
        true = [node.label for node in tree.postorder()]
    else:
        true = _classes(truths, "truths", size, caller, missing=True)
    return [None if t is None else Mark(p, t) for p, t in zip(predicted, true)]


def _classes(values, name: str, size: int, caller: str, *, missing: bool) -> list:
    """``values`` as a list of ``size`` ints (None where ``missing`` allows it: None or -1); one-line errors."""
    if isinstance(values, (Tensor, np.ndarray)):
        if values.ndim != 1:
            raise ValueError(f"{caller}: {name} must be one class a node, shape ({size},); got shape "
                             f"{tuple(values.shape)}")
        integer = values.dtype.kind in "iu" if isinstance(values, np.ndarray) else not (
            values.is_floating_point() or values.is_complex() or values.dtype == torch.bool)
        if not integer:
            raise ValueError(f"{caller}: {name} must be integer classes; got dtype {values.dtype}")
        values = values.tolist()
    elif isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(f"{caller}: {name} must be a sequence or tensor of classes, one a node; "
                        f"got {type(values).__name__}")
    if len(values) != size:
        raise ValueError(f"{caller}: {name} hold {len(values)} values but the tree has {size} nodes "
                         f"(one a node, in the tree's postorder)")
    out = []
    for i, value in enumerate(values):
        if missing and (value is None or value == -1):
            out.append(None)
        elif isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            allowed = "a class >= 0, or None or -1 where the node has no label" if missing else "a class >= 0"
            raise ValueError(f"{caller}: {name}[{i}] is {value!r}; expected {allowed}")
        else:
            out.append(int(value))
    return out


def draw_tree_predictions(tree: Tree, predictions, truths, path: str | Path, *, title: str = "") -> Path:
    """Draw ``tree`` with the model's prediction at every labelled node into ``path`` (PNG); returns the path.

    predictions: the predicted class of every node, in the tree's postorder (``Tree.postorder()``; that of
        ``TreeBatch.tree_nodes``), (N,) for a tree of N nodes; read only where the node has a label.
    truths: the true class of every node in the same order, None or -1 where it has none; None: the tree's
        own labels.
    A labelled node is a disc holding the predicted class, green when right, red when wrong with the true
    class beside it in a box; an unlabelled inner node is a small grey dot; the leaves' tokens are written
    under them.  The figure widens with the leaves.
    """
    return draw_trees_predictions([tree], [predictions], [truths], path, titles=[title])


def draw_trees_predictions(trees: Sequence[Tree], predictions: Sequence, truths: Sequence | None, path: str | Path, *,
                           titles: Sequence[str] | None = None, heading: str = "") -> Path:
    """Several trees, one a row, drawn as ``draw_tree_predictions`` draws one, at the same scale (one leaf,
    one level, the same width in every row), into ``path``; returns the path.  ``truths`` None (or an entry
    None): the trees' own labels; ``heading`` above the rows."""
    if isinstance(trees, Tree) or not isinstance(trees, Sequence) or not trees:
        raise ValueError("draw_trees_predictions: trees must be a non-empty sequence of Trees")
    truths = [None] * len(trees) if truths is None else truths
    titles = [""] * len(trees) if titles is None else titles
    if not len(predictions) == len(truths) == len(titles) == len(trees):
        raise ValueError(f"draw_trees_predictions: {len(trees)} trees need as many predictions, truths and titles; "
                         f"got {len(predictions)}, {len(truths)} and {len(titles)}")
    caller = "draw_tree_predictions" if len(trees) == 1 else "draw_trees_predictions"
    for i, tree in enumerate(trees):
        if not isinstance(tree, Tree):
            raise TypeError(f"{caller}: tree {i} is a {type(tree).__name__}, not a Tree")
    layouts = [tree_layout(tree) for tree in trees]
    marks = [node_marks(tree, p, t, caller=caller) for tree, p, t in zip(trees, predictions, truths)]

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    path = Path(path)
    inches = max(_MIN_WIDTH, _INCH_PER_LEAF * max(layout.leaves for layout in layouts) + 0.6)
    width = (inches - 0.6) / _INCH_PER_LEAF  # leaf places across a row: the same scale in every row
    rows = [max(layout.y) + 1 for layout in layouts]  # levels of each tree
    row_inches = [_INCH_PER_LEVEL * levels + 0.95 for levels in rows]  # + the tokens and the row's title
    top = 0.75 + (0.3 if heading else 0)  # the heading and the legend
    figure = plt.figure(figsize=(inches, sum(row_inches) + top))
    grid = figure.add_gridspec(len(trees), 1, height_ratios=row_inches, top=1 - top / figure.get_figheight(),
                               bottom=0.02, left=0.3 / inches, right=1 - 0.3 / inches, hspace=0.22)
    for row, (tree, layout, row_marks, title) in enumerate(zip(trees, layouts, marks, titles)):
        axes = figure.add_subplot(grid[row])
        _draw_tree(axes, tree, layout, row_marks, width)
        summary = _summary(layout, row_marks)
        axes.set_title(f"{title}: {summary}" if title else summary, fontsize=9, loc="left")
    handles = [Line2D([], [], linestyle="", marker="o", markersize=9, color=RIGHT, label="predicted value, right"),
               Line2D([], [], linestyle="", marker="o", markersize=9, color=WRONG, label="predicted value, wrong"),
               Line2D([], [], linestyle="", marker="s", markersize=8, markerfacecolor="white",
                      markeredgecolor=WRONG, label="true value (beside a wrong one)"),
               Line2D([], [], linestyle="", marker="o", markersize=3, color=EDGE, label="node without a label")]
    below = 0.05 + (0.3 if heading else 0)  # inches from the top to the legend
    if heading:
        figure.text(0.2 / inches, 1 - 0.1 / figure.get_figheight(), heading, ha="left", va="top", fontsize=10,
                    fontweight="bold")
    figure.legend(handles=handles, loc="upper left", ncol=4, fontsize=8, frameon=False,
                  bbox_to_anchor=(0.1 / inches, 1 - below / figure.get_figheight()))
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _draw_tree(axes, tree: Tree, layout: TreeLayout, marks: list[Mark | None], width: float) -> None:
    """One tree on ``axes``, x from -0.6 to ``width`` - 0.6 whatever its own leaves (rows share the scale)."""
    x, y = layout.x, layout.y
    kids: dict[int, list[int]] = {}
    for parent, child in layout.edges:
        kids.setdefault(parent, []).append(child)
    for parent, children in kids.items():  # a bar at the parent's height, a drop to each child
        axes.plot([x[children[0]], x[children[-1]]], [y[parent]] * 2, color=EDGE, linewidth=0.9, zorder=1)
        for child in children:
            axes.plot([x[child]] * 2, [y[parent], y[child]], color=EDGE, linewidth=0.9, zorder=1)
    for i, node in enumerate(tree.postorder()):
        if node.is_leaf():
            axes.text(x[i], -0.42, str(node.token), ha="center", va="top", fontsize=8, family="monospace")
        mark = marks[i]
        if mark is None:
            if not node.is_leaf():
                axes.plot(x[i], y[i], marker="o", markersize=3, color=EDGE, zorder=2)
            continue
        colour = RIGHT if mark.right else WRONG
        small = node.is_leaf()  # the leaves' discs are smaller: the subexpressions stand out
        axes.plot(x[i], y[i], marker="o", markersize=10 if small else 13.5, markerfacecolor=colour,
                  markeredgecolor="white", markeredgewidth=0.8, zorder=3)
        axes.text(x[i], y[i], str(mark.predicted), ha="center", va="center", fontsize=6.5 if small else 8,
                  color="white", fontweight="bold", zorder=4)
        if not mark.right:
            axes.text(x[i] + 0.3, y[i] + 0.3, str(mark.truth), ha="center", va="center", fontsize=7, zorder=5,
                      bbox=dict(boxstyle="square,pad=0.15", facecolor="white", edgecolor=WRONG, linewidth=0.8))
    axes.set_xlim(-0.6, width - 0.6)
    axes.set_ylim(-1.05, max(y) + 0.65)
    axes.axis("off")


def _summary(layout: TreeLayout, marks: list[Mark | None]) -> str:
    """'root 3 (true 7); inner nodes right 5 of 8, leaves 20 of 22' for a row's title."""
    root = marks[-1]
    inner = [m for m, height in zip(marks, layout.y) if m is not None and height > 0]
    leaves = [m for m, height in zip(marks, layout.y) if m is not None and height == 0]
    parts = []
    if root is not None:
        parts.append(f"root {root.predicted} " + ("(right)" if root.right else f"(true {root.truth})"))
    if inner:
        parts.append(f"labelled inner nodes right {sum(m.right for m in inner)} of {len(inner)}")
    if leaves:
        parts.append(f"labelled leaves {sum(m.right for m in leaves)} of {len(leaves)}")
    return "; ".join(parts) or "no labelled node"


# ---- node states --------------------------------------------------------------------------------------------

def project_states(states) -> tuple[np.ndarray, np.ndarray]:
    """The first two principal components of ``states`` (N, H) -> (coordinates (N, 2), the share of the
    variance each explains (2,)): the centred states times their first two right singular vectors (an H of 1
    gives a second coordinate of zeros)."""
    x = torch.as_tensor(states).detach().to("cpu", torch.float64)
    centred = x - x.mean(0, keepdim=True)  # (N, H)
    _, singular, vh = torch.linalg.svd(centred, full_matrices=False)  # vh (min(N, H), H)
    k = min(2, vh.shape[0])
    coordinates = torch.zeros(x.shape[0], 2, dtype=torch.float64)
    coordinates[:, :k] = centred @ vh[:k].T  # (N, k)
    variance = singular.square()
    explained = torch.zeros(2, dtype=torch.float64)
    if variance.sum() > 0:
        explained[:k] = variance[:k] / variance.sum()
    return coordinates.numpy(), explained.numpy()


def node_state_projection(states, labels, path: str | Path, *, is_leaf=None, title: str = "") -> Path:
    """The labelled nodes' states on their first two principal components, one colour a label, into ``path``
    (PNG); returns the path.

    states: (N, H) the nodes' states (e.g. ``TreeClassifier.node_outputs``' h).
    labels: (N,) their classes (values 0-9 on the tree tasks), -1 where a node has none: those are left out
        (of the picture and of the projection).
    is_leaf: optional (N,) bool: leaves are drawn as crosses, inner nodes as discs.
    """
    caller = "node_state_projection"
    states = torch.as_tensor(states).detach().cpu()
    labels = torch.as_tensor(labels).detach().cpu()
    if states.dim() != 2:
        raise ValueError(f"{caller}: states must be (N, H), one row a node; got shape {tuple(states.shape)}")
    if labels.dim() != 1 or labels.shape[0] != states.shape[0] or labels.is_floating_point():
        raise ValueError(f"{caller}: labels must be ({states.shape[0]},) integer classes, one a state (-1: none); "
                         f"got shape {tuple(labels.shape)} {labels.dtype}")
    if is_leaf is not None:
        is_leaf = torch.as_tensor(is_leaf).detach().cpu()
        if is_leaf.shape != labels.shape or is_leaf.dtype != torch.bool:
            raise ValueError(f"{caller}: is_leaf must be ({states.shape[0]},) bool, one a state; got shape "
                             f"{tuple(is_leaf.shape)} {is_leaf.dtype}")
    if bool((labels < -1).any()):
        raise ValueError(f"{caller}: labels must be classes >= 0 or -1 (no label); got {int(labels.min())}")
    keep = labels >= 0
    if int(keep.sum()) < 2:
        raise ValueError(f"{caller}: needs at least 2 labelled states to project; got {int(keep.sum())}")
    if not bool(torch.isfinite(states[keep]).all()):
        raise ValueError(f"{caller}: the states hold values that are not finite (NaN or inf)")
    coordinates, explained = project_states(states[keep])
    values = labels[keep].numpy()
    leaf = np.zeros(len(values), dtype=bool) if is_leaf is None else is_leaf[keep].numpy()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    classes = sorted(set(values.tolist()))
    palette = plt.get_cmap("tab10" if max(classes) < 10 else "tab20")
    figure, axes = plt.subplots(figsize=(7.2, 5.6))
    for value in classes:
        colour = palette(value % palette.N)
        for kind, marker, size in ((False, "o", 14), (True, "x", 22)):
            chosen = (values == value) & (leaf == kind)
            if chosen.any():
                axes.scatter(coordinates[chosen, 0], coordinates[chosen, 1], s=size, marker=marker, color=colour,
                             alpha=0.75, linewidths=0.8 if kind else 0, label=None)
        axes.scatter([], [], s=30, marker="o", color=colour, label=str(value))
    axes.set_xlabel(f"principal component 1 ({100 * explained[0]:.0f}% of the variance)")
    axes.set_ylabel(f"principal component 2 ({100 * explained[1]:.0f}% of the variance)")
    axes.legend(title="label", fontsize=8, title_fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5),
                         frameon=False)
    if leaf.any():
        note = "discs: inner nodes,\ncrosses: leaves" if not leaf.all() else "crosses: leaves"
        axes.text(1.01, 0.02, note, transform=axes.transAxes, fontsize=7, va="bottom")
    axes.set_title(title or f"node states, first two principal components ({len(values)} labelled nodes)",
                   fontsize=10)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


# ---- a tree model on a tree task's batch --------------------------------------------------------------------

def supports(model: nn.Module, task) -> str | None:
    """None when the tree pictures can be drawn for ``model`` on ``task``, else why not (one line)."""
    if not (getattr(model, "reads_structure", False) and callable(getattr(model, "node_outputs", None))):
        return f"the model {type(model).__name__} does not read out every node of a tree (node_outputs)"
    if not getattr(task, "has_trees", False):
        return f"task {getattr(task, 'name', type(task).__name__)}'s batches carry no trees"
    return None


def tree_from_batch(structure: TreeBatch, index: int, token_text: Callable[[int], str] = str) -> Tree:
    """Tree ``index`` of a ``TreeBatch``, rebuilt: its leaves' tokens ``token_text(id)``, its labels (None where
    -1); its postorder is the order of ``structure.tree_nodes(index)``."""
    if not isinstance(structure, TreeBatch):
        raise TypeError(f"tree_from_batch expects a TreeBatch; got {type(structure).__name__}")
    nodes = structure.tree_nodes(index).tolist()  # postorder: children before parents
    inside = set(nodes)
    children: dict[int, list[int]] = {}
    for level in structure.levels():
        parents = (level.parents + level.begin).tolist()
        for parent, child in zip(parents, level.children.tolist()):
            if parent in inside:
                children.setdefault(parent, []).append(child)
    tokens, labels = structure.tokens.tolist(), structure.labels.tolist()
    built: dict[int, Tree] = {}
    for n in nodes:
        label = None if labels[n] < 0 else labels[n]
        if n in children:
            built[n] = Tree(None, tuple(built[c] for c in children[n]), label)
        else:
            built[n] = Tree(token_text(tokens[n]), (), label)
    return built[nodes[-1]]


def _token_text(task) -> Callable[[int], str]:
    names = getattr(task, "TOKENS", None)
    return (lambda i: names[i]) if names is not None else str


@torch.no_grad()
def _read_out(model: nn.Module, structure: TreeBatch) -> tuple[Tensor, Tensor]:
    """(predicted class (N,), state h (N, H)) of every node, on the CPU; the model's mode is kept."""
    training = model.training
    model.eval()
    try:
        logits, h = model.node_outputs(structure.to(next(model.parameters()).device))  # (N, O), (N, H)
    finally:
        model.train(training)
    return logits.argmax(-1).cpu(), h.float().cpu()


def _check(model: nn.Module, task, batch) -> TreeBatch:
    reason = supports(model, task)
    if reason:
        raise ValueError(f"tree pictures: {reason}")
    structure = getattr(batch, "structure", None)
    if not isinstance(structure, TreeBatch):
        raise ValueError(f"tree pictures: the batch's structure must be a TreeBatch; got {type(structure).__name__}")
    return structure


def chosen_trees(structure: TreeBatch, count: int = TREES, max_leaves: int = MAX_LEAVES) -> list[int]:
    """The trees to draw, in batch order: the first ``count`` of at most ``max_leaves`` leaves (readable in a
    row) that hold a nested labelled subexpression (at least 2 labelled inner nodes), then, where there are
    fewer, the first other short ones; where no tree is short enough, the one with the fewest leaves."""
    for name, value in (("count", count), ("max_leaves", max_leaves)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"tree pictures: {name} must be an int >= 1; got {value!r}")
    leaves = torch.bincount(structure.tree_of[: structure.num_leaves], minlength=structure.size).tolist()
    inner = torch.bincount(structure.tree_of[(structure.labels >= 0) & (structure.arity > 0)],
                           minlength=structure.size).tolist()
    short = [b for b in range(structure.size) if leaves[b] <= max_leaves]
    nested = [b for b in short if inner[b] >= 2][:count]
    picked = sorted(nested + [b for b in short if b not in nested][: count - len(nested)])
    return picked or [min(range(structure.size), key=leaves.__getitem__)]


def predictions_picture(model: nn.Module, batch, directory: str | Path, *, task, trees: int = TREES,
                        max_leaves: int = MAX_LEAVES) -> Path:
    """DIRECTORY/tree_predictions.png: the first ``trees`` held-out trees of ``batch`` (those of at most
    ``max_leaves`` leaves) with the model's prediction at every labelled node (``draw_trees_predictions``)."""
    structure = _check(model, task, batch)
    picked = chosen_trees(structure, trees, max_leaves)
    narrow = structure.narrow(0, picked[-1] + 1)  # only the trees up to the last one drawn are read out
    predicted, _ = _read_out(model, narrow)
    text = _token_text(task)
    drawn, predictions, titles = [], [], []
    for b in picked:
        drawn.append(tree_from_batch(narrow, b, text))
        predictions.append(predicted[narrow.tree_nodes(b)])
        titles.append(f"held-out tree {b + 1}")
    name = getattr(task, "name", "")
    cell = getattr(getattr(model, "cell", None), "name", type(model).__name__)
    heading = f"{name}, {cell}" if name else cell
    return draw_trees_predictions(drawn, predictions, None, Path(directory) / "tree_predictions.png", titles=titles,
                                  heading=heading)


def states_picture(model: nn.Module, batch, directory: str | Path, *, task, max_points: int = MAX_POINTS) -> Path:
    """DIRECTORY/node_states.png: the labelled inner nodes (the completed lists, the subexpressions) of the first
    trees of ``batch`` (as many trees as keep them within ``max_points``, at least one) projected by
    ``node_state_projection``.  The leaves are left out: a leaf's state is a function of its token alone (on
    the tree tasks, ten points, one a digit, each drawn over and over), and they would take the projection's
    variance from the inner nodes; where fewer than two inner nodes are labelled, the leaves are shown too."""
    structure = _check(model, task, batch)
    inner = (structure.labels >= 0) & (structure.arity > 0)  # (N,)
    shown = inner if bool(inner.any()) else structure.labels >= 0
    counts = torch.bincount(structure.tree_of[shown], minlength=structure.size)  # (B,)
    within = int((counts.cumsum(0) <= max_points).sum())
    narrow = structure.narrow(0, max(1, within))
    _, h = _read_out(model, narrow)
    labels = narrow.labels.cpu()
    kind = "labelled nodes"
    inner_labels = torch.where(narrow.arity.cpu() > 0, labels, -1)  # (N,) the leaves unlabelled: left out
    if int((inner_labels >= 0).sum()) >= 2:  # else (one flat list, say) the leaves too: a projection needs two
        labels, kind = inner_labels, "labelled inner nodes"
    title = (f"{getattr(task, 'name', 'tree')} node states, first two principal components: "
             f"{int((labels >= 0).sum())} {kind} of {narrow.size} held-out trees")
    return node_state_projection(h, labels, Path(directory) / "node_states.png", title=title)


def tree_pictures(model: nn.Module, task, batch, directory: str | Path, *, trees: int = TREES) -> list[Path]:
    """Both pictures of a tree model on a tree task's batch (e.g. the first held-out one) in ``directory``:
    tree_predictions.png (its first ``trees`` short trees) and node_states.png.  Returns the files written."""
    return [predictions_picture(model, batch, directory, task=task, trees=trees),
            states_picture(model, batch, directory, task=task)]
