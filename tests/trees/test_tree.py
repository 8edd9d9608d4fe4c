"""Tree and parse: the bracketed notation read and written back, the tree's measures, every bad input's message."""

import pytest
import torch

from rnnlab.trees import Tree, parse, random_trees

LISTOPS = "( ( ( ( [MAX 2 ) 9 ) 1 ) ] )"  # the published files' parse of [MAX 2 9 1 ]


def leaf(token):
    return Tree(token)


def node(*children, label=None):
    return Tree(None, children, label)


def test_parse_reads_the_issue_example():
    assert parse("( ( [MAX 2 ) 9 )") == node(node(leaf("[MAX"), leaf("2")), leaf("9"))


def test_parse_reads_a_listops_line_left_branching():
    tree = parse(LISTOPS)
    assert tree.leaves() == ["[MAX", "2", "9", "1", "]"]
    assert (tree.height(), tree.size()) == (4, 9)
    spine = tree
    for expected_right in ["]", "1", "9", "2"]:  # every inner node: (the rest, next token)
        assert spine.children[1] == leaf(expected_right)
        spine = spine.children[0]
    assert spine == leaf("[MAX")


def test_whitespace_of_any_kind_separates_tokens():
    assert parse("\n(\t(  a b )\r\n c )  ") == parse("( ( a b ) c )")


def test_a_bare_token_is_a_one_leaf_tree():
    tree = parse("  7 ")
    assert tree == leaf("7") and tree.is_leaf() and tree.height() == 0 and tree.size() == 1


def test_n_ary_and_unary_nodes():
    tree = parse("( a ( b ) ( c d e ) )")
    assert [len(c.children) for c in tree.children] == [0, 1, 3]
    assert tree.height() == 2 and tree.size() == 8 and tree.leaves() == list("abcde")


@pytest.mark.parametrize("max_children", [2, 4])
def test_to_text_round_trips_random_trees(max_children):
    generator = torch.Generator().manual_seed(0)
    for tree in random_trees(50, generator, min_leaves=1, max_leaves=30, vocab_size=12, max_children=max_children):
        text = tree.to_text()
        assert parse(text) == tree.map_tokens(str)  # the parser reads str tokens
        assert parse(text).to_text() == text


def test_to_text_writes_the_notation_and_str_is_it():
    tree = node(node(leaf("[SM"), leaf(3)), leaf("]"))
    assert tree.to_text() == "( ( [SM 3 ) ] )" and str(tree) == tree.to_text()


def test_map_tokens_keeps_shape_and_labels():
    tree = Tree(None, (Tree(None, (Tree("a", label=0), Tree("b")), 1), Tree("c")), 2)
    ids = tree.map_tokens({"a": 1, "b": 2, "c": 3}.__getitem__)
    assert ids == Tree(None, (Tree(None, (Tree(1, label=0), Tree(2)), 1), Tree(3)), 2)
    assert ids.leaves() == [1, 2, 3]


def test_postorder_and_preorder():
    tree = parse("( ( a b ) ( c ) d )")
    assert [n.token for n in tree.postorder()] == ["a", "b", None, "c", None, "d", None]
    assert [n.token for n in tree.preorder()] == [None, None, "a", "b", None, "c", "d"]


def test_a_shared_subtree_counts_twice():
    shared = parse("( a b )")
    tree = node(shared, shared)
    assert tree.size() == 7 and tree.leaves() == ["a", "b", "a", "b"] and tree.height() == 2
    assert tree.map_tokens(str.upper).to_text() == "( ( A B ) ( A B ) )"


def test_deep_chains_do_not_meet_the_recursion_limit():
    depth = 5000
    text = "( " * depth + "x" + " y )" * depth
    tree = parse(text)
    assert tree.height() == depth and tree.size() == 2 * depth + 1
    assert tree.to_text() == text
    assert len(tree.map_tokens(len).leaves()) == depth + 1


def test_children_given_as_a_list_are_stored_as_a_tuple():
    tree = Tree(None, [leaf("a"), leaf("b")])
    assert tree.children == (leaf("a"), leaf("b")) and hash(tree) == hash(node(leaf("a"), leaf("b")))


@pytest.mark.parametrize("text, message", [
    ("( a b ) )", "parse: ')' at position 8 closes no '(' (unbalanced brackets)"),
    (")", "parse: ')' at position 0 closes no '('"),
    ("( ( a b )", "parse: '(' at position 0 is never closed (unbalanced brackets: 1 still open at the end)"),
    ("( a ( b", "parse: '(' at position 4 is never closed (unbalanced brackets: 2 still open"),
    ("( a ( ) )", "parse: empty brackets '( )' at position 4: an inner node needs children"),
    ("( a b ) ( c d )", "parse: a second tree starts at position 8 ('(') after the first one ended at position 6"),
    ("a b", "parse: a second tree starts at position 2 ('b') after the first one ended at position 0"),
    ("(a b )", "parse: the token '(a' at position 0 mixes a bracket with other characters"),
    ("( a b)", "parse: the token 'b)' at position 4 mixes a bracket"),
    ("", "parse: no tree in the text (it is empty or only whitespace)"),
    ("  \n ", "parse: no tree in the text"),
])
def test_parse_errors_name_the_position(text, message):
    with pytest.raises(ValueError) as error:
        parse(text)
    assert str(error.value).startswith(message)


def test_parse_wants_a_str():
    with pytest.raises(TypeError, match=r"^parse expects a str in bracketed notation; got bytes$"):
        parse(b"( a b )")


@pytest.mark.parametrize("make, kind, message", [
    (lambda: Tree(), ValueError, "Tree: a leaf needs a token; got token=None and no children"),
    (lambda: Tree("op", (Tree("a"),)), ValueError,
     "Tree: an inner node carries no token (only leaves do); got token 'op' with 1 children"),
    (lambda: Tree(None, ("a", "b")), TypeError, "Tree: children must be Trees; got str"),
    (lambda: Tree("a", label="x"), TypeError, "Tree: label must be an int class or None; got 'x'"),
    (lambda: Tree("a", label=True), TypeError, "Tree: label must be an int class or None; got True"),
])
def test_bad_trees_are_refused(make, kind, message):
    with pytest.raises(kind) as error:
        make()
    assert str(error.value) == message


@pytest.mark.parametrize("token", ["a b", "(x", "y)", ""])
def test_to_text_refuses_tokens_it_could_not_read_back(token):
    tree = node(leaf("ok"), leaf(token))
    with pytest.raises(ValueError, match=r"^Tree.to_text: the token .* cannot be written in bracketed notation"):
        tree.to_text()
