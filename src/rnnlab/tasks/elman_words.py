"""Letter-in-word prediction: predict the next letter of an unsegmented stream of words; the error marks the words.

Elman (1990), "Finding structure in time", Cognitive Science 14, 179–211, section
"Discovering the notion 'word'" (Figure 6).  The paper's task:

* a sentence generator made 200 sentences from a lexicon of 15 words: 1,270 words,
  4,963 letters, concatenated without spaces or punctuation;
* each letter was a random 5-bit vector; the network (5 inputs, 20 hidden units and
  their 20 context units, 5 outputs) read one letter per step and was trained, with
  squared error, to predict the next letter's vector;
* after training, the error is high at the first letter of a word (which word comes
  next is hard to guess) and falls letter by letter inside it (the rest is
  determined): Figure 6 plots it along "manyyearsagoaboyandgirllivedbytheseatheyplayedhappily",
  and the peaks mark the words' onsets.  The network discovers words without being told
  where they are.

Here a batch holds B independent streams of ``length`` steps:

* a stream is words drawn uniformly and independently from ``lexicon``, concatenated,
  starting at the first letter of a word and cut after ``length`` + 1 letters;
* every letter of the lexicon has a fixed code: a random vector of ``letter_bits`` bits,
  distinct for every letter and never all zeros, drawn once from ``code_seed``
  (independent of the sampling generator, so the code is the same for every batch and
  every run of a configuration); ``code(letter)`` and ``letters`` give it;
* inputs (T, B, letter_bits) float32: the codes of letters 0 .. T−1;
* targets (T, B, letter_bits + 1) float32: columns 0 .. letter_bits − 1 are the code of
  the next letter (letters 1 .. T), and the last column is the *onset flag*, 1.0 where
  that next letter is the first letter of a word, else 0.0.  The model produces
  ``output_size`` = letter_bits readouts per step; the flag is never a model output: it
  tells the metrics where the words begin, which cannot be recovered from the letters
  alone without parsing the stream (a lexicon can make that ambiguous), and keeps every
  batch self-contained (no state on the task).

Worked example (the lexicon's stream "many years ago a boy ...", T = 15):

    t        0 1 2 3 4 5 6 7 8 9 10 11 12 13 14
    input    m a n y y e a r s a g  o  a  b  o
    target   a n y y e a r s a g o  a  b  o  y
    onset    0 0 0 1 0 0 0 0 1 0 0  1  1  0  0     the target starts "years", "ago", "a", "boy"

The model's outputs are raw readouts (T, B, letter_bits), read as logits of the bits
(the paper's output units are logistic), p = σ(output).  The loss (``Config.loss``):
"squared_error", Σ_bits (p − target)² averaged over steps and streams (the paper's cost,
the default), or "cross_entropy", the binary cross-entropy of the logits, summed over
the bits and averaged the same way (see ``elman_xor``).

Metrics, whatever the loss; a letter's error is Σ_bits (p − target)², the squared
distance between the predicted and the true code (summed, not averaged, over the bits,
like the paper's sum squared error per pattern):

    error         the mean letter error over every step
    onset_error   the mean over the steps whose target letter starts a word
    inside_error  the mean over the other steps
    onset_ratio   onset_error / inside_error: above 1 once the network has found the
                  words (it predicts letters inside words better than word onsets);
                  nan for a batch without onsets or without inside letters.  It is a
                  ratio per batch: over several batches (the held-out set) the trainer
                  averages the batches' ratios, not the ratio of the averages

``plot_errors`` and ``figures`` draw the error along a stream with the onsets marked,
like Figure 6.

Where this departs from the paper, and why:

* the paper's sentence generator and its 15-word lexicon are not given; the default
  lexicon is the 14 distinct words of its Figure 6 stream ("many years ago a boy and
  girl lived by the sea they played happily"), and words follow each other at random
  instead of by a grammar.  Word order only changes how well onsets can be guessed;
  the drop of the error inside words, the paper's finding, comes from the words
  themselves;
* B streams of ``length`` letters each (the default is the paper's 4,963, a fresh
  stream each batch) instead of one corpus presented 10 times;
* letter codes are drawn without repetition and without the all-zero vector, so that
  every letter can be told from the others and from padding; the paper says only that
  each letter was a random 5-bit vector.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from .base import Batch, Task, check_config_int
from .elman_xor import check_every_outputs, check_loss, step_errors, step_loss
from .registry import register

ELMAN_LEXICON = ("many", "years", "ago", "a", "boy", "and", "girl", "lived", "by", "the", "sea", "they", "played",
                 "happily")  # the distinct words of the stream of the paper's Figure 6
MAX_LETTER_BITS = 16


@register
class ElmanWordsTask(Task):
    """Letter-in-word prediction (Elman 1990, "Discovering the notion 'word'"): next letter of a word stream.

    Inputs (T, B, 5) letter codes, targets (T, B, 6) the next letter's code and an onset flag; see the module
    docstring.
    """

    @dataclass
    class Config:
        """Settings of the letter-in-word prediction; the defaults are the paper's where it gives them."""

        lexicon: tuple[str, ...] = ELMAN_LEXICON  # the words of the streams
        letter_bits: int = 5  # bits of each letter's random code
        length: int = 4963  # T, steps (predictions) per stream: the length of the paper's corpus
        code_seed: int = 1990  # seeds the letter codes (not the streams, which come from the sampling generator)
        loss: str = "squared_error"  # "squared_error" (the paper's) or "cross_entropy", both on σ(output)

    name = "elman_words"
    recommended = {"*": {"model.hidden_size": 20, "train.lr": 3e-3, "train.steps": 2000}}  # Elman's 20 units
    output_kind = "every"
    main_metric = "error"
    main_metric_goal = "min"

    def __init__(self, config: Config | None = None) -> None:
        super().__init__(config)
        c = self.config
        self.input_size = c.letter_bits
        self.output_size = c.letter_bits  # the targets carry one more column, the onset flag
        self.letters = "".join(sorted(set("".join(c.lexicon))))  # letter i has code self.codes[i]
        self.codes = letter_codes(len(self.letters), c.letter_bits, c.code_seed)  # (L, letter_bits)
        index = {letter: i for i, letter in enumerate(self.letters)}
        longest = max(len(word) for word in c.lexicon)
        # (W, longest) letter indices of each word (−1 past its end), and (W,) word lengths.
        self._spelling = torch.tensor([[index[ch] for ch in word] + [-1] * (longest - len(word))
                                       for word in c.lexicon])
        self._word_lengths = torch.tensor([len(word) for word in c.lexicon])

    def validate(self, config: Config) -> None:
        lexicon = config.lexicon
        if (not isinstance(lexicon, (tuple, list)) or not lexicon
                or not all(isinstance(w, str) and w and not any(ch.isspace() for ch in w) for w in lexicon)):
            raise ValueError(f"{self.name} task: lexicon must be a non-empty tuple of words (non-empty strings "
                             f"without spaces); got {lexicon!r}")
        if len(set(lexicon)) != len(lexicon):
            repeated = sorted({w for w in lexicon if lexicon.count(w) > 1})
            raise ValueError(f"{self.name} task: lexicon must not repeat a word; {', '.join(repeated)} repeated")
        check_config_int(self.name, "letter_bits", config.letter_bits, minimum=1)
        letters = len(set("".join(lexicon)))
        if config.letter_bits > MAX_LETTER_BITS or 2**config.letter_bits - 1 < letters:
            raise ValueError(f"{self.name} task: letter_bits must be at most {MAX_LETTER_BITS} and give the "
                             f"{letters} letters of the lexicon distinct non-zero codes (2**letter_bits - 1 >= "
                             f"{letters}); got {config.letter_bits!r}")
        check_config_int(self.name, "length", config.length, minimum=1)
        if isinstance(config.code_seed, bool) or not isinstance(config.code_seed, int) or config.code_seed < 0:
            raise ValueError(f"{self.name} task: code_seed must be an int >= 0; got {config.code_seed!r}")
        check_loss(self.name, config.loss)

    # ---- data -----------------------------------------------------------------------------------

    def code(self, letter: str) -> Tensor:
        """(letter_bits,) float32: the code of ``letter``."""
        if not isinstance(letter, str) or len(letter) != 1 or letter not in self.letters:
            raise ValueError(f"{self.name} task: {letter!r} is not a letter of the lexicon ({self.letters})")
        return self.codes[self.letters.index(letter)]

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        self.check_sample_args(batch_size, generator)
        T, B = self.config.length, batch_size
        # Enough words for T + 1 letters even if every word were the shortest.
        words_needed = -(-(T + 1) // int(self._word_lengths.min()))
        words = torch.randint(0, len(self.config.lexicon), (B, words_needed), generator=generator)  # (B, N)
        ends = self._word_lengths[words].cumsum(dim=1)  # (B, N) letters up to the end of each word
        position = torch.arange(T + 1).expand(B, T + 1).contiguous()  # (B, T + 1)
        word_at = torch.searchsorted(ends, position, right=True)  # (B, T + 1) which word holds each letter
        start = ends.gather(1, word_at) - self._word_lengths[words.gather(1, word_at)]  # (B, T + 1)
        offset = position - start  # (B, T + 1) place of each letter in its word
        letters = self._spelling[words.gather(1, word_at), offset]  # (B, T + 1) letter indices
        return self.make_batch(letters.T, (offset == 0).T)

    def make_batch(self, letters: Tensor, onsets: Tensor) -> Batch:
        """The batch of the letter streams ``letters`` (T + 1, B), indices into ``self.letters``, whose
        word onsets are ``onsets`` (T + 1, B) bool."""
        codes = self.codes[letters]  # (T + 1, B, letter_bits)
        flags = onsets[1:].unsqueeze(2).float()  # (T, B, 1): the target letter starts a word
        return Batch(inputs=codes[:-1], targets=torch.cat([codes[1:], flags], dim=2), lengths=None)

    def decode(self, codes: Tensor) -> str:
        """The letters of the codes (T, letter_bits) (rows of 0/1 values, exact codes of ``self.letters``)."""
        codes = codes.detach().cpu()
        matches = (codes.unsqueeze(1) == self.codes.unsqueeze(0)).all(dim=2)  # (T, L)
        if not matches.any(dim=1).all():
            raise ValueError(f"{self.name} task: decode takes exact letter codes; row "
                             f"{int((~matches.any(dim=1)).nonzero()[0])} is not one")
        return "".join(self.letters[i] for i in matches.int().argmax(dim=1).tolist())

    # ---- loss and metrics -----------------------------------------------------------------------

    def loss(self, outputs: Tensor, batch: Batch) -> Tensor:
        check_every_outputs(self.name, outputs, batch.inputs, self.output_size)
        return step_loss(outputs, batch.targets[..., : self.output_size], self.config.loss)

    def metrics(self, outputs: Tensor, batch: Batch) -> dict[str, float]:
        check_every_outputs(self.name, outputs, batch.inputs, self.output_size)
        outputs = outputs.detach()
        codes, onsets = batch.targets[..., : self.output_size], batch.targets[..., self.output_size] == 1  # (T, B, ·)
        errors = step_errors(outputs, codes)  # (T, B)
        onset_error = float(errors[onsets].mean()) if onsets.any() else float("nan")
        inside_error = float(errors[~onsets].mean()) if not onsets.all() else float("nan")
        return {
            "loss": float(step_loss(outputs, codes, self.config.loss)),
            "error": float(errors.mean()),
            "onset_error": onset_error,
            "inside_error": inside_error,
            "onset_ratio": onset_error / inside_error if inside_error != 0 else float("nan"),
            "count": errors.shape[1],
        }

    # ---- figures --------------------------------------------------------------------------------

    def figures(self, model_outputs: Tensor, batch: Batch, directory: str | Path, *, steps: int = 60) -> list[Path]:
        """``elman_words_errors.png`` in ``directory``: the letter error of the first stream of ``batch``
        over its first ``steps`` steps, word onsets marked (like the paper's Figure 6).  Returns the files
        written.  model_outputs (T, B, letter_bits), the model's raw readouts for ``batch``."""
        check_every_outputs(self.name, model_outputs, batch.inputs, self.output_size)
        check_config_int(self.name, "steps", steps, minimum=1)
        n = min(steps, batch.inputs.shape[0])
        outputs = model_outputs.detach()[:n, 0].cpu().float()  # (n, letter_bits)
        targets = batch.targets[:n, 0].cpu().float()  # (n, letter_bits + 1)
        errors = step_errors(outputs.unsqueeze(1), targets[:, : self.output_size].unsqueeze(1)).squeeze(1)  # (n,)
        onsets = targets[:, self.output_size] == 1  # (n,)
        letters = self.decode(targets[:, : self.output_size])
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "elman_words_errors.png"
        plot_errors(errors, onsets, letters, path)
        return [path]


def letter_codes(letters: int, bits: int, seed: int) -> Tensor:
    """(letters, bits) float32: distinct random non-zero bit vectors, the same for the same seed.

    Drawn from a generator of their own seeded with ``seed``: code numbers 1 .. 2**bits − 1 in a
    random order, the first ``letters`` of them, each written in binary (most significant bit first).
    """
    generator = torch.Generator().manual_seed(seed)
    numbers = torch.randperm(2**bits - 1, generator=generator)[:letters] + 1  # (letters,) distinct, non-zero
    powers = 2 ** torch.arange(bits - 1, -1, -1)  # (bits,)
    return ((numbers.unsqueeze(1) // powers) % 2).float()  # (letters, bits)


def plot_errors(errors: Tensor, onsets: Tensor, letters: str, path: str | Path) -> Path:
    """Write a PNG to ``path``: the error at each step (a line), each step labelled with its target
    letter, and the steps whose target starts a word marked (a dot and a dashed line), as in Elman's
    Figure 6.  errors (T,) float, onsets (T,) bool, letters: T characters.  Returns the path."""
    errors = torch.as_tensor(errors).detach().cpu().float().reshape(-1)
    onsets = torch.as_tensor(onsets).detach().cpu().bool().reshape(-1)
    if not (len(errors) == len(onsets) == len(letters)) or len(errors) == 0:
        raise ValueError(f"plot_errors takes errors, onsets and letters of one length T >= 1; got "
                         f"{len(errors)}, {len(onsets)} and {len(letters)}")
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    steps = range(len(errors))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.18 * len(errors)), 3.5))
    ax.plot(steps, errors.tolist(), color="black", linewidth=1)
    onset_steps = [t for t in steps if onsets[t]]
    for t in onset_steps:
        ax.axvline(t, color="tab:red", linestyle="--", linewidth=0.6, alpha=0.6)
    ax.scatter(onset_steps, errors[onsets].tolist(), color="tab:red", s=14, zorder=3, label="word onset")
    ax.set_xticks(list(steps))
    ax.set_xticklabels(list(letters), fontsize=7)
    ax.set_xlim(-0.5, len(errors) - 0.5)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("letter predicted")
    ax.set_ylabel("squared error")
    ax.set_title("Letter-in-word prediction error (cf. Elman 1990, Figure 6)")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
