"""ListOps (Nangia & Bowman 2018): the evaluator on hand-computed cases, the published parse, the docstring's worked
example, the generator against make_data.py's settings and the published test file's statistics, seeds, the
held-out rule, the reader of the published format, batches, metrics, bad settings, a learning check."""

from __future__ import annotations

import collections
import re
import zlib

import pytest
import torch
import torch.nn.functional as F

import rnnlab.tasks.listops as listops
from rnnlab.data import DataError
from rnnlab.models import SequenceClassifier
from rnnlab.tasks import registry
from rnnlab.tasks.listops import ListOpsTask, evaluate, listops_tree, published_text, read_examples
from rnnlab.trees import TreeBatch, batch_trees, parse

from training_loop import train_until

# (expression, value, depth), computed by hand; MED of an even count is the mean of the middle two rounded down
CASES = [
    ("[MAX 2 9 [MIN 4 7 ] 0 ]", 9, 2),  # MIN 4 7 = 4; MAX 2 9 4 0 = 9
    ("[MIN 4 7 ]", 4, 1),
    ("[MED 3 1 4 1 5 ]", 3, 1),  # 1 1 3 4 5
    ("[MED 2 9 ]", 5, 1),  # 5.5 -> 5, make_data.py's int(np.median)
    ("[MED 1 2 3 4 ]", 2, 1),  # 2.5 -> 2
    ("[MED 9 0 9 0 ]", 4, 1),  # 4.5 -> 4
    ("[SM 7 8 9 ]", 4, 1),  # 24
    ("[SM 0 0 ]", 0, 1),
    ("[SM 5 [MAX 1 6 ] [MIN 9 [SM 4 4 ] ] ]", 9, 3),  # SM 4 4 = 8; MIN 9 8 = 8; MAX 1 6 = 6; 5 + 6 + 8 = 19
    ("[MED [SM 9 9 ] [MIN 3 5 ] 7 ]", 7, 2),  # MED 8 3 7
    ("[MIN [MAX [MED 1 2 ] 0 ] 3 ]", 1, 3),  # MED 1 2 = 1; MAX 1 0 = 1; MIN 1 3 = 1
    ("7", 7, 0),
]
NESTED = "[SM 5 [MAX 1 6 ] [MIN 9 [SM 4 4 ] ] ]"
# its published form, bracketed by hand: within each list the operator first, each argument joined on, then "]"
NESTED_PARSE = ("( ( ( ( [SM 5 ) ( ( ( [MAX 1 ) 6 ) ] ) ) ( ( ( [MIN 9 ) ( ( ( [SM 4 ) 4 ) ] ) ) ] ) ) ] )")


def make(**config) -> ListOpsTask:
    return ListOpsTask(ListOpsTask.Config(**config))


def lists(tokens) -> list[tuple[str, int, int, int]]:
    """Every list of an expression, read independently of the module: (operator, its depth, its argument count,
    how many of its arguments are lists)."""
    out, stack = [], []  # stack: [operator, depth, arguments, nested]
    for token in tokens:
        if token.startswith("["):
            if stack:
                stack[-1][2] += 1
                stack[-1][3] += 1
            stack.append([token, len(stack) + 1, 0, 0])
        elif token == "]":
            out.append(tuple(stack.pop()))
        else:
            stack[-1][2] += 1
    return out


# ---- the evaluator and the trees ------------------------------------------------------------------------

@pytest.mark.parametrize("text, value, depth", CASES)
def test_the_evaluator_on_hand_computed_cases(text, value, depth):
    assert evaluate(text) == (value, depth)
    assert evaluate(text.split()) == (value, depth)


@pytest.mark.parametrize("text, message", [
    ("[MAX ]", "token 2 (']') closes [MAX without an argument"),
    ("[MAX 2 9", "1 list(s) never closed (the expression ends inside [MAX)"),
    ("[MAX 2 ] 3", "token 4 ('3') comes after the end of the expression"),
    ("[MAX 2 10 ]", "token 3 ('10') is not a ListOps token (digits 0-9, [MIN [MAX [MED [SM, ])"),
    ("[SUM 1 2 ]", "token 1 ('[SUM') is not a ListOps token"),
    ("] 3", "token 1 (']') closes no list"),
    ("", "an empty expression"),
])
def test_malformed_expressions_are_named(text, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        evaluate(text)


def test_the_published_parse_and_the_nary_form():
    assert published_text("[MAX 1 7 2 ]") == "( ( ( ( [MAX 1 ) 7 ) 2 ) ] )"
    assert published_text(NESTED) == NESTED_PARSE
    left = listops_tree(NESTED)
    assert left.to_text() == NESTED_PARSE and parse(NESTED_PARSE).to_text() == NESTED_PARSE
    assert left.leaves() == NESTED.split()
    inner = [node for node in left.preorder() if node.children]
    assert all(len(node.children) == 2 for node in inner), "the published parse is binary"
    # labels: every completed list its value, every digit itself, the partial lists and the brackets none
    completed = [node for node in inner if node.children[1].token == "]"]
    assert [node.label for node in completed] == [9, 6, 8, 8]  # preorder: SM, MAX, MIN, inner SM
    assert all(node.label is None for node in inner if node not in completed)
    leaves = [node for node in left.preorder() if not node.children]
    assert [node.label for node in leaves] == [None if t.startswith("[") or t == "]" else int(t) for t in
                                               NESTED.split()]
    nary = listops_tree(NESTED, form="nary")
    assert nary.to_text() == "( [SM 5 ( [MAX 1 6 ] ) ( [MIN 9 ( [SM 4 4 ] ) ] ) ] )"
    assert nary.leaves() == NESTED.split() and nary.label == 9 and len(nary.children) == 5
    assert listops_tree("[MAX 2 9 ]", leaf=ListOpsTask.stoi.__getitem__).leaves() == [12, 3, 10, 15]


def test_the_docstrings_worked_example():
    rows = {}
    for line in listops.__doc__.splitlines():
        match = re.match(r"    (tokens|ids|label|left|nary) +(.*)", line)
        if match and match[1] not in rows:
            rows[match[1]] = match[2]
    tokens = rows["tokens"].split()
    text = " ".join(tokens)
    assert text == "[MAX 2 9 [MIN 4 7 ] 0 ]"
    ids = [int(i) for i in rows["ids"].split()]
    assert ids == [ListOpsTask.stoi[t] for t in tokens]
    assert int(rows["label"].split()[0]) == evaluate(text)[0] == 9
    assert rows["left"] == listops_tree(text).to_text() == published_text(text)
    assert rows["nary"] == listops_tree(text, form="nary").to_text()
    batch = make().make_batch([text, published_text(text)])  # both forms give the same example
    assert batch.inputs.T.tolist() == [ids, ids] and batch.targets.tolist() == [9, 9]


def test_tokens_and_ids():
    assert ListOpsTask.TOKENS == ("<pad>", *"0123456789", "[MIN", "[MAX", "[MED", "[SM", "]")
    assert ListOpsTask.input_vocab == ListOpsTask.input_size == 16 and ListOpsTask.output_size == 10
    assert ListOpsTask.stoi["0"] == 1 and ListOpsTask.stoi["9"] == 10 and ListOpsTask.stoi["]"] == 15


# ---- the generator ------------------------------------------------------------------------------------------

def test_independent_draws_follow_make_data_settings():
    """make_data.py's process itself (distinct_expressions none, no length bound): 2..5 arguments, uniform; four
    operators, uniform; an argument is a list with probability VALUE_P = 0.25; lists nest at most 19 deep; the
    root is a list.  A root list holds digits only with probability E[0.75^n], n uniform on 2..5: 0.3845."""
    task = make(distinct_expressions=None, max_length=None)
    examples = task.examples(3000, torch.Generator().manual_seed(0))
    every = [lst for example in examples for lst in lists(example.tokens)]
    arguments = collections.Counter(n for _, _, n, _ in every)
    operators = collections.Counter(op for op, _, _, _ in every)
    assert sorted(arguments) == [2, 3, 4, 5] and sorted(operators) == sorted(listops.OPERATORS)
    for count in (*arguments.values(), *operators.values()):
        assert abs(count / len(every) - 0.25) < 0.015
    below_cap = [(n, nested) for _, depth, n, nested in every if depth < 19]
    nesting = sum(nested for _, nested in below_cap) / sum(n for n, _ in below_cap)
    assert abs(nesting - 0.25) < 0.01
    assert all(example.tokens[0].startswith("[") for example in examples)
    assert max(example.depth for example in examples) <= 19
    assert all(example.depth == max(d for _, d, _, _ in lists(example.tokens)) for example in examples)
    flat = sum(example.depth == 1 for example in examples) / len(examples)
    assert abs(flat - sum(0.75 ** n for n in range(2, 6)) / 4) < 0.03
    assert all(example.label == evaluate(example.tokens)[0] for example in examples)


def test_the_depth_cap_holds_digits_only_at_the_cap():
    task = make(max_depth=3, distinct_expressions=None)
    examples = task.examples(2000, torch.Generator().manual_seed(1))
    depths = collections.Counter(example.depth for example in examples)
    assert set(depths) == {1, 2, 3}
    assert all(len(example.tokens) <= 50 for example in examples)
    assert all(nested == 0 for example in examples for _, depth, _, nested in lists(example.tokens) if depth == 3)


# Statistics of the published test_d20s.tsv (10,000 lines, 9,999 lists; measured, see the module docstring)
PUBLISHED = {"mean_tokens": 42.8, "median_tokens": 16, "at_most_50": 0.797, "depth_1": 0.209, "depth_2": 0.234,
             "labels": (0.113, 0.104, 0.097, 0.098, 0.099, 0.097, 0.090, 0.093, 0.096, 0.114)}


def test_generated_data_are_distributed_as_the_published_files():
    """3,000 generated held-out expressions (no length bound, like the test file) against the test file: the
    distinct-expression emulation matters (independent draws put 38% at depth 1, the file 20.9%)."""
    task = make()
    assert abs(task.pool_draws - 129_000) < 4_000  # make_data.py's draws behind 100,000 distinct expressions
    examples = task.held_out(3000, seed=0)
    lengths = sorted(len(example.tokens) for example in examples)
    n = len(examples)
    assert abs(sum(lengths) / n - PUBLISHED["mean_tokens"]) < 5
    assert abs(lengths[n // 2] - PUBLISHED["median_tokens"]) <= 2
    assert abs(sum(length <= 50 for length in lengths) / n - PUBLISHED["at_most_50"]) < 0.03
    depths = collections.Counter(example.depth for example in examples)
    assert abs(depths[1] / n - PUBLISHED["depth_1"]) < 0.03 and abs(depths[2] / n - PUBLISHED["depth_2"]) < 0.03
    labels = collections.Counter(example.label for example in examples)
    for label, share in enumerate(PUBLISHED["labels"]):
        assert abs(labels[label] / n - share) < 0.025
    independent = make(distinct_expressions=None).held_out(3000, seed=0)
    assert sum(example.depth == 1 for example in independent) / 3000 > 0.35


def test_training_draws_keep_the_length_bound():
    examples = make().examples(2000, torch.Generator().manual_seed(2))
    assert max(len(example.tokens) for example in examples) <= 50
    assert sum(len(example.tokens) > 40 for example in examples) > 0
    assert all(len(make(max_length=12).examples(1, torch.Generator().manual_seed(s))[0].tokens) <= 12
               for s in range(50))


def test_a_pool_larger_than_the_settings_allow_is_refused():
    """Flat lists of 2 arguments: 4 operators × 100 pairs = 400 expressions in all."""
    with pytest.raises(ValueError, match=re.escape("listops task: distinct_expressions = 1000 is more than these "
                                                   "settings can give (about 400 distinct expressions)")):
        make(max_depth=1, max_arguments=2, distinct_expressions=1000)
    assert make(max_depth=1, max_arguments=2, distinct_expressions=300).pool_draws > 300


def test_same_seed_same_batch_and_no_global_rng():
    task = make()
    torch.manual_seed(1)
    state = torch.get_rng_state()
    a = task.sample(64, torch.Generator().manual_seed(7))
    assert torch.equal(torch.get_rng_state(), state)
    b = make().sample(64, torch.Generator().manual_seed(7))
    c = task.sample(64, torch.Generator().manual_seed(8))
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets) and torch.equal(a.lengths, b.lengths)
    assert torch.equal(a.structure.tokens, b.structure.tokens)
    assert torch.equal(a.structure.children, b.structure.children)
    assert not torch.equal(a.targets, c.targets)


def test_training_and_held_out_never_share_an_expression():
    """The CRC-32 rule, checked with zlib directly: held-out expressions are the ones whose text's CRC-32 is
    divisible by 10, training draws the others; the depth-generalisation setting separates them by depth."""
    task = make(distinct_expressions=None)  # independent draws repeat small expressions: collisions would show
    train = task.examples(4000, torch.Generator().manual_seed(3))
    held = task.held_out(2000, seed=0)
    crc = lambda example: zlib.crc32(" ".join(example.tokens).encode()) % 10  # noqa: E731
    assert all(crc(example) != 0 for example in train) and all(crc(example) == 0 for example in held)
    train_texts = {example.tokens for example in train}
    held_texts = {example.tokens for example in held}
    assert not train_texts & held_texts
    assert len(held) - len(held_texts) > 50, "small expressions recur: the test could see collisions"
    deep = make(max_depth=3, test_min_depth=4, test_max_depth=6)
    assert not deep.split_by_text
    assert max(example.depth for example in deep.examples(1000, torch.Generator().manual_seed(4))) <= 3
    assert {example.depth for example in deep.held_out(500, seed=1)} == {4, 5, 6}


def test_eval_set_is_fixed_by_its_seed_and_batched_by_500():
    task = make(test_max_length=20)  # short expressions: batch_trees takes about 13 µs a node
    batches = task.eval_set(1001, seed=3)
    assert [batch.targets.shape[0] for batch in batches] == [500, 500, 1]
    assert max(int(batch.lengths.max()) for batch in batches) <= 20
    examples = task.held_out(1001, seed=3)
    assert torch.cat([batch.targets for batch in batches]).tolist() == [example.label for example in examples]
    assert make(test_max_length=20).held_out(1001, seed=3) == examples
    assert task.held_out(1001, seed=4) != examples


# ---- batches ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("form", ["left", "nary"])
def test_a_batch_holds_the_tokens_the_trees_and_the_values(form):
    task = make(form=form)
    examples = task.examples(40, torch.Generator().manual_seed(5))
    batch = task.batch(examples)
    B = len(examples)
    assert batch.inputs.dtype == torch.int64 and batch.inputs.shape == (int(batch.lengths.max()), B)
    assert batch.lengths.tolist() == [len(example.tokens) for example in examples]
    real = torch.arange(batch.inputs.shape[0]).unsqueeze(1) < batch.lengths  # (T, B)
    assert (batch.inputs[~real] == 0).all() and (batch.inputs[real] > 0).all()
    for b, example in enumerate(examples):
        assert [ListOpsTask.TOKENS[i] for i in batch.inputs[: len(example.tokens), b].tolist()] == \
            list(example.tokens)
    assert batch.targets.tolist() == [evaluate(example.tokens)[0] for example in examples]
    assert isinstance(batch.structure, TreeBatch) and batch.structure.size == B
    trees = [listops_tree(example.tokens, form=form, leaf=ListOpsTask.stoi.__getitem__) for example in examples]
    expected = batch_trees(trees)
    assert torch.equal(batch.structure.tokens, expected.tokens)
    assert torch.equal(batch.structure.children, expected.children)
    assert torch.equal(batch.structure.labels[batch.structure.roots], batch.targets), "each root holds its value"
    if form == "left":
        assert batch.structure.arities == (2,)
    else:  # the operator, 2 to 5 arguments, the bracket
        assert set(batch.structure.arities) <= {4, 5, 6, 7} and len(batch.structure.arities) > 1
    assert batch.narrow(0, 5).structure.size == 5


def test_make_batch_refuses_a_malformed_expression():
    with pytest.raises(ValueError, match=re.escape("listops task: '[MAX 2 9': 1 list(s) never closed")):
        make().make_batch(["[MIN 1 2 ]", "[MAX 2 9"])


# ---- metrics ------------------------------------------------------------------------------------------------

def test_loss_and_accuracy_on_hand_made_logits():
    task = make()
    batch = task.make_batch(["[MAX 2 9 ]", "[MIN 4 7 ]", "[SM 7 8 9 ]"])  # values 9, 4, 4
    logits = torch.full((3, 10), -5.0)
    logits[0, 9] = logits[1, 4] = logits[2, 3] = 5.0  # the third says 3
    got = task.metrics(logits, batch)
    assert got["accuracy"] == pytest.approx(2 / 3) and got["count"] == 3
    expected = F.cross_entropy(logits, torch.tensor([9, 4, 4]))
    assert got["loss"] == pytest.approx(float(expected)) and float(task.loss(logits, batch)) == pytest.approx(
        float(expected))
    with pytest.raises(ValueError, match=re.escape("task 'listops' expects outputs of shape (B, 10) = (3, 10)")):
        task.loss(torch.zeros(3, 9), batch)


def test_class_attributes_and_defaults():
    assert registry.get("listops") is ListOpsTask
    assert (ListOpsTask.output_kind, ListOpsTask.main_metric, ListOpsTask.main_metric_goal) == \
        ("last", "accuracy", "max")
    assert ListOpsTask.Config() == ListOpsTask.Config(
        path="", test_path="", form="left", nesting_probability=0.25, max_arguments=5, max_depth=19, max_length=50,
        distinct_expressions=100_000, test_min_depth=1, test_max_depth=None, test_max_length=None)
    assert ListOpsTask.recommendations("lstm", {}) == {"train.batch_size": 64, "train.steps": 10_000,
                                                       "train.eval_size": 2_000}


# ---- the published files --------------------------------------------------------------------------------------

def write(tmp_path, name: str, lines: list[str], end: str = "\n"):
    path = tmp_path / name
    path.write_text(end.join(lines) + end)
    return path


def test_the_reader_takes_both_forms_and_skips_lone_digits(tmp_path):
    path = write(tmp_path, "mixed.tsv", ["9\t[MAX 2 9 [MIN 4 7 ] 0 ]", "7\t( ( ( ( [MAX 1 ) 7 ) 2 ) ] )", "",
                                         "5\t5", f"9\t{NESTED_PARSE}", "4\t[SM 7 8 9 ]  "], end="\r\n")
    every, kept = read_examples(path, max_depth=2, max_length=9)
    assert [(" ".join(e.tokens), e.label, e.depth) for e in every] == [
        ("[MAX 2 9 [MIN 4 7 ] 0 ]", 9, 2), ("[MAX 1 7 2 ]", 7, 1), (NESTED, 9, 3), ("[SM 7 8 9 ]", 4, 1)]
    assert [e.label for e in kept] == [9, 7, 4]  # NESTED is 3 deep
    assert [e.label for e in read_examples(path, max_length=6)[1]] == [7, 4]


@pytest.mark.parametrize("line, message", [
    ("9 [MAX 2 9 ]", "no tab between label and expression in '9 [MAX 2 9 ]'; expected label<TAB>expression"),
    ("x\t[MAX 2 9 ]", "the label 'x' is not a digit 0-9"),
    ("10\t[MAX 2 9 ]", "the label '10' is not a digit 0-9"),
    ("3\t[MAX 2 9 ]", "the label 3 is not the value of '[MAX 2 9 ]', which is 9"),
    ("9\t[MAX 2 9", "1 list(s) never closed (the expression ends inside [MAX) in '[MAX 2 9'"),
    ("9\t[FOO 2 9 ]", "token 1 ('[FOO') is not a ListOps token"),
    ("9\t( [MAX 2 9 ] )", "the parentheses are not the published parse of the expression (left-branching within "
                          "each list): expected '( ( ( [MAX 2 ) 9 ) ] )'"),
    ("9\t( ( ( [MAX 2 ) 9 ) ] ) )", "parse: ')' at position 23 closes no '('"),
    ("9\t", "an empty expression"),
])
def test_a_bad_line_is_named_by_file_and_line(tmp_path, line, message):
    path = write(tmp_path, "bad.tsv", ["4\t[MIN 4 7 ]", line])
    with pytest.raises(DataError, match=re.escape(f"{path}, line 2: {message}")):
        read_examples(path)
    with pytest.raises(DataError, match=re.escape(f"{path}, line 2: ")):
        make(path=str(write(tmp_path, "good.tsv", ["4\t[MIN 4 7 ]"])), test_path=str(path))


def test_empty_blank_missing_and_non_utf8_files(tmp_path):
    empty = tmp_path / "empty.tsv"
    empty.write_text("")
    with pytest.raises(DataError, match=re.escape(f"{empty}: is empty")):
        read_examples(empty)
    blank = write(tmp_path, "blank.tsv", ["", "  ", "3\t3"])
    with pytest.raises(DataError, match=re.escape(f"{blank}: holds no ListOps example (only blank lines or lone "
                                                  f"digits); expected label<TAB>expression lines")):
        read_examples(blank)
    with pytest.raises(DataError, match=re.escape(f"{tmp_path / 'missing.tsv'}: no such file")):
        make(test_path=str(tmp_path / "missing.tsv"))
    latin = tmp_path / "latin.tsv"
    latin.write_bytes(b"9\t[MAX 2 9 ]\n\xe9\t[MIN 1 2 ]\n")
    with pytest.raises(DataError, match=re.escape(f"{latin}, line 2, byte 13: is not UTF-8: byte 0xe9")):
        read_examples(latin)


def test_files_as_training_and_held_out_sets(tmp_path):
    train = write(tmp_path, "train.tsv", ["9\t[MAX 2 9 ]", "4\t[MIN 4 7 ]", "1\t[MIN [MAX [MED 1 2 ] 0 ] 3 ]",
                                          "4\t[SM 7 8 9 ]"])
    test = write(tmp_path, "test.tsv", ["9\t[MAX 2 9 [MIN 4 7 ] 0 ]", "4\t[SM 7 8 9 ]", "2\t[MED 1 2 3 4 ]"])
    with pytest.warns(UserWarning, match=re.escape(f"listops task: 1 training example(s) of {train} are also in "
                                                   f"{test}; they are left out of training")):
        task = make(path=str(train), test_path=str(test), max_depth=2)
    assert task.overlap_removed == 1
    assert [" ".join(e.tokens) for e in task.training_examples] == ["[MAX 2 9 ]", "[MIN 4 7 ]"]  # depth 3 out
    drawn = task.sample(200, torch.Generator().manual_seed(0))
    assert set(drawn.targets.tolist()) == {9, 4} and drawn.inputs.shape == (4, 200)
    for seed in (0, 5):
        (held,) = task.eval_set(10, seed)
        assert held.targets.tolist() == [9, 4, 2]
    assert task.eval_set(2, 0)[0].targets.tolist() == [9, 4]
    with pytest.raises(ValueError, match=re.escape(f"listops task: no example of {test} is of depth 3 to 19")):
        make(path=str(train), test_path=str(test), test_min_depth=3)


def test_a_held_out_file_is_kept_out_of_generated_training(tmp_path):
    """Every flat MAX of two digits held out: independent draws would give one such list in 28 draws."""
    lines = [f"{max(a, b)}\t[MAX {a} {b} ]" for a in range(10) for b in range(10)]
    task = make(test_path=str(write(tmp_path, "max2.tsv", lines)), distinct_expressions=None)
    assert not task.split_by_text and len(task.held_out_examples) == 100
    texts = {" ".join(example.tokens) for example in task.examples(3000, torch.Generator().manual_seed(6))}
    assert not any(re.fullmatch(r"\[MAX \d \d \]", text) for text in texts)
    assert any(re.fullmatch(r"\[MAX \d \d \d \]", text) for text in texts)


# ---- settings ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("config, message", [
    ({"form": "binary"}, "form must be \"left\" (the published parse) or \"nary\" (one node per list); got 'binary'"),
    ({"nesting_probability": 1.0}, "nesting_probability must be a number in [0, 1) (make_data.py's VALUE_P); got 1.0"),
    ({"nesting_probability": "0.2"}, "nesting_probability must be a number in [0, 1)"),
    ({"max_arguments": 1}, "max_arguments must be an int >= 2 (a list has 2 to max_arguments arguments); got 1"),
    ({"max_depth": 0}, "max_depth must be an int >= 1; got 0"),
    ({"max_length": 3}, "max_length must be an int >= 4 (the shortest expression, [MAX 2 9 ]); got 3"),
    ({"test_max_length": 2.5}, "test_max_length must be an int >= 4"),
    ({"distinct_expressions": 0}, "distinct_expressions must be an int >= 1; got 0"),
    ({"test_min_depth": 20}, "test_min_depth 20 is above max_depth (test_max_depth is none) 19"),
    ({"test_min_depth": 5, "test_max_depth": 4}, "test_min_depth 5 is above test_max_depth 4"),
    ({"test_max_length": 10, "test_min_depth": 4}, "test_max_length 10 is too short for depth test_min_depth = 4 "
                                                   "(at least 3·depth + 1 = 13 tokens)"),
    ({"nesting_probability": 0.5}, "with nesting_probability 0.5 and max_arguments 5 a list holds 1.75 nested "
                                   "lists on average and expressions grow without bound"),
    ({"path": "train.tsv"}, "path 'train.tsv' needs a test_path too"),
    ({"path": 3}, "path must be a file path (or \"\" to generate); got 3"),
])
def test_bad_settings_name_the_field_and_the_value(config, message):
    with pytest.raises(ValueError, match=re.escape(f"listops task: {message}")):
        make(**config)


# ---- learning ------------------------------------------------------------------------------------------------

def test_an_lstm_learns_flat_lists_from_the_tokens():
    """Flat lists of 2 or 3 digits, the held-out expressions never seen in training: an LSTM on the tokens passes
    60% within 600 batches (at step 100 here, 3 s); knowing the operator alone gives 18%."""
    torch.manual_seed(0)
    task = make(max_depth=1, max_arguments=3, distinct_expressions=None)
    model = SequenceClassifier("lstm", None, 64, 10, input_vocab=task.input_vocab)
    got = train_until(task, model, lr=0.01, steps=600, check_every=50, held_out=500,
                      reached=lambda got: got["accuracy"] >= 0.6)
    assert got["accuracy"] >= 0.6
