"""Arithmetic expression trees: the value mod 10 of a binary expression of +, − and × over digits, by depth.

A task for depth generalisation of recursive nets against sequence models: train on expressions
of depths ``min_depth``..``max_depth``, test on ``test_min_depth``..``test_max_depth`` (deeper, for
generalisation; by default the training depths).  No single paper fixes it: it is ListOps (Nangia
& Bowman 2018, ``tasks.listops``) made binary, with operators whose value depends on both operands
and, for −, on their order, so that no operand can be skipped.

* An expression is a digit 0–9 or an operator applied to two expressions; the operators are + (sum),
  - (difference) and * (product), every value taken mod 10 (Python's %, so 3 − 5 = 8): the class to
  predict, 10 classes.
* Its depth is the number of operators on its longest path from the root to a digit: ``+ 3 4`` has
  depth 1, ``* + 3 4 - 9 2`` depth 2.
* It is written in prefix (Polish) notation, ``* + 3 4 - 9 2`` for (3 + 4) × (9 − 2): unambiguous
  without brackets, so the sequence models read the very leaves of the tree, nothing more.
* Its tree is binary, the operator joined to its left operand first, then the right one:
  ``( ( * ( ( + 3 ) 4 ) ) ( ( - 9 ) 2 ) )``, the convention of ListOps' parse (the operator first,
  each argument joined on in turn); every inner node has two children, so every tree cell reads it.
  The node that completes an operation is labelled with its value, a digit's leaf with the digit
  (``Tree.label``); the half-way nodes ( ( op left ) ) and the operators' leaves are unlabelled.

The generator, every number from the batch's generator: the depth d is uniform on the side's
range; an expression of depth d > 0 draws its operator (one of 3, uniform), which operand carries
the depth (left or right, 1/2 each; that one has depth d − 1) and the other operand's depth
(uniform on 0..d − 1), then both operands the same way; depth 0 is a digit, uniform.  Sizes grow
slowly with depth: 3 tokens at depth 1, 16 on average at depth 4, 128 at 10, 1,400 at 20
(``max_depth`` is at most 30, about 9,000).  Where the training and held-out depths overlap, the
held-out expressions are one in ten of all expressions, chosen by the CRC-32 of their text, and
training never draws them (``tasks.tree_tasks``): the two sets never share an expression.  Depth 1
has 300 expressions only: 29 of them are held out, and a model must get them right without having
seen them.

Tokens and ids (``input_vocab`` = 14): 0 padding, 1–10 the digits 0–9 (id = digit + 1), 11 ``+``,
12 ``-``, 13 ``*``.  Batch layout in ``tasks.tree_tasks``; metrics ``loss`` (cross-entropy) and
``accuracy`` (the main metric).  The values are not uniform (a product is 0 in 27 cases of 100): the
most frequent class is the accuracy to beat.

Worked example, the expression ``* + 3 4 - 9 2`` (depth 2):

    tokens   *    +    3    4    -    9    2
    ids      13   11   4    5    12   10   3
    label    9    ((3 + 4) × (9 − 2) = 49, mod 10)
    tree     ( ( * ( ( + 3 ) 4 ) ) ( ( - 9 ) 2 ) )

with each node's label where it has one:

                          •  9
                       /     \\
                     •         •  7
                    / \\       / \\
                   *   •  7  •   2
                      / \\   / \\
                     •   4 -   9
                    / \\
                   +   3

Where this departs from common practice, and why: the depth is drawn uniformly and the shape at
random, not from a grammar's probabilities, so that every depth of a range is equally represented
and a model's accuracy can be read depth by depth (``held_out`` gives each held-out example's depth).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch

from ..trees import Tree
from .base import Batch, check_config_int
from .registry import register
from .tree_tasks import Example, TreeTask, UniformDraws, is_held_out

OPERATORS = ("+", "-", "*")
DIGITS = tuple("0123456789")
TOKENS = ("<pad>", *DIGITS, *OPERATORS)  # the token of each id
DEEPEST = 30  # the largest depth a setting may ask for (about 9,000 tokens on average)
_MAX_REJECTIONS = 1_000_000  # draws in a row on the wrong side of the held-out rule before giving up


def apply(operator: str, left: int, right: int) -> int:
    """The value of ``left operator right`` mod 10 (Python's %: never negative)."""
    if operator == "+":
        return (left + right) % 10
    if operator == "-":
        return (left - right) % 10
    if operator == "*":
        return (left * right) % 10
    raise ValueError(f"unknown operator {operator!r}; the expressions have {' '.join(OPERATORS)}")


def _fold(tokens: Sequence[str], digit: Callable, operation: Callable):
    """Read a prefix expression from its last token to its first: ``digit(token)`` for a digit,
    ``operation(operator, left, right)`` for an operator; the root's result.  ValueError naming the problem."""
    stack = []
    for position in range(len(tokens) - 1, -1, -1):
        token = tokens[position]
        if token in DIGITS:
            stack.append(digit(token))
        elif token in OPERATORS:
            if len(stack) < 2:
                raise ValueError(f"token {position + 1} ({token!r}) has fewer than two operands after it")
            left = stack.pop()
            stack.append(operation(token, left, stack.pop()))
        else:
            raise ValueError(f"token {position + 1} ({token!r}) is not a token of the expressions (digits 0-9, "
                             f"{' '.join(OPERATORS)})")
    if len(stack) != 1:
        raise ValueError("an empty expression" if not stack else
                         f"{len(stack)} expressions side by side, not one (an operator is missing)")
    return stack[0]


def evaluate(tokens: Sequence[str] | str) -> tuple[int, int]:
    """(value mod 10, depth) of a prefix expression, its tokens or its text (``"* + 3 4 - 9 2"``)."""
    tokens = tokens.split() if isinstance(tokens, str) else list(tokens)
    return _fold(tokens, lambda token: (int(token), 0),
                 lambda op, left, right: (apply(op, left[0], right[0]), 1 + max(left[1], right[1])))


def expression_tree(tokens: Sequence[str] | str, *, leaf: Callable = str) -> Tree:
    """The binary tree of a prefix expression, ( ( op left ) right ), leaf tokens ``leaf(token)``; a completed
    operation is labelled with its value, a digit's leaf with the digit."""
    tokens = tokens.split() if isinstance(tokens, str) else list(tokens)

    def operation(op: str, left: tuple[Tree, int], right: tuple[Tree, int]) -> tuple[Tree, int]:
        value = apply(op, left[1], right[1])
        return Tree(None, (Tree(None, (Tree(leaf(op)), left[0])), right[0]), value), value

    return _fold(tokens, lambda token: (Tree(leaf(token), label=int(token)), int(token)), operation)[0]


def grow(draws: UniformDraws, depth: int) -> list[str]:
    """The tokens of a random expression of exactly ``depth`` (module docstring: how it is drawn)."""
    tokens: list[str] = []
    pending = [depth]  # depths of the expressions still to write, the next one last
    while pending:
        d = pending.pop()
        if d == 0:
            tokens.append(DIGITS[draws.below(10)])
            continue
        tokens.append(OPERATORS[draws.below(len(OPERATORS))])
        deep_left = draws.below(2) == 0
        other = draws.below(d)  # 0..d-1
        left, right = (d - 1, other) if deep_left else (other, d - 1)
        pending += [right, left]  # the left operand is written first
    return tokens


@register
class ExpressionTreesTask(TreeTask):
    """Arithmetic expression trees: the value mod 10 of a binary expression of +, - and * over digits, by depth.

    Inputs (T, B) token ids (the expression in prefix notation, the leaves of its tree), structure its binary
    trees, targets (B,) values; training and held-out depths set apart for depth generalisation.
    """

    @dataclass
    class Config:
        """Settings of the expression trees; ours (no paper fixes them)."""

        min_depth: int = 1  # training expressions have depths min_depth..max_depth, each equally often
        max_depth: int = 4
        test_min_depth: int | None = None  # held-out expressions: test_min_depth..test_max_depth; none = min_depth
        test_max_depth: int | None = None  # none = max_depth

    name = "expression_trees"
    TOKENS = TOKENS
    recommended = {"*": {"train.batch_size": 64, "train.steps": 4_000, "train.eval_size": 2_000}}  # as listops

    def __init__(self, config: Config | None = None) -> None:
        super().__init__(config)
        c = self.config
        self.training_depths = (c.min_depth, c.max_depth)
        self.test_depths = (c.min_depth if c.test_min_depth is None else c.test_min_depth,
                            c.max_depth if c.test_max_depth is None else c.test_max_depth)
        # overlapping depths: the CRC-32 rule keeps the two sides apart
        self.split_by_text = self.test_depths[0] <= c.max_depth and c.min_depth <= self.test_depths[1]

    def validate(self, config: Config) -> None:
        for low, high in (("min_depth", "max_depth"), ("test_min_depth", "test_max_depth")):
            values = [getattr(config, low), getattr(config, high)]
            for field, value in zip((low, high), values):
                if value is not None:
                    check_config_int(self.name, field, value, minimum=1, why="an expression of depth 0 is a digit")
                    if value > DEEPEST:
                        raise ValueError(f"{self.name} task: {field} must be at most {DEEPEST} (expressions of "
                                         f"depth {DEEPEST} hold about 9,000 tokens); got {value!r}")
        test_low = config.min_depth if config.test_min_depth is None else config.test_min_depth
        test_high = config.max_depth if config.test_max_depth is None else config.test_max_depth
        if config.min_depth > config.max_depth:
            raise ValueError(f"{self.name} task: min_depth {config.min_depth} is above max_depth {config.max_depth}")
        if test_low > test_high:
            raise ValueError(f"{self.name} task: the held-out depths run from {test_low} to {test_high} "
                             f"(test_min_depth, test_max_depth; none = the training depth): none is left")

    def build_tree(self, tokens: Sequence[str], leaf: Callable) -> Tree:
        return expression_tree(tokens, leaf=leaf)

    def examples(self, count: int, generator: torch.Generator, *, held_out: bool = False) -> list[Example]:
        """``count`` examples drawn as a training batch (or, ``held_out``, the held-out set) draws them, every
        random number from ``generator``."""
        low, high = self.test_depths if held_out else self.training_depths
        draws = UniformDraws(generator)
        kept: list[Example] = []
        rejected = 0
        while len(kept) < count:
            depth = low + draws.below(high - low + 1)
            tokens = grow(draws, depth)
            if self.split_by_text and is_held_out(tokens) != held_out:
                rejected += 1
                if rejected > _MAX_REJECTIONS:  # not met with depths >= 1: every depth has held-out expressions
                    raise RuntimeError(f"{self.name} task: {_MAX_REJECTIONS:,} draws in a row were on the wrong "
                                       f"side of the held-out rule")
                continue
            rejected = 0
            kept.append(Example(tuple(tokens), evaluate(tokens)[0], depth))
        return kept


    def make_batch(self, expressions: Sequence[str]) -> Batch:
        """The batch of the given prefix expressions (``"* + 3 4 - 9 2"``); their values are the targets.
        ValueError naming the expression that is not well formed."""
        examples = []
        for text in expressions:
            try:
                value, depth = evaluate(text)
            except ValueError as error:
                raise ValueError(f"{self.name} task: {text!r}: {error}") from None
            examples.append(Example(tuple(text.split()), value, depth))
        return self.batch(examples)
