"""Trees of tokens and their bracketed notation.

A ``Tree`` is a value: a leaf carries a token, an inner node its children, left to
right.  ``parse`` reads the bracketed notation of the parse trees of ListOps
(Nangia & Bowman 2018) and of the Penn-style binarised treebanks without labels,
and ``Tree.to_text`` writes it back:

    "( ( [MAX 2 ) 9 )"   ->   Tree(children=(Tree(children=(Tree("[MAX"), Tree("2"))), Tree("9")))

            •
           / \\
          •   9          the inner node ( [MAX 2 ) is the left child of the root,
         / \\             and the leaf 9 its right child
      [MAX  2

Tokens are separated by whitespace; "(" opens an inner node, ")" closes it, any
other token is a leaf.  Inner nodes carry no token (``token=None``), as in the
constituency trees of Tai et al. (2015), where only the leaves hold words.  Every
node may carry a class ``label`` (e.g. the value of a subexpression); the
notation does not write labels, so ``parse(tree.to_text())`` gives them back as
None.

The methods walk the tree without recursion, so that deep chains (an expression of
10,000 nested operations) do not meet Python's recursion limit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

_OPEN, _CLOSE = "(", ")"


@dataclass(frozen=True)
class Tree:
    """A tree of tokens: a leaf carries a token, an inner node its children (left to right).

    token: a leaf's token: str from the parser, int id after ``map_tokens``; None at inner nodes.
    children: () at a leaf; the subtrees of an inner node, left to right (a list is stored as a tuple).
    label: an optional per-node class (e.g. the value of a subexpression), None when absent.
    """

    token: int | str | None = None
    children: tuple[Tree, ...] = field(default=())
    label: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.children, tuple):
            object.__setattr__(self, "children", tuple(self.children))
        for child in self.children:
            if not isinstance(child, Tree):
                raise TypeError(f"Tree: children must be Trees; got {type(child).__name__}")
        if self.children and self.token is not None:
            raise ValueError(f"Tree: an inner node carries no token (only leaves do); got token {self.token!r} "
                             f"with {len(self.children)} children")
        if not self.children and self.token is None:
            raise ValueError("Tree: a leaf needs a token; got token=None and no children")
        if self.label is not None and (isinstance(self.label, bool) or not isinstance(self.label, int)):
            raise TypeError(f"Tree: label must be an int class or None; got {self.label!r}")

    def is_leaf(self) -> bool:
        return not self.children

    def leaves(self) -> list:
        """The tokens of the leaves, left to right (the flat sequence a sequence model reads)."""
        return [node.token for node in self.preorder() if not node.children]

    def height(self) -> int:
        """A leaf 0, an inner node 1 + the highest child (the level at which ``batch_trees`` schedules it)."""
        heights: dict[int, int] = {}
        for node in self.postorder():
            heights[id(node)] = 1 + max(heights[id(c)] for c in node.children) if node.children else 0
        return heights[id(self)]

    def size(self) -> int:
        """Number of nodes, leaves and inner nodes."""
        return sum(1 for _ in self.preorder())

    def map_tokens(self, fn: Callable) -> Tree:
        """The same shape and labels, every leaf token t replaced by fn(t) (e.g. a vocabulary's id)."""
        done: dict[int, Tree] = {}
        for node in self.postorder():
            if node.children:
                new = Tree(None, tuple(done[id(c)] for c in node.children), node.label)
            else:
                new = Tree(fn(node.token), (), node.label)
            done[id(node)] = new
        return done[id(self)]

    def to_text(self) -> str:
        """The bracketed notation ``parse`` reads: "( ( [MAX 2 ) 9 )" (labels are not written)."""
        parts: list[str] = []
        stack: list[Tree | str] = [self]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                parts.append(item)
            elif item.children:
                parts.append(_OPEN)
                stack.append(_CLOSE)
                stack.extend(reversed(item.children))
            else:
                parts.append(_token_text(item.token))
        return " ".join(parts)

    def preorder(self) -> Iterator[Tree]:
        """Every node, parents before children, children left to right."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    def postorder(self) -> Iterator[Tree]:
        """Every node, children (left to right) before their parent: the order of a node-by-node evaluation."""
        stack: list[tuple[Tree, bool]] = [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded or not node.children:
                yield node
            else:
                stack.append((node, True))
                stack.extend((child, False) for child in reversed(node.children))

    def __str__(self) -> str:
        return self.to_text()


def _token_text(token) -> str:
    """A leaf token as the notation writes it; ValueError where it could not be read back."""
    text = str(token)
    if not text or any(ch.isspace() for ch in text) or _OPEN in text or _CLOSE in text:
        raise ValueError(f"Tree.to_text: the token {token!r} cannot be written in bracketed notation "
                         "(a token must be non-empty, without whitespace or brackets)")
    return text


def parse(text: str) -> Tree:
    """The tree written in bracketed notation: ``parse("( ( [MAX 2 ) 9 )")``.

    Whitespace-separated tokens; "(" opens an inner node, ")" closes it, any other token
    is a leaf (a str).  One tree per text; a bare token is a one-leaf tree.  Raises a
    ValueError naming the character position of the first problem: a ")" without its
    "(", a "(" never closed, empty brackets "( )", a second tree after the first, a token
    glued to a bracket ("(5"), or no token at all.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse expects a str in bracketed notation; got {type(text).__name__}")
    stack: list[tuple[int, list[Tree]]] = []  # the open nodes: (position of their "(", children so far)
    root: Tree | None = None
    root_end = 0
    for position, token in _tokens(text):
        if token == _CLOSE and not stack:
            raise ValueError(f"parse: ')' at position {position} closes no '(' (unbalanced brackets)")
        if root is not None:
            raise ValueError(f"parse: a second tree starts at position {position} ({token!r}) after the first "
                             f"one ended at position {root_end} (one tree per text)")
        if token == _OPEN:
            stack.append((position, []))
            continue
        if token == _CLOSE:
            opened, children = stack.pop()
            if not children:
                raise ValueError(f"parse: empty brackets '( )' at position {opened}: an inner node needs children")
            node = Tree(None, tuple(children))
        else:
            if _OPEN in token or _CLOSE in token:
                raise ValueError(f"parse: the token {token!r} at position {position} mixes a bracket with other "
                                 "characters; brackets stand alone, separated by spaces")
            node = Tree(token)
        if stack:
            stack[-1][1].append(node)
        else:
            root, root_end = node, position
    if stack:
        raise ValueError(f"parse: '(' at position {stack[-1][0]} is never closed (unbalanced brackets: "
                         f"{len(stack)} still open at the end)")
    if root is None:
        raise ValueError("parse: no tree in the text (it is empty or only whitespace)")
    return root


def _tokens(text: str) -> Iterator[tuple[int, str]]:
    """(character position, token) of every whitespace-separated token."""
    position, end = 0, len(text)
    while position < end:
        while position < end and text[position].isspace():
            position += 1
        start = position
        while position < end and not text[position].isspace():
            position += 1
        if position > start:
            yield start, text[start:position]
