"""The Reber grammar: read a string one symbol at a time and predict, at every step, which symbols may come next.

Hochreiter & Schmidhuber (1997), "Long short-term memory", Neural Computation 9(8),
section 5.1, Experiment 1 ("embedded Reber grammar", Table 1), the benchmark of Smith &
Zipser (1989), Cleeremans et al. (1989) and Fahlman (1991):

* seven symbols B, T, P, S, X, V, E, represented locally: 7 one-hot inputs, 7 outputs;
* a Reber string walks the graph of the paper's Figure 3 from its first node to its last,
  appending the symbol of every edge it follows; where a node has two edges, each is taken
  with probability 0.5:

      R0 -B-> R1    R1 -T-> R2 | -P-> R3    R2 -S-> R2 | -X-> R4    R3 -T-> R3 | -V-> R5
      R4 -X-> R3 | -S-> R6    R5 -P-> R4 | -V-> R6    R6 -E-> end

  (BTXSE, BPVVE, BTSSXXTVVE, ...: 5 symbols at least, 8 on average);
* an embedded Reber string (Figure 4, ``embedded = True``: the paper's task) is B, then T or P,
  then a Reber string, then the same T or P again, then E (BTBPVVETE, BPBTXSEPE, ...: 9 symbols
  at least, the paper's "time lags of as few as 9 steps", 12 on average).  To predict the
  symbol before last, the net must remember the second symbol across the whole inner string;
* the net "permanently predicts the next symbol (error signals occur at every time step)": the
  target of step t is the set of symbols that may follow the first t + 1 symbols, multi-hot over
  the 7 outputs (the grammar's successors of the node reached; the final E has none and is not
  scored);
* the paper's criterion: a string is predicted correctly when at every step "the output unit(s)
  corresponding to the possible next symbol(s) is(are) always the most active ones"; a trial is
  successful when every string of the training set (256 strings) and of a separate test set
  (256) is.  Table 1: LSTM (3 blocks of 2 cells, learning rate 0.5) succeeds in 100% of its 30
  trials after 8,440 training strings on average (0.1: 21,730; 4 blocks of 1 cell at 0.1:
  39,740); RTRL in "some fraction" after 25,000–173,000, Elman nets never, RCC in 50%.  The
  paper's net: 3 blocks of 2 cells (or 4 of 1), the output gates' biases starting at −1, −2, −3,
  other weights in [−0.2, 0.2], learning rates 0.1 to 0.5, activations reset after each string.

Continual version (``continual = True``): Gers, Schmidhuber & Cummins (2000), "Learning to
forget: continual prediction with LSTM", Neural Computation 12(10), section 4, concatenate
embedded Reber strings into one stream that the net reads without ever being reset (...TE BT...TE
BP...PE...): it must find the strings' ends itself, and the 1997 LSTM, whose cell states only
grow, fails.  After a string's last E the next symbol is the next string's B, so every step of a
stream is scored.  Gers et al. feed a test stream until the net's first wrong prediction and
score the net by how far it got, averaged over 10 test streams; a "perfect" solution predicts
10^6 successive symbols (about 10^5 strings) without an error, and an average above 1,000
strings counts as a good one.  (These figures are from secondary accounts of their section 4 and
Table 2; the paper's own text was not at hand.)  Here a stream is a sequence of
``strings_per_stream`` whole strings, and a string of a stream is predicted correctly when every
prediction made while reading it, from its B to its final E (which predicts the next B), is right.

Batches.  Inputs (T, B, 7) float32, the one-hot symbols, zero past each length; targets
(T, B, 8) float32: columns 0..6 the multi-hot set of possible next symbols (order B, T, P, S, X,
V, E), column 7 the *scored* flag (1.0 at the steps that have a next symbol; 0.0 at a string's
final E and past each length, as in ``tasks.bits``); ``Batch.lengths`` (B,) the true lengths.
A sequence is one string, or with ``continual`` one stream.  The model's outputs (T, B, 7) are
the logits of the 7 logistic output units.  ``make_batch(["BTBPVVETE", ...])`` is the batch of
given strings.

Worked example (embedded, one string of 9 symbols):

    t        0    1    2    3    4    5    6    7    8
    input    B    T    B    P    V    V    E    T    E
    next     TP   B    TP   TV   PV   E    T    E    -        ("-": the last E is not scored)

The step t = 6 reads the inner string's E and must answer T, the second symbol: the only
step that needs memory.  Say the output units at t = 0 read σ = (B .10, T .60, P .40, S .20,
X .10, V .10, E .10): T and P are the two most active, right by the paper's words
(``ranking_accuracy``); but P is below 0.5, wrong by ``accuracy``.  With T .60 and P .15
instead, S (.20) beats P: wrong by both.

Metrics (the main metric is ``accuracy``, goal "max"):

    accuracy             the fraction of strings predicted correctly: at every scored step every
                         possible next symbol's output above 0.5 and every other output below 0.5
                         (the criterion as issue 13 states it, rnnlab's contract)
    ranking_accuracy     the same by the paper's words: every scored step's possible next symbols
                         are its most active outputs (each of their logits above every other);
                         a weaker test, since 0.5 separates the two sets whenever accuracy holds
    symbol_accuracy      the fraction of scored steps right (by the 0.5 reading)
    memory_accuracy      (embedded) the fraction of strings whose step after the inner E (the
                         T or P that repeats the second symbol) is right
    stream_accuracy      (continual) the fraction of streams with no wrong prediction
    strings_before_error (continual) the strings of a stream predicted correctly, from its
                         first, before the first wrong one (Gers et al.'s measure, over a stream
                         of ``strings_per_stream`` strings at most)
    loss                 the training loss: the binary cross-entropy of each output's logit
                         against its target bit, summed over the 7 outputs and averaged over the
                         scored steps

Where this departs from the paper, and why:

* ``accuracy`` reads the criterion with 0.5 as the line (every possible next symbol's unit above
  it, every other below), as issue 13 states the contract; the paper's words, "the most active
  ones", are ``ranking_accuracy``, which every string right by ``accuracy`` also passes;

* the output units are the model's linear readout followed by the logistic, and the loss is their
  cross-entropy against the multi-hot targets, not the squared error of logistic outputs that the
  paper minimises: the same optimum (σ = 1 for the possible next symbols, 0 for the others) with
  a gradient that does not vanish when a unit saturates at the wrong end;
* the paper does not say whether its targets were the possible next symbols or the one that
  came; its criterion judges the possible ones, and they are the targets here, so that a perfect
  predictor exists (where two symbols may come, which one does is a coin flip);
* the trainer draws fresh strings for every batch instead of picking them from a fixed training
  set of 256; the held-out set (``train.eval_size``, recommended 256) is the paper's test set, but
  it is not kept apart from the training strings (the shortest strings recur in both: BTBTXSETE
  has probability 1/16), and the criterion is judged on it alone, not on the training set too;
* ``continual`` streams hold ``strings_per_stream`` strings, not Gers et al.'s streams that run
  until the first error (up to 10^6 symbols), so that a stream fits in a batch and is trained by
  BPTT through all of it; ``strings_before_error`` is their measure, capped by the stream's
  length.  Streams of different lengths are padded, so ``train.tbptt`` cannot cut them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .base import Batch, Task, check_config_int, check_step_outputs, lengths_mask
from .registry import register

SYMBOLS = ("B", "T", "P", "S", "X", "V", "E")  # the one-hot index of each symbol
B_, T_, P_, S_, X_, V_, E_ = range(len(SYMBOLS))  # B_ not to clash with the batch size B
FLAG = len(SYMBOLS)  # the targets' column of the scored flag

# The Reber grammar (the paper's Figure 3): node -> its two edges (symbol, next node).  A node with a single
# edge lists it twice, so that every step draws one of two edges with probability 0.5.  None: the end.
REBER = (
    (("B", 1), ("B", 1)),
    (("T", 2), ("P", 3)),
    (("S", 2), ("X", 4)),
    (("T", 3), ("V", 5)),
    (("X", 3), ("S", 6)),
    (("P", 4), ("V", 6)),
    (("E", None), ("E", None)),
)


class Grammar(NamedTuple):
    """A grammar as tables over its nodes (the last node is the end, reached after the final E)."""

    symbol: Tensor  # (nodes, 2) int64: the symbol of each node's two edges
    next: Tensor  # (nodes, 2) int64: the node each edge leads to
    successors: Tensor  # (nodes, 7) float32: the multi-hot set of symbols that may be read at each node
    end: int  # the node after the final E


def grammar(embedded: bool) -> Grammar:
    """The Reber grammar's tables, or the embedded Reber grammar's (Figure 4): B, then T or P into a copy of
    the Reber grammar that remembers which, then after its E the same T or P, then E."""
    edges: list[tuple[tuple[str, int | str], ...]] = []

    def reber_copy(first: int, exit_to) -> None:  # the 7 nodes of the Reber grammar from node number `first`
        for pair in REBER:
            edges.append(tuple((s, first + n if n is not None else exit_to) for s, n in pair))

    if not embedded:
        reber_copy(0, "end")
    else:
        t_copy, p_copy = 2, 2 + len(REBER)  # the inner grammar entered with T, and with P
        repeat_t, repeat_p = p_copy + len(REBER), p_copy + len(REBER) + 1
        final = repeat_p + 1
        edges.append((("B", 1), ("B", 1)))
        edges.append((("T", t_copy), ("P", p_copy)))
        reber_copy(t_copy, repeat_t)
        reber_copy(p_copy, repeat_p)
        edges.append((("T", final), ("T", final)))
        edges.append((("P", final), ("P", final)))
        edges.append((("E", "end"), ("E", "end")))
    end = len(edges)
    symbol = torch.tensor([[SYMBOLS.index(s) for s, _ in pair] for pair in edges] + [[B_, B_]])
    nodes = torch.tensor([[end if n == "end" else n for _, n in pair] for pair in edges] + [[end, end]])
    successors = torch.zeros(end + 1, len(SYMBOLS))
    successors[torch.arange(end).unsqueeze(1), symbol[:end]] = 1.0  # the end node has none
    return Grammar(symbol, nodes, successors, end)


def reber_strings(count: int, rules: Grammar, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
    """``count`` strings of the grammar ``rules``, generated side by side.

    Returns symbols (L, count) int64, −1 past each string's end; nodes (L, count) int64, the node reached
    after reading each symbol (the end node past the end); lengths (count,) int64.  L is the longest string.
    Draws one edge choice per string and step from ``generator`` until every string has ended.
    """
    node = torch.zeros(count, dtype=torch.long)  # (N,) every string starts at node 0
    symbols, nodes = [], []
    while bool((node != rules.end).any()):
        edge = torch.randint(0, 2, (count,), generator=generator)  # (N,) each of two edges with probability 0.5
        done = node == rules.end
        symbols.append(torch.where(done, -1, rules.symbol[node, edge]))
        node = rules.next[node, edge]  # the end node leads to itself
        nodes.append(node)
    symbols_, nodes_ = torch.stack(symbols), torch.stack(nodes)  # (L, N)
    return symbols_, nodes_, (symbols_ >= 0).sum(0)


def concatenate(symbols: Tensor, nodes: Tensor, lengths: Tensor, streams: int) -> tuple[Tensor, Tensor, Tensor]:
    """Strings (L, N) with N = streams · S, string s of stream b in column b · S + s, concatenated into streams:
    -> symbols (T, streams) with −1 past each stream's end, nodes (T, streams), lengths (streams,)."""
    L, N = symbols.shape
    per_stream = N // streams
    by_stream = lengths.view(streams, per_stream)  # (B, S)
    first = (by_stream.cumsum(1) - by_stream).view(1, N)  # (1, N) the step of its stream at which each string begins
    total = by_stream.sum(1)  # (B,)
    steps = int(total.max())
    real = torch.arange(L).unsqueeze(1) < lengths  # (L, N)
    time = (first + torch.arange(L).unsqueeze(1))[real]  # step within the stream of every real symbol
    stream = torch.arange(streams).repeat_interleave(per_stream).expand(L, N)[real]
    out_symbols = torch.full((steps, streams), -1, dtype=torch.long)
    out_nodes = torch.zeros(steps, streams, dtype=torch.long)
    out_symbols[time, stream] = symbols[real]
    out_nodes[time, stream] = nodes[real]
    return out_symbols, out_nodes, total


@register
class ReberTask(Task):
    """Reber grammar (Hochreiter & Schmidhuber 1997, Experiment 1; Gers et al. 2000 continual): possible next symbols.

    Inputs (T, B, 7) one-hot symbols of (embedded) Reber strings, targets (T, B, 8): the multi-hot set of possible
    next symbols and a scored flag; see the module docstring.
    """

    @dataclass
    class Config:
        """Settings of the Reber grammar task; the defaults are the paper's Experiment 1 (embedded strings)."""

        embedded: bool = True  # the embedded Reber grammar (B, T|P, Reber string, the same T|P, E), else plain strings
        continual: bool = False  # Gers et al. (2000): a sequence is a stream of concatenated strings, never reset
        strings_per_stream: int = 100  # continual only: the strings of each stream

    name = "reber"
    output_kind = "every"
    main_metric = "accuracy"
    main_metric_goal = "max"
    input_size = len(SYMBOLS)
    output_size = len(SYMBOLS)
    recommended = {  # the paper's test set of 256 strings, every one predicted correctly
        "*": {"train.steps": 5000, "train.eval_size": 256, "train.eval_every": 100,
              "train.stop_when": "accuracy >= 1.0"},
        "lstm": {"model.hidden_size": 32, "train.lr": 0.01},
        # the paper's network (§5.1: 3 blocks of 2 cells, gates fed back, output gate biases −1, −2, −3, weights in
        # [−0.2, 0.2]) one string a step, as the paper learnt; BPTT and Adam (reproduce lstm1997's Reber rows)
        "lstm1997": {"model.hidden_size": 6, "model.options": {"block_size": 2, "gate_feedback": True,
                                                               "output_bias": [-1.0, -2.0, -3.0], "init_range": 0.2},
                     "train.lr": 0.01, "train.batch_size": 1, "train.steps": 20_000, "train.eval_every": 500},
    }

    def __init__(self, config: Config | None = None) -> None:
        super().__init__(config)
        self.rules = grammar(self.config.embedded)
        self.successors = self.rules.successors.clone()  # (nodes, 7): what may be read after each node
        if self.config.continual:
            self.successors[self.rules.end, B_] = 1.0  # in a stream, the next string's B follows the final E

    @classmethod
    def recommendations(cls, model: str, settings: Mapping[str, Any]) -> dict[str, Any]:
        """The paper's 256 test strings, every one right; continual streams: Gers et al.'s 10 test streams.
        Measured (``rnnlab train reber --model lstm``): embedded strings met at steps 400 to 600 of seeds 0 to 4
        (12,800 to 19,200 strings, 3 to 6 s); with the package's 128 units and Adam at 1e-3, at 700 to 900; with
        8 or 16 units at 1e-3, not in 5,000.  Continual streams of 100 strings: met at step 300 (seed 0)."""
        advice = super().recommendations(model, settings)
        if settings.get("continual", cls.Config.continual) is True:
            advice["train.eval_size"] = 10
        return advice

    def validate(self, config: Config) -> None:
        for field in ("embedded", "continual"):
            value = getattr(config, field)
            if not isinstance(value, bool):
                raise ValueError(f"{self.name} task: {field} must be true or false; got {value!r}")
        check_config_int(self.name, "strings_per_stream", config.strings_per_stream, minimum=1)

    # ---- data ------------------------------------------------------------------------------------
    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        self.check_sample_args(batch_size, generator)
        c = self.config
        per_stream = c.strings_per_stream if c.continual else 1
        symbols, nodes, lengths = reber_strings(batch_size * per_stream, self.rules, generator)  # (L, N)
        if c.continual:
            symbols, nodes, lengths = concatenate(symbols, nodes, lengths, batch_size)  # (T, B)
        return self._batch(symbols, nodes, lengths)

    def make_batch(self, sequences: list[str]) -> Batch:
        """The batch of the given sequences of symbols ("BTBPVVETE"; with ``continual``, strings written one after
        the other), read with the task's grammar; ValueError at the first symbol the grammar does not allow."""
        columns = []
        for text in sequences:
            node, column = 0, []
            for t, letter in enumerate(text):
                symbol = SYMBOLS.index(letter) if letter in SYMBOLS else -1
                if node == self.rules.end and self.config.continual and symbol == B_:
                    node = 0  # a stream goes on with the next string
                edge = (self.rules.symbol[node] == symbol).nonzero()
                if node == self.rules.end or symbol < 0 or len(edge) == 0:
                    raise ValueError(f"{self.name} task: {text!r} leaves the grammar at step {t} ({letter!r})")
                node = int(self.rules.next[node, edge[0, 0]])
                column.append((symbol, node))
            columns.append(column)
        lengths = torch.tensor([len(column) for column in columns])  # (B,)
        steps = int(lengths.max())
        symbols = torch.full((steps, len(columns)), -1, dtype=torch.long)
        nodes = torch.full((steps, len(columns)), self.rules.end, dtype=torch.long)
        for b, column in enumerate(columns):
            symbols[: len(column), b] = torch.tensor([symbol for symbol, _ in column])
            nodes[: len(column), b] = torch.tensor([node for _, node in column])
        return self._batch(symbols, nodes, lengths)

    def _batch(self, symbols: Tensor, nodes: Tensor, lengths: Tensor) -> Batch:
        """The batch of symbols (T, B) (−1 past each length) and the nodes reached after reading them (T, B)."""
        steps = int(lengths.max())
        real = lengths_mask(lengths, steps)  # (T, B)
        inputs = F.one_hot(symbols.clamp(min=0), len(SYMBOLS)).float() * real.unsqueeze(2)  # (T, B, 7)
        successors = self.successors[nodes]  # (T, B, 7)
        scored = real & (successors.sum(2) > 0)  # no next symbol after a string's final E (unless continual)
        targets = torch.cat([successors * scored.unsqueeze(2), scored.unsqueeze(2).float()], dim=2)  # (T, B, 8)
        return Batch(inputs=inputs, targets=targets, lengths=lengths)

    # ---- loss and metrics --------------------------------------------------------------------------
    def _check(self, outputs: Tensor, batch: Batch) -> None:
        T, B = batch.inputs.shape[:2]
        check_step_outputs(self.name, outputs, (T, B), len(SYMBOLS), "one logit per symbol at every step")
        if tuple(batch.targets.shape) != (T, B, FLAG + 1):
            raise ValueError(f"task {self.name!r} expects targets of shape (T, B, 7 + 1) = {(T, B, FLAG + 1)}: the "
                             f"possible next symbols and the scored flag; got {tuple(batch.targets.shape)}")

    def loss(self, outputs: Tensor, batch: Batch) -> Tensor:
        self._check(outputs, batch)
        scored = batch.targets[..., FLAG] == 1  # (T, B)
        if not scored.any():
            return outputs.sum() * 0.0
        # boolean indexing, not a product with the mask: unscored outputs get exactly zero gradient
        targets = batch.targets[..., :FLAG].to(outputs.dtype)[scored]  # (n, 7)
        return F.binary_cross_entropy_with_logits(outputs[scored], targets, reduction="none").sum(1).mean()

    def metrics(self, outputs: Tensor, batch: Batch) -> dict[str, float]:
        self._check(outputs, batch)
        outputs = outputs.detach()
        T, B = outputs.shape[:2]
        scored = batch.targets[..., FLAG] == 1  # (T, B)
        possible = batch.targets[..., :FLAG] == 1  # (T, B, 7)
        right = ((outputs > 0) == possible).all(2)  # (T, B): σ > 0.5 exactly for the possible ones (the criterion)
        right_ranking = most_active(outputs, possible)  # (T, B): the paper's words, "the most active ones"
        # a string's last step reads its final E and, in a stream, predicts the next string's B alone
        read = batch.inputs.argmax(2)  # (T, B)
        ends = scored & (read == E_) & possible[..., B_] & (possible.sum(2) == 1)  # (T, B)
        string = (ends.cumsum(0) - ends.long()).T  # (B, T): the string each step belongs to, within its sequence
        strings = ends.sum(0).clamp(min=1)  # (B,) one per sequence without ends (a single string)
        width = int(strings.max())
        string = string.clamp(max=width - 1)

        def per_string(wrong: Tensor) -> Tensor:  # (T, B) wrong steps -> (B, width) whether each string is right
            counts = torch.zeros(B, width, dtype=torch.long).scatter_add_(1, string, (wrong & scored).T.long())
            return counts == 0

        valid = torch.arange(width).unsqueeze(0) < strings.unsqueeze(1)  # (B, width): strings that exist
        correct = per_string(~right)  # (B, width)
        share = lambda ok: float((ok & valid).sum() / valid.sum())  # noqa: E731  (the fraction of strings)
        result = {"loss": float(self.loss(outputs, batch)), "accuracy": share(correct),
                  "ranking_accuracy": share(per_string(~right_ranking)),
                  "symbol_accuracy": float(right[scored].float().mean())}
        if self.config.embedded:  # the step after the inner E predicts T or P alone: the one that needs memory
            memory = scored & (possible.sum(2) == 1) & (possible[..., T_] | possible[..., P_])
            result["memory_accuracy"] = float(right[memory].float().mean())
        if self.config.continual:
            leading = (correct & valid).long().cumprod(1).sum(1)  # (B,) strings right before the first error
            result["stream_accuracy"] = float((leading == strings).float().mean())
            result["strings_before_error"] = float(leading.float().mean())
        result["count"] = B
        return result


def most_active(outputs: Tensor, possible: Tensor) -> Tensor:
    """(T, B) bool: the outputs (T, B, 7) of the possible symbols (T, B, 7) bool are all above every other output
    (the paper's "the output unit(s) corresponding to the possible next symbol(s) is(are) the most active ones");
    ties count as wrong.  Logits order the units as their logistic values do."""
    lowest_possible = outputs.masked_fill(~possible, float("inf")).amin(2)  # (T, B)
    highest_other = outputs.masked_fill(possible, float("-inf")).amax(2)  # (T, B)
    return lowest_possible > highest_other
