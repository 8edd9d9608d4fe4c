"""Recursive (tree-structured) networks: trees, their bracketed notation, level batching, tree cells.

    tree.py                  Tree (a value: leaves carry tokens, inner nodes children) and parse / to_text
    batching.py              batch_trees -> TreeBatch: B trees scheduled by level; evaluate_levels runs a cell on it
    base.py                  TreeCell (leaf / combine / node entries), TreeLSTMState
    tree_rnn.py              Socher et al. (2011) Tree-RNN
    tree_lstm.py             Tai et al. (2015) binary N-ary Tree-LSTM
    child_sum_tree_lstm.py   Tai et al. (2015) Child-Sum Tree-LSTM
    cells.py                 the cells by name: available(), create(name, ...)
    reference.py             evaluate_nodes: one node at a time, the reference of level batching
    generate.py              random trees of a given size, height and arity
    throughput.py            level batching against the node-by-node loop, in sequences per second

>>> from rnnlab.trees import parse, batch_trees
>>> tree = parse("( ( [MAX 2 ) 9 )").map_tokens(vocabulary.index)
>>> batch = batch_trees([tree, ...])
"""

from .base import TreeCell, TreeLSTMState
from .batching import Level, TreeBatch, batch_trees, evaluate_levels
from .cells import available, create
from .child_sum_tree_lstm import ChildSumTreeLSTMCell
from .generate import random_tree, random_trees
from .reference import evaluate_nodes
from .tree import Tree, parse
from .tree_lstm import TreeLSTMCell
from .tree_rnn import TreeRNNCell

__all__ = ["Tree", "parse", "TreeBatch", "Level", "batch_trees", "evaluate_levels", "evaluate_nodes", "TreeCell",
           "TreeLSTMState", "TreeRNNCell", "TreeLSTMCell", "ChildSumTreeLSTMCell", "available", "create",
           "random_tree", "random_trees"]
