"""Random trees (trees/generate.py): sizes, height bounds, arities, tokens, seeds, and the bad settings."""

import pytest
import torch

from rnnlab.trees import random_tree, random_trees


@pytest.mark.parametrize("max_children", [2, 3, 5])
@pytest.mark.parametrize("max_height", [None, 4, 7])
def test_leaves_height_arity_and_tokens(max_children, max_height):
    generator = torch.Generator().manual_seed(1)
    for leaves in (1, 2, 9, 16):
        tree = random_tree(generator, leaves=leaves, vocab_size=7, max_children=max_children, max_height=max_height)
        assert len(tree.leaves()) == leaves
        assert max_height is None or tree.height() <= max_height
        arities = {len(n.children) for n in tree.preorder() if n.children}
        assert arities <= set(range(2, max_children + 1))
        assert all(isinstance(t, int) and 1 <= t < 7 for t in tree.leaves())
        if max_children == 2:
            assert tree.size() == 2 * leaves - 1


def test_listops_sized_trees():
    trees = random_trees(64, torch.Generator().manual_seed(0), min_leaves=25, max_leaves=50, vocab_size=20,
                         max_height=10)
    assert all(49 <= t.size() <= 99 and 5 <= t.height() <= 10 for t in trees)
    assert max(t.height() for t in trees) == 10


def test_the_seed_decides():
    def draw(seed):
        return random_trees(5, torch.Generator().manual_seed(seed), min_leaves=1, max_leaves=20, vocab_size=9,
                            max_children=3)
    assert draw(3) == draw(3) and draw(3) != draw(4)


def test_a_full_height_bound_gives_the_complete_tree():
    tree = random_tree(torch.Generator().manual_seed(0), leaves=8, vocab_size=3, max_height=3)
    assert tree.height() == 3 and all(len(n.children) == 2 for n in tree.preorder() if n.children)
    assert {len(list(n.leaves())) for n in (tree.children[0], tree.children[1])} == {4}


@pytest.mark.parametrize("options, message", [
    (dict(leaves=9, vocab_size=5, max_height=3), "random_tree: 9 leaves do not fit under height 3 with at most 2 "
                                                 "children a node (at most 8)"),
    (dict(leaves=0, vocab_size=5), "random_tree: a tree needs at least one leaf; got leaves=0"),
    (dict(leaves=3, vocab_size=1), "random_tree: vocab_size must be >= 2 (id 0 is padding); got 1"),
    (dict(leaves=3, vocab_size=5, max_children=1), "random_tree: max_children must be >= 2; got 1"),
])
def test_bad_settings(options, message):
    with pytest.raises(ValueError) as error:
        random_tree(torch.Generator(), **options)
    assert str(error.value) == message


def test_random_trees_lowers_max_leaves_to_the_height_bound():
    trees = random_trees(20, torch.Generator().manual_seed(0), min_leaves=3, max_leaves=100, vocab_size=4,
                         max_height=3)
    assert max(len(t.leaves()) for t in trees) <= 8
    with pytest.raises(ValueError, match=r"^random_trees: no number of leaves in \[9, 8\] fits"):
        random_trees(2, torch.Generator(), min_leaves=9, max_leaves=20, vocab_size=4, max_height=3)
