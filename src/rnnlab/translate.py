"""``rnnlab translate RUN_DIR TEXT ... [--beam K]``: a trained N→M run writes its output for each text.

The run's task turns each text into input ids (``task.encode`` where the task has one, as the
translation tasks do; otherwise its ``input_symbols`` read as single characters, e.g. addition's
"123+45"), the run's Seq2Seq decodes all texts as one padded batch, greedily or by beam search
(``models/beam_search.py``: the best of K hypotheses by total log-probability, never less probable
than the greedy output), and each output is read back up to its EOS with the task's
``output_symbols``.  A text with characters outside the task's input vocabulary is refused before
the model is loaded, naming them.

    $ rnnlab translate runs/number_translation-gru-seed0 "forty-two" "ninety-seven" --beam 4
    zweiundvierzig
    siebenundneunzig
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import torch

from . import runs
from .config import ConfigError, one_line
from .runs import RunError
from .tasks.tokens import decode, pad_tokens


def translate(run_dir: str | Path, texts: Sequence[str], *, beam: int = 1, checkpoint: str | int = "latest",
              log: Callable[[str], None] = print) -> list[str]:
    """The outputs of an N→M run's checkpoint (``checkpoint``: "latest", "best" or a step) for ``texts``,
    one string each: greedy decoding with ``beam`` = 1, else beam search with ``beam`` hypotheses.

    A run whose task is not N→M (output kind "sequence") is a RunError; an empty list of texts, a text
    the task cannot read, or ``beam`` < 1 is a ConfigError that says why."""
    run_dir = Path(run_dir)
    config = runs.load_config(run_dir)
    if isinstance(beam, bool) or not isinstance(beam, int) or beam < 1:
        raise ConfigError(f"--beam must be an int >= 1; got {beam!r}")
    if not texts:
        raise ConfigError("give at least one TEXT to translate")
    task = runs.build_task(config)
    if task.output_kind != "sequence" or task.input_vocab is None:
        raise RunError(f"{run_dir} is a run of {config.task}, which does not map token sequences to token "
                       f"sequences (N→M: e.g. number_translation, date_translation, addition, reverse)")
    encoded = [encode(task, text) for text in texts]
    inputs, lengths = pad_tokens([ids.tolist() for ids in encoded])  # (T, B), (B,)
    model = runs.trained_model(config, task, run_dir, checkpoint, log=log).eval()
    device = next(model.parameters()).device
    max_length = max(getattr(task, "max_target_length", 0), model.max_length)
    tokens, _ = model.decode(inputs.to(device), lengths, max_length=max_length, beam_size=beam)  # (T_out, B)
    return [decode(column, task.output_symbols) for column in tokens.cpu().T.tolist()]


def encode(task, text: str) -> torch.Tensor:
    """(T,) int64 input ids of ``text`` for ``task``; a ConfigError naming the characters it cannot read."""
    if not isinstance(text, str) or not text:
        raise ConfigError(f"a TEXT must be a non-empty string; got {text!r}")
    if hasattr(task, "encode"):
        try:
            return task.encode(text)
        except ValueError as error:
            raise ConfigError(one_line(error)) from None
    symbols = getattr(task, "input_symbols", None)
    if symbols is None or any(len(name) != 1 for name in symbols[1:]):
        raise RunError(f"task {task.name} names its input symbols {symbols!r}, not characters: it cannot read text")
    ids = {name: index for index, name in enumerate(symbols) if index > 0}  # id 0 is padding
    unknown = sorted(set(text) - set(ids))
    if unknown:
        raise ConfigError(f"{text!r} holds characters outside task {task.name}'s input vocabulary: "
                          f"{' '.join(repr(ch) for ch in unknown)} (it has {''.join(symbols[1:])!r})")
    return torch.tensor([ids[ch] for ch in text], dtype=torch.int64)
