"""What the tree tasks (``listops``, ``expression_trees``) share: their batch layout, the held-out share of the
expressions, and uniform numbers drawn from a ``torch.Generator`` one decision at a time.

The batch of B expressions (``TreeTask.batch``), for the sequence models and the recursive nets alike:

    inputs     (T, B) int64   the tokens of each expression in order (the leaves of its tree, left to right),
                              as ids of ``TOKENS``; 0 (padding, never a real token) past each length
    lengths    (B,) int64     tokens of each expression; T is the longest
    targets    (B,) int64     the value of each expression, a class in 0..9
    structure  TreeBatch      ``rnnlab.trees.batch_trees`` of the expressions' trees, leaf tokens the same ids;
                              every node that has a value carries it as its label (-1 where it has none)

so that ``--model lstm`` reads the flat sequence and ``--model tree_lstm`` the tree of the same examples.

Held-out expressions.  An expression is *held out* when the CRC-32 of its text (its tokens joined by single
spaces, e.g. "[MAX 2 9 ]") is divisible by 10: one expression in ten, the share of ListOps' 10,000 test
examples in its 100,000.  Generated training batches draw only the other nine in ten, generated held-out sets
only these, so the two never share an expression, whatever the seeds, the sizes, the order in which they are
asked for or the process that asks (the rule is a function of the text alone: data parallelism and resumed
runs keep it).  Where the depths of the training and held-out settings do not overlap, the rule is not needed
and not applied.
"""

from __future__ import annotations

import zlib
from typing import Callable, ClassVar, NamedTuple, Sequence

import torch
from torch.nn.utils.rnn import pad_sequence

from ..trees import Tree, batch_trees
from .base import _EVAL_SEED_OFFSET, _SEED_MODULUS, EVAL_BATCH_SIZE, Batch, _check_int
from .classification import ClassificationTask

HELD_OUT_MODULUS = 10  # an expression is held out when crc32(text) % 10 == 0
_BLOCK = 4096  # uniform numbers fetched from the generator at a time


def expression_text(tokens: Sequence[str]) -> str:
    """The canonical text of an expression: its tokens joined by single spaces."""
    return " ".join(tokens)


def is_held_out(tokens: Sequence[str]) -> bool:
    """Whether the expression belongs to the held-out share (module docstring): crc32(text) % 10 == 0."""
    return zlib.crc32(expression_text(tokens).encode("utf-8")) % HELD_OUT_MODULUS == 0


class UniformDraws:
    """Numbers uniform in [0, 1) from a ``torch.Generator``, fetched a block at a time and handed out one by one.

    A tree is grown one decision at a time in Python; one tensor call per 4,096 numbers keeps that cheap.  The
    numbers are float64, so ``below(n)`` is uniform on 0..n-1 for every n a task uses.  What a batch leaves of
    its last block is dropped: the stream is a function of the generator's state alone.
    """

    def __init__(self, generator: torch.Generator) -> None:
        self.generator = generator
        self._numbers: list[float] = []
        self._next = 0

    def uniform(self) -> float:
        if self._next == len(self._numbers):
            self._numbers = torch.rand(_BLOCK, generator=self.generator, dtype=torch.float64).tolist()
            self._next = 0
        self._next += 1
        return self._numbers[self._next - 1]

    def below(self, n: int) -> int:
        """An int uniform on 0..n-1."""
        return min(int(self.uniform() * n), n - 1)


class Example(NamedTuple):
    """One expression of a tree task."""

    tokens: tuple[str, ...]  # the expression's tokens in order (the leaves of its tree)
    label: int  # its value, 0..9
    depth: int  # its depth, as the task counts it


class TreeTask(ClassificationTask):
    """Base of the tree tasks: N→1 classification of an expression into its value 0..9, given its tokens and,
    for the models that read it, its tree.  Subclasses set ``TOKENS`` and implement ``build_tree``."""

    TOKENS: ClassVar[tuple[str, ...]]  # the token of each id; id 0 is padding
    stoi: ClassVar[dict[str, int]]  # the id of each token
    output_size = 10
    has_trees = True  # batches carry the expressions' trees (Batch.structure): the tree models can read them

    @property
    def binary_trees(self) -> bool:
        """Whether every inner node of this task's trees has two children (the binary cells need it)."""
        return True

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "TOKENS" in cls.__dict__:  # the vocabulary is fixed: input_vocab and the ids are class attributes
            cls.stoi = {token: i for i, token in enumerate(cls.TOKENS)}
            cls.input_vocab = cls.input_size = len(cls.TOKENS)

    def build_tree(self, tokens: Sequence[str], leaf: Callable[[str], int | str]) -> Tree:
        """The tree of an expression, every node that has a value labelled with it, leaf tokens ``leaf(token)``."""
        raise NotImplementedError

    def tree(self, tokens: Sequence[str] | str) -> Tree:
        """The tree of an expression (its tokens, or its text), leaf tokens as strings, values as labels."""
        return self.build_tree(tokens.split() if isinstance(tokens, str) else tokens, str)

    def batch(self, examples: Sequence[Example]) -> Batch:
        """The batch of the given examples (module docstring: the layout)."""
        if not examples:
            raise ValueError(f"{self.name} task: a batch needs at least one example")
        ids = [torch.tensor([self.stoi[t] for t in example.tokens]) for example in examples]
        lengths = torch.tensor([len(x) for x in ids])  # (B,)
        inputs = pad_sequence(ids, padding_value=0)  # (T, B)
        targets = torch.tensor([example.label for example in examples])  # (B,)
        trees = [self.build_tree(example.tokens, self.stoi.__getitem__) for example in examples]
        return Batch(inputs=inputs, targets=targets, lengths=lengths, structure=batch_trees(trees))

    def examples(self, count: int, generator: torch.Generator, *, held_out: bool = False) -> list[Example]:
        """``count`` examples drawn from ``generator``: training ones, or held-out ones with ``held_out``."""
        raise NotImplementedError

    def held_out(self, size: int, seed: int) -> list[Example]:
        """The examples of ``eval_set(size, seed)``, in the same order (e.g. to score them by depth)."""
        return self.examples(size, self.eval_generator(size, seed), held_out=True)

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        self.check_sample_args(batch_size, generator)
        return self.batch(self.examples(batch_size, generator))

    def eval_set(self, size: int, seed: int) -> list[Batch]:
        """The held-out set (``held_out``) in batches of at most 500."""
        examples = self.held_out(size, seed)
        return [self.batch(examples[i:i + EVAL_BATCH_SIZE]) for i in range(0, len(examples), EVAL_BATCH_SIZE)]

    @staticmethod
    def eval_generator(size: int, seed: int) -> torch.Generator:
        """The generator of a held-out set: seeded from ``seed`` alone, offset as ``Task.eval_set`` does, so that
        a training generator seeded with the same number does not replay it."""
        _check_int("size", size, minimum=1)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int; got {seed!r}")
        return torch.Generator().manual_seed((seed + _EVAL_SEED_OFFSET) % _SEED_MODULUS)
