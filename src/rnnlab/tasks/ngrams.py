"""Dynamic n-grams: predict the next bit of a sequence from a fresh random n-gram model; the Bayes-optimal cost.

Graves, Wayne & Danihelka (2014), "Neural Turing Machines", arXiv:1410.5401, section 4.4.
The paper's task:

* "Each 6-Gram distribution can be expressed as a table of 2^5 = 32 numbers, specifying the
  probability that the next bit will be one, given all possible length five binary
  histories.  For each training example, we first generated random 6-Gram probabilities by
  independently drawing all 32 probabilities from the Beta(½, ½) distribution.  We then
  generated a particular training sequence by drawing 200 successive bits using the current
  lookup table"; footnote 4: "The first 5 bits, for which insufficient context exists to
  sample from the table, are drawn i.i.d. from a Bernoulli distribution with p = 0.5";
* "The network observes the sequence one bit at a time and is then asked to predict the
  next bit";
* the optimal estimator, by Bayesian analysis (eq. 10), with c the five-bit context and N0,
  N1 the numbers of zeros and ones seen after c so far in the sequence:

      P(B = 1 | N1, N0, c) = (N1 + ½) / (N1 + N0 + 1)

* Figure 13: the optimal estimator costs about 133 bits per sequence on a validation set
  of 1000 sequences of 200 bits; NTM reaches about 133.5–134, LSTM about 136.

Here, with n = ``n`` and L = ``length``, each sequence has its own table of 2^(n−1)
probabilities, drawn from Beta(½, ½) by the inverse of its distribution function,
p = sin²(πu/2) for u uniform in [0, 1) (torch's Beta sampler takes no generator; this is
exact and draws everything from the task's generator).  Bits x_0 .. x_{n−2} are Bernoulli(½);
bit x_t, t ≥ n − 1, is Bernoulli(table[c_t]) with c_t the n − 1 bits before it read as a
binary number, the oldest bit most significant.  A sequence of L bits gives T = L − 1 steps:

    step t      input (I = 1)     target (O = 1 bit + the scored flag)
    0 .. L − 2  x_t               x_{t+1}, scored at every step

Every step is scored, the first n − 2 targets included (they are coin flips: one bit each
for any predictor that says ½), so that ``bits_per_sequence`` counts all L − 1 predictions.
With the paper's n = 6 and L = 200 the Bayes-optimal cost of this count is 132.2 bits per
sequence on average (4 coin flips + 128.2; 40,000 sequences, standard error 0.2), close to
the 133 read from the paper's Figure 13.

Worked example (n = 3, so a table of 4 probabilities and contexts of 2 bits; L = 8 bits
0 1 1 0 1 1 1 0; x[0] is the input, y[0] the target, y[1] the scored flag; bayes is the
optimal P(x_{t+1} = 1) from x_0 .. x_t, the counts N0, N1 after the same context):

    t          0     1     2     3     4     5     6
    x[0]       0     1     1     0     1     1     1     the bit x_t
    y[0]       1     1     0     1     1     1     0     the next bit x_{t+1}
    y[1]       1     1     1     1     1     1     1     scored: every step
    context    -    01    11    10    01    11    11     the 2 bits before x_{t+1}
    bayes    0.5   0.5   0.5   0.5  0.75  0.25   0.5     seen after 01: one 1; after 11: one 0, then 0 and 1

Metrics: those of ``tasks.bits`` (``bits_per_sequence`` is the main one), and

    bayes_bits_per_sequence    the cost of the Bayes-optimal predictor above on the same
                               sequences, computed from the inputs alone (``bayes_probabilities``)
    excess_bits_per_sequence   bits_per_sequence − bayes_bits_per_sequence: what the network
                               loses to the optimum (0 at best; negative only by luck)

Where this departs from the paper, and why:

* the scoring of the first n − 2 predictions, which no predictor can beat, is not stated;
  scoring them gives an optimal cost of 132.2 bits, leaving them out 128.2, against the 133
  of the paper's figure (a 200th prediction, of x_0 before any input, would add one more
  coin flip: it needs an input that is not a bit, and is left out);
* Beta(½, ½) is sampled by its inverse distribution function (above), the same distribution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from .base import Batch, check_config_int
from .bits import LSTM_BASELINE, NTM_RECOMMENDED, ScoredBitsTask, scored_bits_metrics, scored_mask
from .registry import register

MAX_N = 16  # tables of 2**15 probabilities per sequence at most


@register
class NGramsTask(ScoredBitsTask):
    """Dynamic n-grams (Graves et al. 2014, NTM §4.4): predict the next bit of a fresh random 6-gram sequence.

    Inputs (199, B, 1) bits, targets (199, B, 1 + 1) the next bit and the scored flag; see the module docstring.
    """

    @dataclass
    class Config:
        """Settings of the dynamic n-grams task; the defaults are the paper's (§4.4)."""

        n: int = 6  # the model's order: each bit depends on the n − 1 before it (2**(n − 1) probabilities)
        length: int = 200  # L, bits per sequence: L − 1 predictions

    name = "ngrams"
    recommended = {"ntm": NTM_RECOMMENDED, "lstm": LSTM_BASELINE}
    main_metric = "bits_per_sequence"
    input_size = 1
    output_size = 1

    def validate(self, config: Config) -> None:
        check_config_int(self.name, "n", config.n, minimum=2)
        if config.n > MAX_N:
            raise ValueError(f"{self.name} task: n must be at most {MAX_N} (a table of 2**(n - 1) probabilities "
                             f"per sequence); got {config.n!r}")
        check_config_int(self.name, "length", config.length, minimum=2, why="at least one prediction")

    # ---- data -----------------------------------------------------------------------------------

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        self.check_sample_args(batch_size, generator)
        tables = random_tables(batch_size, self.config.n, generator)  # (B, 2**(n − 1))
        return self.make_batch(draw_bits(tables, self.config.length, generator))

    def make_batch(self, bits: Tensor) -> Batch:
        """The batch of the bit sequences ``bits`` (L, B) (0/1 values): inputs x_0 .. x_{L−2}, targets
        x_1 .. x_{L−1}, every step scored."""
        x = bits.float().unsqueeze(2)  # (L, B, 1)
        return Batch(inputs=x[:-1], targets=torch.cat([x[1:], torch.ones_like(x[1:])], dim=2), lengths=None)

    # ---- the Bayes-optimal predictor ------------------------------------------------------------

    def bayes_probabilities(self, inputs: Tensor) -> Tensor:
        """(T, B) float64: P(x_{t+1} = 1 | x_0 .. x_t) of the Bayes-optimal predictor (eq. 10 of the
        paper), from ``inputs`` (T, B, 1), the bits x_0 .. x_{T−1}, alone.

        ½ for the first n − 2 targets (coin flips); then (N1 + ½) / (N0 + N1 + 1), where N0 and N1
        count the zeros and ones that followed the target's context c (its n − 1 previous bits)
        earlier in the sequence.  Vectorised over the batch and the steps: a stable sort by
        (sequence, context) puts the earlier occurrences of each context before each step, and
        cumulative sums within each group count them.
        """
        x = inputs.detach().reshape(inputs.shape[0], -1).round().long().cpu()  # (T, B) bits x_0 .. x_{T−1}
        T, B = x.shape
        n = self.config.n
        C = 2 ** (n - 1)
        probabilities = torch.full((T, B), 0.5, dtype=torch.float64)
        S = T - n + 2  # targets x_s with a full context: s = n − 1 .. T, predicted at steps s − 1
        if S <= 0:
            return probabilities.to(inputs.device)
        weights = 2 ** torch.arange(n - 2, -1, -1)  # (n − 1,) oldest bit most significant
        context = (x.unfold(0, n - 1, 1) * weights).sum(dim=2)  # (S, B): context of x_{k+n−1} is x_k .. x_{k+n−2}
        outcome = torch.cat([x[n - 1 :], torch.zeros(1, B, dtype=torch.long)])  # (S, B) x_s; x_T unknown (last)

        key = (torch.arange(B) * C + context).T.reshape(-1)  # (B·S,) sequence-major, time-minor
        order = torch.argsort(key, stable=True)  # by (sequence, context), then by time
        ones = outcome.T.reshape(-1)[order]  # (B·S,) the outcomes in that order
        position = torch.arange(B * S)
        key_sorted = key[order]
        starts = torch.ones(B * S, dtype=torch.bool)
        starts[1:] = key_sorted[1:] != key_sorted[:-1]  # the first occurrence of each (sequence, context)
        group_start = torch.cummax(torch.where(starts, position, 0), dim=0).values  # (B·S,)
        ones_before = ones.cumsum(0) - ones  # exclusive cumulative count of ones over the whole order
        n1 = torch.empty(B * S, dtype=torch.long)
        seen = torch.empty(B * S, dtype=torch.long)
        n1[order] = ones_before - ones_before[group_start]  # ones after this context, earlier in this sequence
        seen[order] = position - group_start  # occurrences of this context earlier in this sequence
        bayes = (n1.double() + 0.5) / (seen.double() + 1.0)  # (B·S,)
        probabilities[n - 2 :] = bayes.reshape(B, S).T
        return probabilities.to(inputs.device)

    def bayes_bits(self, batch: Batch) -> Tensor:
        """(B,) float64: the cost in bits of the Bayes-optimal predictor on each sequence of ``batch``,
        summed over its scored steps."""
        p = self.bayes_probabilities(batch.inputs)  # (T, B)
        y = batch.targets[..., 0].to(p.device, torch.float64)  # (T, B)
        scored = scored_mask(self, batch).to(p.device)  # (T, B)
        bits = -(y * torch.log2(p) + (1 - y) * torch.log2(1 - p))  # (T, B)
        return torch.where(scored, bits, 0.0).sum(dim=0)

    # ---- metrics --------------------------------------------------------------------------------

    def metrics(self, outputs: Tensor, batch: Batch) -> dict[str, float]:
        metrics = scored_bits_metrics(self, outputs, batch)
        bayes = float(self.bayes_bits(batch).mean())
        metrics["bayes_bits_per_sequence"] = bayes
        metrics["excess_bits_per_sequence"] = metrics["bits_per_sequence"] - bayes
        metrics["count"] = metrics.pop("count")  # last, like the other tasks
        return metrics


def random_tables(batch_size: int, n: int, generator: torch.Generator) -> Tensor:
    """(B, 2**(n − 1)) float64: for each sequence, P(next bit = 1 | context) for every context of n − 1
    bits, independent draws from Beta(½, ½).

    Drawn by the inverse of the distribution function F(p) = (2/π) arcsin √p: p = sin²(πu/2) for u
    uniform in [0, 1), an exact draw that takes its randomness from ``generator`` alone.
    """
    u = torch.rand(batch_size, 2 ** (n - 1), generator=generator, dtype=torch.float64)
    return torch.sin(math.pi * u / 2).square()


def draw_bits(tables: Tensor, length: int, generator: torch.Generator) -> Tensor:
    """(L, B) int64 bit sequences of ``length`` bits drawn from ``tables`` (B, 2**(n − 1)): the first
    n − 1 bits Bernoulli(½), then bit t Bernoulli(tables[b, c_t]) with c_t the n − 1 bits before it,
    oldest most significant.  One uniform draw per bit, all drawn first."""
    B, contexts = tables.shape
    n = contexts.bit_length()  # contexts = 2**(n − 1)
    draws = torch.rand(length, B, generator=generator, dtype=torch.float64)  # (L, B)
    bits = torch.zeros(length, B, dtype=torch.long)
    bits[: n - 1] = (draws[: n - 1] < 0.5).long()
    context = torch.zeros(B, dtype=torch.long)  # (B,) the last n − 1 bits
    for t in range(min(n - 1, length)):
        context = context * 2 + bits[t]
    batch_index = torch.arange(B)
    for t in range(n - 1, length):
        bits[t] = (draws[t] < tables[batch_index, context]).long()
        context = (context * 2 + bits[t]) % contexts
    return bits
