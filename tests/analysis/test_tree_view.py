"""analysis.tree_view: the layout of a tree (hand-computed tables), the marks and colours drawn at each node of a
hand-made tree, the projection of node states against an independent PCA, trees rebuilt from a TreeBatch, the
model's node predictions checked against each subtree read out alone, every bad input's message, and
`rnnlab eval --plots` on a tiny trained tree run."""

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from rnnlab import cli, config, runs
from rnnlab.analysis import tree_view
from rnnlab.analysis.tree_view import (RIGHT, WRONG, Mark, chosen_trees, draw_tree_predictions,
                                       draw_trees_predictions, node_marks, node_state_projection, project_states,
                                       tree_from_batch, tree_layout, tree_pictures)
from rnnlab.tasks.listops import listops_tree
from rnnlab.trees import Tree, batch_trees, parse

matplotlib.use("Agg")
PNG = b"\x89PNG\r\n\x1a\n"
EXAMPLE = "[MAX 2 9 [MIN 4 7 ] 0 ]"  # listops.py's worked example: value 9, the inner list 4


def labelled(text: str, labels: dict[int, int]) -> Tree:
    """parse(text) with the labels {postorder index: class}."""
    done = {}
    for i, node in enumerate(parse(text).postorder()):
        done[id(node)] = Tree(node.token, tuple(done[id(c)] for c in node.children), labels.get(i))
    return done[id(node)]


# ---- layout ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, x, y, edges", [
    ("a", [0.0], [0], []),
    # postorder a, b, (a b), c, root
    ("( ( a b ) c )", [0, 1, 0.5, 2, 1.25], [0, 0, 1, 0, 2], [(2, 0), (2, 1), (4, 2), (4, 3)]),
    # n-ary: a, b, c, d, (b c d), e, root; a parent at the midpoint of its first and last child
    ("( a ( b c d ) e )", [0, 1, 2, 3, 2, 4, 2], [0, 0, 0, 0, 1, 0, 2],
     [(4, 1), (4, 2), (4, 3), (6, 0), (6, 4), (6, 5)]),
    # a unary chain above a leaf
    ("( ( ( z ) ) )", [0, 0, 0, 0], [0, 1, 2, 3], [(1, 0), (2, 1), (3, 2)]),
])
def test_the_layout_of_hand_trees(text, x, y, edges):
    layout = tree_layout(parse(text))
    assert layout.x == pytest.approx(x) and layout.y == y and layout.edges == edges
    assert layout.leaves == len(parse(text).leaves())


@pytest.mark.parametrize("form", ["left", "nary"])
def test_leaves_in_order_at_the_bottom_and_every_parent_above_its_children(form):
    text = "[SM [MAX 2 9 [MIN 4 7 ] 0 ] 3 [MED 1 [SM 5 5 ] 8 6 ] ]"
    tree = listops_tree(text, form=form)
    layout = tree_layout(tree)
    nodes = list(tree.postorder())
    leaves = [i for i, node in enumerate(nodes) if node.is_leaf()]
    assert [nodes[i].token for i in leaves] == text.split()  # the tokens in reading order
    assert [layout.x[i] for i in leaves] == list(range(len(leaves))) and {layout.y[i] for i in leaves} == {0}
    assert len(layout.edges) == len(nodes) - 1
    for i, node in enumerate(nodes):
        kids = [child for parent, child in layout.edges if parent == i]
        assert len(kids) == len(node.children)
        if kids:
            assert layout.y[i] == node.height() == 1 + max(layout.y[k] for k in kids)
            assert min(layout.x[k] for k in kids) <= layout.x[i] <= max(layout.x[k] for k in kids)
    if form == "nary":
        assert max(len(node.children) for node in nodes) == 6  # [MED 1 [SM 5 5 ] 8 6 ]: operator, 4 args, ]


def test_subtrees_occupy_disjoint_intervals_so_lines_do_not_cross():
    tree = listops_tree("[SM [MAX 2 9 [MIN 4 7 ] 0 ] 3 [MED 1 [SM 5 5 ] 8 6 ] ]")
    layout = tree_layout(tree)
    spans = {}  # postorder index -> (first leaf x, last leaf x) of its subtree
    for i, node in enumerate(tree.postorder()):
        kids = [child for parent, child in layout.edges if parent == i]
        spans[i] = (layout.x[i], layout.x[i]) if not kids else (spans[kids[0]][0], spans[kids[-1]][1])
        assert spans[i][0] <= layout.x[i] <= spans[i][1]
        for a, b in zip(kids, kids[1:]):
            assert spans[a][1] < spans[b][0]  # siblings' subtrees never overlap


# ---- marks and colours -------------------------------------------------------------------------------------

def test_marks_read_the_truths_or_the_trees_labels():
    tree = labelled("( ( a b ) c )", {0: 1, 2: 5, 4: 7})  # a, (a b) and the root labelled
    predictions = [1, 3, 4, 0, 7]
    expected = [Mark(1, 1), None, Mark(4, 5), None, Mark(7, 7)]
    assert node_marks(tree, predictions) == expected
    assert node_marks(tree, torch.tensor(predictions), [1, -1, 5, None, 7]) == expected
    assert [m.right for m in expected if m] == [True, False, True]
    assert node_marks(tree, predictions, [2, 3, -1, 0, -1]) == [Mark(1, 2), Mark(3, 3), None, Mark(0, 0), None]


def _disc_texts(figure):
    """(x, y, text) of the white digits in the discs, and of the truth boxes, per axes."""
    discs, boxes = [], []
    for axes in figure.axes:
        for text in axes.texts:
            x, y = text.get_position()
            if text.get_color() == "white":
                discs.append((x, y, text.get_text()))
            elif text.get_bbox_patch() is not None:
                boxes.append((round(x - 0.3, 6), round(y - 0.3, 6), text.get_text(),
                              matplotlib.colors.to_hex(text.get_bbox_patch().get_edgecolor())))
    return discs, boxes


def _disc_colours(figure):
    """(x, y) -> colour of every disc (the large markers) drawn."""
    found = {}
    for axes in figure.axes:
        for line in axes.lines:
            if line.get_marker() == "o" and line.get_markersize() >= 10:
                found[(float(line.get_xdata()[0]), float(line.get_ydata()[0]))] = \
                    matplotlib.colors.to_hex(line.get_markerfacecolor())
    return found


def test_a_hand_tree_is_drawn_with_its_predictions_green_where_right_red_where_wrong(tmp_path, figures):
    # ( ( [MAX 2 ) 9 ) ] ) as the "left" parse of [MAX 2 9 ]: leaves [MAX, 2, 9, ] ; labels at 2, 9 and the root
    tree = listops_tree("[MAX 2 9 ]")
    nodes = list(tree.postorder())  # [MAX, 2, ([MAX 2), 9, (.. 9), ], root
    assert [n.label for n in nodes] == [None, 2, None, 9, None, None, 9]
    predictions = [0, 2, 5, 4, 5, 1, 9]  # the leaf 9 read out as 4: wrong; the root right
    path = draw_tree_predictions(tree, predictions, None, tmp_path / "one.png", title="hand")
    assert path.read_bytes()[:8] == PNG
    (figure,) = figures
    layout = tree_layout(tree)
    discs, boxes = _disc_texts(figure)
    assert sorted(discs) == sorted([(layout.x[1], 0, "2"), (layout.x[3], 0, "4"), (layout.x[6], layout.y[6], "9")])
    assert boxes == [(layout.x[3], 0, "9", WRONG.lower())]  # the truth beside the one wrong node only
    assert _disc_colours(figure) == {(layout.x[1], 0.0): RIGHT.lower(), (layout.x[3], 0.0): WRONG.lower(),
                                     (layout.x[6], float(layout.y[6])): RIGHT.lower()}
    title = figure.axes[0].get_title(loc="left")
    assert title == "hand: root 9 (right); labelled inner nodes right 1 of 1; labelled leaves 1 of 2"
    tokens = [t.get_text() for t in figure.axes[0].texts if t.get_color() != "white" and t.get_bbox_patch() is None]
    assert tokens == ["[MAX", "2", "9", "]"]


def _pixels(path, colour):
    """Pixels of ``colour`` in the picture below its legend (the top 0.75 inch, at 110 dots an inch)."""
    image = plt.imread(path)[83:, :, :3]  # (H, W, 3) in [0, 1]
    target = np.array(matplotlib.colors.to_rgb(colour))
    return int((np.abs(image - target).max(-1) < 0.03).sum())


def test_the_png_is_green_only_when_every_prediction_is_right(tmp_path):
    # n-ary; postorder a b (a b) c d e f (d e f) (c (d e f)) root, labels at (a b), (d e f) and the root
    tree = labelled("( ( a b ) ( c ( d e f ) ) )", {2: 3, 7: 1, 9: 4})
    right = draw_tree_predictions(tree, [0, 0, 3, 0, 0, 0, 0, 1, 0, 4], None, tmp_path / "right.png")
    assert _pixels(right, RIGHT) > 100 and _pixels(right, WRONG) == 0
    wrong = draw_tree_predictions(tree, [0, 0, 3, 0, 0, 0, 0, 2, 0, 4], None, tmp_path / "wrong.png")
    assert _pixels(wrong, WRONG) > 100 and _pixels(wrong, RIGHT) < _pixels(right, RIGHT)


def test_several_trees_share_one_scale_and_the_figure_widens_with_the_leaves(tmp_path, figures):
    small = listops_tree("[MAX 2 9 ]")
    large = listops_tree("[SM " + " ".join(["[MAX 2 9 ]"] * 12) + " ]")  # 50 tokens
    draw_trees_predictions([small, large], [[0] * small.size(), [0] * large.size()], None, tmp_path / "two.png",
                           titles=["small", "large"], heading="listops")
    draw_tree_predictions(small, [0] * small.size(), None, tmp_path / "small.png")
    two, alone = figures
    assert two.axes[0].get_xlim() == two.axes[1].get_xlim()
    assert two.get_figwidth() > 0.3 * 50 > alone.get_figwidth() - 0.6
    assert two.texts[0].get_text() == "listops"


@pytest.mark.parametrize("call, message", [
    (lambda t, p: draw_tree_predictions(t, [1, 2, 3], None, p),
     r"draw_tree_predictions: predictions hold 3 values but the tree has 5 nodes \(one a node, in the tree's "
     r"postorder\)$"),
    (lambda t, p: draw_tree_predictions(t, [1] * 5, [1] * 6, p),
     "draw_tree_predictions: truths hold 6 values but the tree has 5 nodes"),
    (lambda t, p: draw_tree_predictions(t, torch.zeros(5), None, p),
     "draw_tree_predictions: predictions must be integer classes; got dtype torch.float32"),
    (lambda t, p: draw_tree_predictions(t, torch.zeros(5, 1, dtype=torch.long), None, p),
     r"draw_tree_predictions: predictions must be one class a node, shape \(5,\); got shape \(5, 1\)"),
    (lambda t, p: draw_tree_predictions(t, [0, 1, -1, 0, 0], None, p),
     "draw_tree_predictions: predictions\\[2\\] is -1; expected a class >= 0$"),
    (lambda t, p: draw_tree_predictions(t, [0] * 5, [0, 1, 2.5, 0, 0], p),
     "draw_tree_predictions: truths\\[2\\] is 2.5; expected a class >= 0, or None or -1 where the node has no label"),
    (lambda t, p: draw_tree_predictions(t, "01234", None, p),
     "draw_tree_predictions: predictions must be a sequence or tensor of classes, one a node; got str"),
    (lambda t, p: draw_tree_predictions("( a b )", [0], None, p),
     "draw_tree_predictions: tree 0 is a str, not a Tree"),
    (lambda t, p: draw_trees_predictions([t, t], [[0] * 5], None, p),
     "draw_trees_predictions: 2 trees need as many predictions, truths and titles; got 1, 2 and 2"),
    (lambda t, p: draw_trees_predictions([], [], None, p),
     "draw_trees_predictions: trees must be a non-empty sequence of Trees"),
])
def test_bad_drawing_inputs_are_refused_in_one_line(tmp_path, call, message):
    tree = labelled("( ( a b ) c )", {4: 1})
    with pytest.raises((ValueError, TypeError), match=message) as error:
        call(tree, tmp_path / "x.png")
    assert "\n" not in str(error.value)
    assert not (tmp_path / "x.png").exists()


# ---- node states -------------------------------------------------------------------------------------------

def test_the_projection_equals_an_independent_pca():
    generator = torch.Generator().manual_seed(0)
    states = torch.randn(40, 6, generator=generator) @ torch.diag(torch.tensor([5.0, 3, 1, 0.5, 0.2, 0.1]))
    coordinates, explained = project_states(states)
    x = states.double().numpy()
    centred = x - x.mean(0)
    values, vectors = np.linalg.eigh(np.cov(centred.T))  # ascending
    top = vectors[:, ::-1][:, :2]
    reference = centred @ top
    for k in range(2):  # a component's sign is arbitrary
        sign = np.sign(reference[:, k] @ coordinates[:, k])
        np.testing.assert_allclose(coordinates[:, k], sign * reference[:, k], atol=1e-9)
    np.testing.assert_allclose(explained, values[::-1][:2] / values.sum(), rtol=1e-9)
    one, share = project_states(torch.arange(5.0).unsqueeze(1))  # H = 1: the second coordinate is zero
    assert np.all(one[:, 1] == 0) and share.tolist() == [1.0, 0.0]


def test_node_states_are_drawn_one_colour_a_label_unlabelled_ones_left_out(tmp_path, figures):
    generator = torch.Generator().manual_seed(1)
    states = torch.randn(30, 8, generator=generator)
    labels = torch.tensor([i % 4 for i in range(24)] + [-1] * 6)
    is_leaf = torch.arange(30) % 5 == 0
    path = node_state_projection(states, labels, tmp_path / "states.png", is_leaf=is_leaf)
    assert path.read_bytes()[:8] == PNG
    (figure,) = figures
    axes = figure.axes[0]
    palette = plt.get_cmap("tab10")
    coordinates, _ = project_states(states[:24])
    for value in range(4):  # the points of a label's colour are that label's states, projected
        points = [c.get_offsets() for c in axes.collections
                  if len(c.get_offsets()) and np.allclose(c.get_facecolor()[0][:3], palette(value)[:3])]
        assert sorted(map(tuple, np.concatenate(points).tolist())) == \
            sorted(map(tuple, coordinates[labels[:24].numpy() == value].tolist()))
    assert [t.get_text() for t in axes.get_legend().get_texts()] == ["0", "1", "2", "3"]
    assert "crosses: leaves" in axes.texts[0].get_text()


LONG = dict(dtype=torch.long)


@pytest.mark.parametrize("states, labels, is_leaf, message", [
    (torch.zeros(4), torch.zeros(4, **LONG), None, r"states must be \(N, H\), one row a node; got shape \(4,\)"),
    (torch.zeros(4, 2), torch.zeros(3, **LONG), None,
     r"labels must be \(4,\) integer classes, one a state \(-1: none\); got shape \(3,\)"),
    (torch.zeros(4, 2), torch.zeros(4), None, "labels must be .* integer classes"),
    (torch.zeros(4, 2), torch.tensor([0, -1, -1, -1]), None, "needs at least 2 labelled states to project; got 1"),
    (torch.zeros(4, 2), torch.tensor([0, -2, 1, 1]), None, r"labels must be classes >= 0 or -1 \(no label\); got -2"),
    (torch.zeros(4, 2), torch.zeros(4, **LONG), torch.zeros(3, dtype=torch.bool), r"is_leaf must be \(4,\) bool"),
    (torch.full((4, 2), float("nan")), torch.zeros(4, **LONG), None,
     r"the states hold values that are not finite \(NaN or inf\)"),
])
def test_bad_states_are_refused_in_one_line(tmp_path, states, labels, is_leaf, message):
    with pytest.raises(ValueError, match="node_state_projection: " + message):
        node_state_projection(states, labels, tmp_path / "x.png", is_leaf=is_leaf)
    assert not (tmp_path / "x.png").exists()


# ---- a tree model on a tree task ---------------------------------------------------------------------------

def _tree_run(task: str = "listops", model: str = "tree_lstm", *overrides: str):
    run = config.build_config(task, model=model, overrides=["model.hidden_size=8", "task.max_depth=3", *overrides])
    built = runs.build_task(run)
    torch.manual_seed(0)
    return runs.build_model(run, built), built


@pytest.mark.parametrize("form", ["left", "nary"])
def test_trees_rebuilt_from_a_batch_equal_the_tasks_trees(form):
    _, task = _tree_run("listops", "child_sum_tree_lstm", f"task.form={form}")
    examples = task.held_out(12, seed=4)
    batch = task.batch(examples)
    for b, example in enumerate(examples):
        rebuilt = tree_from_batch(batch.structure, b, task.TOKENS.__getitem__)
        assert rebuilt == task.tree(example.tokens)
        assert rebuilt.label == example.label


def test_each_nodes_prediction_is_its_subtree_read_out_alone(tmp_path, monkeypatch):
    """A recursive net's state at a node depends on its subtree alone: the prediction drawn at a node must be
    the model's root prediction for that subtree batched on its own (an independent path to the same number)."""
    model, task = _tree_run()
    batch = task.eval_set(16, seed=5)[0]
    captured = {}
    real = tree_view.draw_trees_predictions

    def capture(trees, predictions, truths, path, **options):
        captured.update(trees=trees, predictions=predictions)
        return real(trees, predictions, truths, path, **options)

    monkeypatch.setattr(tree_view, "draw_trees_predictions", capture)
    paths = tree_pictures(model, task, batch, tmp_path, trees=2)
    assert [p.name for p in paths] == ["tree_predictions.png", "node_states.png"]
    assert all(p.read_bytes()[:8] == PNG for p in paths)
    assert len(captured["trees"]) == 2
    model.eval()
    for tree, predictions in zip(captured["trees"], captured["predictions"]):
        subtrees = [node.map_tokens(task.stoi.__getitem__) for node in tree.postorder()]
        with torch.no_grad():
            alone = model(None, structure=batch_trees(subtrees))[0].argmax(-1)  # (nodes,)
        assert predictions.tolist() == alone.tolist()


def test_the_trees_drawn_are_the_first_short_nested_ones():
    trees = [listops_tree(text, leaf=lambda t: 1 + len(t)) for text in (
        "[MAX 2 9 ]",  # no nested list
        "[SM " + " ".join(["[MAX 2 9 ]"] * 12) + " ]",  # 50 tokens, nested
        "[MAX 2 [MIN 4 7 ] ]",  # nested, short
        "[MIN 1 [SM 4 7 ] ]")]  # nested, short
    structure = batch_trees(trees)
    assert chosen_trees(structure, count=2, max_leaves=20) == [2, 3]
    assert chosen_trees(structure, count=3, max_leaves=20) == [0, 2, 3]  # filled with a short flat one
    assert chosen_trees(structure, count=3, max_leaves=60) == [1, 2, 3]
    assert chosen_trees(structure, count=3, max_leaves=3) == [0]  # none short enough: the smallest
    with pytest.raises(ValueError, match="tree pictures: count must be an int >= 1; got 0"):
        chosen_trees(structure, count=0)


def test_one_flat_list_shows_its_leaves_too(tmp_path, monkeypatch):
    model, task = _tree_run()
    batch = task.make_batch(["[MAX 2 9 ]", "[MIN 1 [SM 4 7 ] ]"])
    captured = {}
    monkeypatch.setattr(tree_view, "node_state_projection",
                        lambda states, labels, path, **options: captured.update(labels=labels, **options) or path)
    tree_view.states_picture(model, batch, tmp_path, task=task, max_points=1)  # the first tree alone
    assert sorted(captured["labels"][captured["labels"] >= 0].tolist()) == [2, 9, 9]  # the digits and the list
    assert "3 labelled nodes of 1 held-out trees" in captured["title"]
    tree_view.states_picture(model, batch, tmp_path, task=task)
    # both trees' lists, no leaf: [MAX 2 9 ] = 9, [SM 4 7 ] = 1, [MIN 1 1 ] = 1
    assert sorted(captured["labels"][captured["labels"] >= 0].tolist()) == [1, 1, 9]


def test_the_states_picture_shows_the_labelled_inner_nodes(tmp_path, monkeypatch):
    model, task = _tree_run()
    batch = task.eval_set(30, seed=5)[0]
    captured = {}
    monkeypatch.setattr(tree_view, "node_state_projection",
                        lambda states, labels, path, **options: captured.update(states=states, labels=labels) or path)
    tree_view.states_picture(model, batch, tmp_path, task=task, max_points=40)
    structure = batch.structure
    inner = ((structure.labels >= 0) & (structure.arity > 0))
    counts = torch.bincount(structure.tree_of[inner], minlength=structure.size).cumsum(0)
    trees = int((counts <= 40).sum())
    narrow = structure.narrow(0, trees)
    expected = torch.where(narrow.arity > 0, narrow.labels, -1)
    assert torch.equal(captured["labels"], expected) and 0 < int((expected >= 0).sum()) <= 40
    with torch.no_grad():
        assert torch.allclose(captured["states"], model.node_outputs(narrow)[1])


def test_a_model_without_node_readouts_is_refused(tmp_path):
    model, task = _tree_run("listops", "lstm")
    assert "does not read out every node of a tree (node_outputs)" in tree_view.supports(model, task)
    with pytest.raises(ValueError, match="tree pictures: the model SequenceClassifier does not read out every node"):
        tree_pictures(model, task, task.eval_set(4, seed=1)[0], tmp_path)
    tree_model, _ = _tree_run()
    adding = runs.build_task(config.build_config("adding", model="lstm"))
    assert tree_view.supports(tree_model, adding) == "task adding's batches carry no trees"


def test_rnnlab_eval_plots_draws_the_tree_pictures_of_a_tree_run(tmp_path):
    run = tmp_path / "run"
    assert cli.main(["train", "listops", "--model", "tree_lstm", "--steps", "2", "--set", "model.hidden_size=8",
                     "--set", "task.max_depth=3", "--set", "train.eval_size=20", "--set", "train.batch_size=4",
                     "--out", str(run)]) == 0
    assert cli.main(["eval", str(run), "--plots"]) == 0
    directory = runs.eval_plots_directory(run)
    assert sorted(p.name for p in directory.iterdir()) == ["node_states.png", "tree_predictions.png"]
    for name in ("node_states.png", "tree_predictions.png"):
        assert (directory / name).read_bytes()[:8] == PNG
