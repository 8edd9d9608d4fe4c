"""Attention pictures of a translation run: where the decoder looks while it writes each character.

The alignment of Bahdanau, Cho & Bengio (2015, §5.2.2 and Fig. 3): for each output step i the
weights α_ij (eq. 6) that the decoder gives to the encoder's annotation h_j of source step j, drawn
as a matrix, output characters down, source characters across, darker = more weight.  Rows sum to 1.
Beside it the same weights summed over the characters of each source word (words split at spaces
and hyphens; the separators' own weight is left out), so that "forty-two" -> "zweiundvierzig" shows
"zwei" reading "two" and "vierzig" reading "forty": German's inverted units and tens.

``alignment`` decodes one text greedily and keeps the weights; it runs the same steps as
``Seq2Seq.decode`` (models/decoding.py: ``unroll``), computing at each step the attention that
``TokenDecoder.step`` computes inside (the same function of the same state, computed once more to
read its weights, which the step does not return).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

import torch
from torch import Tensor

from ..analysis.figures import save_figure
from ..models.decoding import hidden
from ..vocabulary import BOS, EOS

_WORD = re.compile(r"[^\s\-]+")  # a source word: a run of characters other than spaces and hyphens


def alignment(model, task, text: str, max_length: int | None = None) -> tuple[str, list[str], Tensor]:
    """Greedy decoding of ``text`` by an attention Seq2Seq -> (the output string, its characters with the
    EOS last when written, weights (T_out, S): row i is α_i·, the weights of output step i over the S
    source characters).  ValueError for a model without attention or a text the task cannot read."""
    if getattr(model.decoder, "attention", None) is None:
        raise ValueError("the model has no attention (model.attention = false): there is no alignment to draw")
    inputs = task.encode(text).unsqueeze(1)  # (S, 1)
    max_length = max_length or getattr(task, "max_target_length", model.max_length)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            device = next(model.parameters()).device
            state = model.encode(inputs.to(device), torch.tensor([inputs.shape[0]]))
            token = torch.full((1,), BOS, dtype=torch.long, device=device)
            rows, written = [], []
            for _ in range(max_length):
                _, weights = model.decoder.attention(hidden(state.layers[-1]), state.memory)  # (1, S): α_i·
                logits, state = model.decoder.step(token, state)  # (1, V)
                token = logits.argmax(dim=-1)  # (1,)
                rows.append(weights[0].float().cpu())
                written.append(int(token))
                if written[-1] == EOS:
                    break
    finally:
        model.train(was_training)
    symbols = [task.output_symbols[t] for t in written]  # the EOS is named "<eos>"
    output = task.decode(written)
    return output, symbols, torch.stack(rows)  # (T_out, S)


def source_words(text: str) -> list[tuple[str, list[int]]]:
    """The words of ``text`` and the positions of their characters: ``source_words("forty-two")`` ->
    [("forty", [0, 1, 2, 3, 4]), ("two", [6, 7, 8])]."""
    return [(m.group(), list(range(m.start(), m.end()))) for m in _WORD.finditer(text)]


def word_weights(weights: Tensor, text: str) -> tuple[list[str], Tensor]:
    """weights (T_out, S) over the characters of ``text`` -> (its words, (T_out, W) the weights summed over
    each word's characters)."""
    words = source_words(text)
    summed = torch.stack([weights[:, positions].sum(dim=1) for _, positions in words], dim=1)  # (T_out, W)
    return [word for word, _ in words], summed


def draw_alignments(model, task, texts: Sequence[str], path: str | Path, title: str = "") -> Path:
    """One row of two panels per text: the alignment by source character, and by source word; saved to
    ``path`` (PNG).  The figure's size follows the texts' lengths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    decoded = [(text, *alignment(model, task, text)) for text in texts]
    widths = [max(len(text), 4) for text, *_ in decoded]
    heights = [len(symbols) for _, _, symbols, _ in decoded]
    figure, axes = plt.subplots(len(texts), 2, squeeze=False,
                                figsize=(0.22 * max(widths) + 4.5, 0.2 * sum(heights) + 1.2 * len(texts) + 0.6),
                                gridspec_kw={"width_ratios": [max(widths), 5], "height_ratios": heights})
    for row, (text, output, symbols, weights) in enumerate(decoded):
        by_char, by_word = axes[row]
        shown = [s if s != " " else "␣" for s in symbols]
        by_char.imshow(weights.numpy(), cmap="Greys", vmin=0, vmax=1, aspect="auto", interpolation="nearest")
        by_char.set_xticks(range(len(text)), [c if c != " " else "␣" for c in text], fontsize=8)
        by_char.set_yticks(range(len(shown)), shown, fontsize=8)
        by_char.xaxis.tick_top()
        by_char.set_title(f"{text!r} → {output!r}", fontsize=9, pad=18)
        words, summed = word_weights(weights, text)
        by_word.imshow(summed.numpy(), cmap="Greys", vmin=0, vmax=1, aspect="auto", interpolation="nearest")
        by_word.set_xticks(range(len(words)), words, fontsize=8, rotation=45, ha="left")
        by_word.set_yticks(range(len(shown)), shown, fontsize=8)
        by_word.xaxis.tick_top()
        by_word.set_title("by source word", fontsize=9, pad=18)
    if title:
        figure.suptitle(title, fontsize=10)
    return save_figure(figure, path)


def evaluations(run_dir: str | Path, metric: str = "exact_match") -> list[tuple[int, float]]:
    """(step, held-out ``metric``) at every evaluation logged in RUN_DIR/metrics.jsonl."""
    import json

    found = []
    for line in (Path(run_dir) / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        if f"eval_{metric}" in record:
            found.append((record["step"], record[f"eval_{metric}"]))
    return found


def draw_learning_curves(curves: Sequence[tuple[str, str | Path]], path: str | Path, title: str = "",
                         metric: str = "exact_match") -> Path:
    """The held-out ``metric`` against the step of each (label, run directory), on one plot (PNG at ``path``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 3.6))
    for label, run_dir in curves:
        points = evaluations(run_dir, metric)
        axis.plot([s for s, _ in points], [v for _, v in points], marker="o", markersize=3, label=label)
    axis.set_xlabel("training step (batches of 64)")
    axis.set_ylabel(f"held-out {metric.replace('_', ' ')} (validation, greedy)")
    axis.set_ylim(-0.02, 1.02)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8, loc="lower right")
    if title:
        axis.set_title(title, fontsize=9)
    return save_figure(figure, path)
