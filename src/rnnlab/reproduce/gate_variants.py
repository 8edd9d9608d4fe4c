"""The GRU gate-variant study (issue 15, part 1): Dey & Salem (2017), "Gate-variants of gated recurrent unit
(GRU) neural networks", arXiv:1701.05923.

The paper's GRU (``gru_v3``: Cho et al. 2014 v3, the reset gate applied to h before the recurrent product,
one bias per gate, its eqs. 1–4) against its three variants (§3; cells/gru_v3.py), whose gates read less:

    GRU1   z = σ(U_z h + b_z),  r = σ(U_r h + b_r)      the gates see h and a bias
    GRU2   z = σ(U_z h),        r = σ(U_r h)            the gates see h only
    GRU3   z = σ(b_z),          r = σ(b_r)              the gates are a bias only

with ``lstm`` and ``elman_tanh`` as references, on three data sets:

* **images read row by row**: 28 steps of m = 28 pixels (the paper's MNIST row-wise sequences);
* **images read pixel by pixel**: 784 steps of m = 1 (the paper's pixel-wise sequences);
* **labelled sentences**, word by word through an embedding of m = 128 (the offline stand-in for the
  paper's IMDB reviews: the 3,000 sentences of Kotzias et al. 2015 shipped in data/sentiment, IMDb's
  among them; 2,400 train, 600 held out).

The images are Fashion-MNIST (``--fashion DIR``; Debian's dataset-fashion-mnist), the offline stand-in for
MNIST; pointing ``--fashion`` at a directory of MNIST's IDX files (the same four names) runs the paper's own
data, and the tables then name the directory instead of Fashion-MNIST.

**The paper's protocol, and where this departs from it.**  Sources: the paper's abstract and the paragraph
of its experiments section on Table II and Figs. 1–3 (quoted here; its tables' other figures were not
within reach of this work, so the tables below quote findings, not numbers, except Fig. 3's); the
architecture as issue 15 gives it: one recurrent layer of n = 100 units, m = 28 inputs by rows, read out
by a softmax layer at the last step, with the parameter formulas of the paper's §3 (PAPER_FORMULAS).  The
paper trains with RMSprop at a constant base learning rate; GRU1 and GRU2 "perform almost as well as
GRU0 on MNIST pixel-wise generated sequence inputs" (Table II, Figs. 1–2) while GRU3 "does not perform as
well for this (constant base) learning rate"; lowering the rate to 1e-4 "has enabled GRU3 to increase its
(test) accuracy performance to 59.6% after 100 epochs" (Fig. 3), GRU3 having "about 33%" of GRU's
parameters; on IMDB and on MNIST the variants "perform as well as the original GRU RNN" (abstract).
Here:

* n = 100, one layer, the last step's h read out by a linear layer and softmax (model.pooling = last);
* RMSprop (torch's: α = 0.99, ε = 1e-8), η = 1e-3 constant (Keras' RMSprop default, the paper's base
  rate), and η = 1e-4 for a second GRU3 run on pixels (Fig. 3's lowered rate);
* batches of 32 (Keras' default batch; the batch size is not in the parts of the paper read here);
* gradients clipped to norm 1 (rnnlab's default, kept as a guard against the spikes of 784-step
  sequences; RMSprop divides each gradient by its running scale, so clipping acts on spikes only);
* pixels standardised by the training set's mean and standard deviation (tasks/seq_image.py's
  recommendation for 784 steps, where /255 alone fell back to chance there), rows scaled to [0, 1];
* **a step budget instead of 100 epochs**, measured and chosen for this machine (2 cores, two other
  trainings running): one thread, forward + backward + RMSprop update of a batch of 32 (TIME_PER_STEP_MS):
  by rows 2–4 ms a step for every cell, 10 epochs (18,750 steps) take about 1.5 minutes a run, so rows get
  10 epochs and 3 seeds; by pixels 48–127 ms a step (gru_v3 the slowest, Elman the fastest), one epoch
  (1,875 steps) takes 1.5–4 minutes and 100 epochs of the seven pixel runs would take about a day and a
  half, so pixels get 2 epochs (3,750 steps) and one seed; sentences 6–17 ms a step, 20 epochs (1,500
  steps) and 3 seeds.  The whole budget: about 1.4 hours on an otherwise idle core (rows 30 minutes, pixels
  45 with their evaluations on the 10,000 test images, sentences 7), about 2.2 hours beside two other
  trainings (the first rows run took 3.0 minutes, not 1.5); each run is capped in minutes as a guard.
  ``--quick`` (seed 0: the six models 500 steps on the rows, the four GRUs 300 steps on the sentences, GRU
  30 steps on the pixels) took 52 seconds on one thread, two other trainings beside.

``measure`` then reads the runs back into one table per data set (``table`` of runner.measured_row):
parameters of the recurrent layer counted on the built models beside the paper's formulas (PAPER_FORMULAS;
n = 100, m = 28: GRU 38,700, GRU1 33,100, GRU2 32,900, GRU3 13,100), held-out accuracy as mean ± standard
deviation (min–max) over the seeds, seconds per 1,000 training steps measured on one thread, the
paper's finding beside; one row per variant of how many points it is behind GRU (the issue's acceptance:
GRU1 and GRU2 within 1 point of GRU on the rows), a paragraph of which conclusions hold here, and the
learning curves of every model on one picture per data set (gate_variants_pictures.py; the form of the
paper's figures: accuracy against epochs).
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .applications import FASHION_FILES, SENTIMENT_FILES
from .runner import Experiment, Measuring, Run, measured_row

HIDDEN = 100  # n in the paper
BATCH = 32
RATE = 1e-3  # η, the constant base learning rate
LOWERED_RATE = 1e-4  # Fig. 3: GRU3 on pixels
EMBEDDING = 128  # m of the sentences: the embedding's width
VARIANTS = ("gru_v3", "gru1", "gru2", "gru3")  # the paper's GRU (its GRU0), then its variants
REFERENCES = ("lstm", "elman_tanh")
LABELS = {"gru_v3": "GRU", "gru1": "GRU1", "gru2": "GRU2", "gru3": "GRU3", "lstm": "LSTM", "elman_tanh": "Elman"}
WITHIN_POINTS = 1.0  # issue 15's acceptance: GRU1 and GRU2 at most 1 point behind GRU on the rows

# the recurrent layer's parameters: (formula as the paper writes it, its value at n, m); Dey & Salem §3 for the
# GRUs, the references' as rnnlab lays them out (torch.nn's two bias vectors; not in the paper)
PAPER_FORMULAS: dict[str, tuple[str, Callable[[int, int], int]]] = {
    "gru_v3": ("3(n² + nm + n)", lambda n, m: 3 * (n * n + n * m + n)),
    "gru1": ("3(n² + n) + nm", lambda n, m: 3 * (n * n + n) + n * m),
    "gru2": ("3n² + nm + n", lambda n, m: 3 * n * n + n * m + n),
    "gru3": ("n² + nm + 3n", lambda n, m: n * n + n * m + 3 * n),
    "lstm": ("4(n² + nm + 2n)", lambda n, m: 4 * (n * n + n * m + 2 * n)),
    "elman_tanh": ("n² + nm + 2n", lambda n, m: n * n + n * m + 2 * n),
}

# measured before choosing the budget (one thread, batch 32, two other trainings on the 2 cores): forward +
# backward + RMSprop update, milliseconds a step, best of 3 (pixels) or 11 (rows), median of 30 (sentences)
TIME_PER_STEP_MS = {
    "rows": {"gru_v3": 3.8, "gru1": 3.6, "gru2": 3.6, "gru3": 2.3, "lstm": 2.2, "elman_tanh": 1.9},
    "pixels": {"gru_v3": 127.4, "gru1": 107.8, "gru2": 96.2, "gru3": 70.8, "lstm": 93.1, "elman_tanh": 47.9},
    "sentences": {"gru_v3": 12.5, "gru1": 12.7, "gru2": 12.2, "gru3": 10.8, "lstm": 16.8, "elman_tanh": 6.4},
}


@dataclass(frozen=True)
class Arm:
    """One model trained on a data set: a cell at a learning rate."""

    cell: str
    rate: float = RATE

    @property
    def key(self) -> str:  # in run directories
        return self.cell if self.rate == RATE else f"{self.cell}-lr{self.rate:g}"

    @property
    def label(self) -> str:
        return LABELS[self.cell] + ("" if self.rate == RATE else f" at η = {self.rate:g}")


@dataclass(frozen=True)
class DataSet:
    """A data set of the study: its task and settings, budget, seeds, the models it trains."""

    key: str  # rows | pixels | sentences: in run directories and pictures
    label: str  # names the runs, e.g. "Rows"
    title: str  # the table's heading; "{images}" stands for the image set's name
    task: str
    settings: tuple[str, ...]  # what every run of the data set sets, beside the model and the seed
    input_size: int  # m in the paper's formulas
    examples: int  # training examples (an epoch is examples / BATCH steps)
    epochs: int
    seeds: int
    minutes: float  # a run's wall-time cap (a guard: the steps end every run well before it on this machine)
    eval_every: int
    arms: tuple[Arm, ...]
    needs: tuple[str, ...]
    quick: tuple[str, ...]  # settings under --quick
    quick_cells: tuple[str, ...]  # the cells trained under --quick (seed 0, at the base rate)
    quick_target: tuple[str, float] | None  # what a quick run must reach (chance stated beside)
    chance: float
    paper: dict  # arm key -> the paper's finding, as text (MNIST or IMDB)

    @property
    def steps(self) -> int:
        return round(self.epochs * self.examples / BATCH)

    def run_settings(self, arm: Arm, seed: int) -> list[str]:
        return [*self.settings, f"model.hidden_size={HIDDEN}", "train.optimizer=rmsprop", f"train.lr={arm.rate:g}",
                f"train.batch_size={BATCH}", f"train.steps={self.steps}", f"train.eval_every={self.eval_every}",
                f"train.max_minutes={self.minutes:g}", f"train.seed={seed}"]


ALL = tuple(Arm(cell) for cell in (*VARIANTS, *REFERENCES))
_SENTENCE_FILES = ", ".join(f'"{path}"' for path in SENTIMENT_FILES)
_SAME = "as accurate as GRU on MNIST and IMDB (abstract)"
DATASETS = (
    DataSet("rows", "Rows", "{images} read row by row: 28 steps of m = 28", "seq_image",
            ("task.path={fashion}", "task.by=rows", "train.eval_size=10000"), input_size=28, examples=60_000,
            epochs=10, seeds=3, minutes=8, eval_every=1875, arms=ALL, needs=FASHION_FILES,
            # measured (seed 0, 500 steps, 2,000 test images): GRU 0.700, GRU1 0.672, GRU2 0.697, GRU3 0.632, LSTM
            # 0.724, Elman 0.645
            quick=("train.steps=500", "train.eval_every=250", "train.eval_size=2000", "train.max_minutes=0.5"),
            quick_cells=(*VARIANTS, *REFERENCES),
            quick_target=(">=", 0.5), chance=0.1,  # chance: 0.1 (ten classes)
            paper={arm.key: _SAME for arm in ALL if arm.cell in VARIANTS}),
    DataSet("pixels", "Pixels", "{images} read pixel by pixel: 784 steps of m = 1", "seq_image",
            ("task.path={fashion}", "task.by=pixels", "train.eval_size=10000"), input_size=1, examples=60_000,
            epochs=2, seeds=1, minutes=25, eval_every=750,
            arms=(*ALL[:4], Arm("gru3", LOWERED_RATE), *ALL[4:]), needs=FASHION_FILES,
            # 30 steps of 784 pixels: measured 0.315 on 200 test images (chance 0.1); judged at twice chance
            quick=("train.steps=30", "train.eval_every=15", "train.eval_size=200", "train.log_every=5",
                   "train.max_minutes=0.4"),
            quick_cells=("gru_v3",), quick_target=(">=", 0.2), chance=0.1,
            paper={"gru_v3": "the reference of Table II", "gru1": "almost as well as GRU (Table II, Figs. 1–2)",
                   "gru2": "almost as well as GRU (Table II, Figs. 1–2)",
                   "gru3": "not as well at the base η (Table II)",
                   f"gru3-lr{LOWERED_RATE:g}": "59.6% after 100 epochs, still rising (Fig. 3)"}),
    DataSet("sentences", "Sentences", "Labelled sentences (Amazon, IMDb, Yelp) read word by word: m = 128",
            "sentiment", (f"task.path=[{_SENTENCE_FILES}]", f"model.embedding_size={EMBEDDING}",
                          "model.bidirectional=false", "model.pooling=last", "train.weight_decay=0"),
            input_size=EMBEDDING, examples=2_400, epochs=20, seeds=3, minutes=4, eval_every=75, arms=ALL,
            needs=SENTIMENT_FILES,
            # measured (seed 0, 300 steps): GRU 0.787, GRU1 0.752, GRU2 0.758, GRU3 0.757
            quick=("train.steps=300", "train.max_minutes=0.4"), quick_cells=VARIANTS, quick_target=(">=", 0.6),
            chance=0.5,  # two classes
            paper={arm.key: "as accurate as GRU on IMDB (abstract)" for arm in ALL if arm.cell in VARIANTS}),
)


def _runs() -> list[Run]:
    runs = []
    for data in DATASETS:
        for arm in data.arms:
            for seed in range(data.seeds):
                quick = seed == 0 and arm.rate == RATE and arm.cell in data.quick_cells
                runs.append(Run(f"{data.label}, {arm.label}, seed {seed}", data.task, arm.cell,
                                data.run_settings(arm, seed), "accuracy", None, quick=data.quick if quick else (),
                                needs=data.needs, directory=f"{data.key}-{arm.key}-s{seed}", in_quick=quick,
                                quick_target=data.quick_target if quick else None))
    return runs


# ---- reading the runs back -------------------------------------------------------------------------------

def curve(run_dir: str | Path, examples: int) -> list[tuple[float, float]]:
    """(epochs, held-out accuracy) at every evaluation of the run in ``run_dir`` (its metrics.jsonl and
    config.json); [] when it has none."""
    import json

    run_dir = Path(run_dir)
    try:
        batch = json.loads((run_dir / "config.json").read_text())["train"]["batch_size"]
        lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    except (OSError, ValueError, KeyError):
        return []
    found = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:  # a line cut short by a crash
            continue
        if "eval_accuracy" in record:
            found.append((record["step"] * batch / examples, record["eval_accuracy"]))
    return found


def spread(values: list[float]) -> dict:
    """Mean, standard deviation (None for one value), min and max of ``values`` (non-empty)."""
    return {"mean": statistics.fmean(values), "sd": statistics.stdev(values) if len(values) > 1 else None,
            "min": min(values), "max": max(values), "n": len(values)}


def recurrent_parameters(model) -> int:
    """The parameters of the model's recurrent layer (what the paper's formulas count)."""
    return sum(p.numel() for p in model.recurrent.parameters())


def step_seconds(model, task, *, rate: float, repeats: int) -> float:
    """Seconds of one training step (forward, backward, RMSprop update) on a batch of BATCH training
    sequences of ``task``: the best of ``repeats`` after one to warm up."""
    import torch
    import torch.nn.functional as F

    optimizer = torch.optim.RMSprop(model.parameters(), lr=rate)
    batch = task.sample(BATCH, torch.Generator().manual_seed(0))
    best = math.inf
    for attempt in range(repeats + 1):
        start = time.perf_counter()
        logits, _ = model(batch.inputs, batch.lengths)  # (B, classes)
        loss = F.cross_entropy(logits, batch.targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if attempt:
            best = min(best, time.perf_counter() - start)
    return best


def _image_set(settings: list[str]) -> str:
    """The images' name for the tables: Fashion-MNIST when the directory says so, else the directory."""
    path = next((text.split("=", 1)[1] for text in settings if text.startswith("task.path=")), "")
    return "Fashion-MNIST" if "fashion" in path.lower() else f"the IDX images of {path}"


def _cells(data: DataSet, arms: list[Arm], settings: list[str], context: Measuring) -> dict:
    """cell -> (recurrent parameters, all parameters, seconds per step), each model built as its runs build it."""
    import torch

    from .. import runs

    repeats = 1 if context.steps is not None else 2 if data.key == "pixels" else 10
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        config = runs.compose_config(data.task, model=arms[0].cell, overrides=settings)[0]
        task = runs.build_task(config)
        found = {}
        for cell in dict.fromkeys(arm.cell for arm in arms):
            model = runs.build_model(runs.compose_config(data.task, model=cell, overrides=settings)[0], task)
            found[cell] = (recurrent_parameters(model), sum(p.numel() for p in model.parameters()),
                           step_seconds(model, task, rate=RATE, repeats=repeats))
            context.log(f"gate_variants, {data.key}, {cell}: {found[cell][0]:,} recurrent parameters, "
                        f"{1000 * found[cell][2]:.1f} ms a step (best of {repeats}, 1 thread)")
    finally:
        torch.set_num_threads(threads)
    return found


def measure(context: Measuring) -> list[dict]:
    """Per data set: a row per model (mean held-out accuracy over its seeds) with the table, the points each
    variant is behind GRU, and the picture; then the paragraph of findings on the last row."""
    from .gate_variants_pictures import Series, plot_curves

    by_dir = {Path(row["run_dir"]).name: row for row in context.rows if row.get("run_dir")}
    rows, findings = [], {}
    for data in DATASETS:
        arms = [arm for arm in data.arms if any(f"{data.key}-{arm.key}-s{s}" in by_dir for s in range(data.seeds))]
        found = {arm.key: [by_dir[f"{data.key}-{arm.key}-s{s}"] for s in range(data.seeds)
                           if f"{data.key}-{arm.key}-s{s}" in by_dir] for arm in arms}
        done = {key: [row for row in runs if row["value"] is not None] for key, runs in found.items()}
        first = next((runs[0] for runs in found.values() if runs), None)
        if first is None:
            continue
        skipped = first["skipped"]
        name = _image_set(first["settings"]) if data.task == "seq_image" else ""
        cells = {} if skipped else _cells(data, arms, first["settings"], context)
        stats = {key: spread([row["value"] for row in runs]) for key, runs in done.items() if runs}
        pictures = []
        series = [Series(f"{arm.label} ({cells[arm.cell][0]:,} parameters)" if arm.cell in cells else arm.label,
                         arm.cell, tuple(tuple(curve(row["run_dir"], data.examples)) for row in done[arm.key]),
                         lowered=arm.rate != RATE) for arm in arms if done[arm.key]]
        if series:
            title = data.title.format(images=name) + f"; n = {HIDDEN}, RMSprop, batch {BATCH}"
            path = plot_curves(series, context.picture(f"curves-{data.key}"), title=title, chance=data.chance)
            pictures.append(context.relative(path))
        table = _table(data, arms, stats, cells, name, quick=context.quick)
        for index, arm in enumerate(arms):
            stat = stats.get(arm.key)
            parameters = cells.get(arm.cell, (None, None, None))
            formula, value = PAPER_FORMULAS[arm.cell]
            runs_of = found[arm.key]
            note = runs_of[0]["note"] if skipped else None if stat else "no run of this model has finished"
            rows.append(measured_row(
                f"{data.label}: {arm.label}, mean of the seeds", arm.cell,
                f"held-out accuracy, mean of {stat['n'] if stat else 0} seed(s)", stat["mean"] if stat else None,
                quick=context.quick, task=data.task, skipped=skipped or not stat, note=note,
                settings=[f"{data.label}: the runs above, read back; parameters counted on the built models; seconds "
                          f"per 1,000 steps: forward, backward and RMSprop update of a batch of {BATCH}, one "
                          "thread, best of 10 (pixels: 2)"] if index == 0 else [],
                pictures=pictures if index == 0 else [], table=table if index == 0 else None,
                steps=runs_of[0]["steps"] if runs_of else None, data_set=data.key, arm=arm.key, rate=arm.rate,
                seeds=stat["n"] if stat else 0, sd=stat and stat["sd"], min=stat and stat["min"],
                max=stat and stat["max"], values=[row["value"] for row in done[arm.key]],
                recurrent_parameters=parameters[0], parameters=parameters[1],
                paper_formula=formula, paper_parameters=value(HIDDEN, data.input_size),
                seconds_per_1000_steps=None if parameters[2] is None else 1000 * parameters[2],
                paper=data.paper.get(arm.key)))
        gru = stats.get("gru_v3")
        for arm in arms:
            if arm.cell not in ("gru1", "gru2", "gru3") or arm.rate != RATE:
                continue
            stat = stats.get(arm.key)
            behind = None if not (gru and stat) else 100 * (gru["mean"] - stat["mean"])
            judged = data.key == "rows" and arm.cell in ("gru1", "gru2")
            target = ("<=", WITHIN_POINTS) if judged else None
            findings[(data.key, arm.cell)] = behind
            rows.append(measured_row(
                f"{data.label}: {arm.label} behind GRU", arm.cell, "points of mean held-out accuracy behind GRU",
                behind, quick=context.quick, task=data.task, target=target, skipped=behind is None,
                note=None if behind is not None else "GRU or the variant has no finished run", data_set=data.key,
                arm=arm.key))
        if gru and not context.quick:
            findings[(data.key, "budget")] = f"{gru['n']} seed{'s' if gru['n'] > 1 else ''}, {data.epochs} epochs"
        if data.key == "pixels" and "gru3" in stats and f"gru3-lr{LOWERED_RATE:g}" in stats:
            findings[("pixels", "lowered")] = 100 * (stats[f"gru3-lr{LOWERED_RATE:g}"]["mean"] - stats["gru3"]["mean"])
        for cell in ("gru1", "gru2", "gru3"):
            if cell in cells and "gru_v3" in cells:
                findings[(data.key, cell, "time")] = cells[cell][2] / cells["gru_v3"][2]
    if rows:
        rows[-1]["table"] = (rows[-1].get("table") or "") + "\n\n" + findings_paragraph(findings, quick=context.quick)
    return rows


def _table(data: DataSet, arms: list[Arm], stats: dict, cells: dict, name: str, *, quick: bool) -> str:
    """The data set's Markdown table: parameters beside the paper's formula, accuracy, time, the paper's finding."""
    heading = data.title.format(images=name)
    budget = (f"{data.epochs} epochs ({data.steps:,} steps of {BATCH}), {data.seeds} seed(s)" if not quick
              else "quick budget (see the quick changes)")
    lines = [f"**{heading}** (n = {HIDDEN}; {budget}):", "",
             f"| model | parameters, recurrent layer | the paper's formula, n = {HIDDEN}, m = {data.input_size} | "
             "held-out accuracy, mean ± sd (min–max) | seconds per 1,000 steps | the paper |",
             "| --- | ---: | --- | --- | ---: | --- |"]
    for arm in arms:
        formula, value = PAPER_FORMULAS[arm.cell]
        recurrent, total, seconds = cells.get(arm.cell, (None, None, None))
        stat = stats.get(arm.key)
        if stat is None:
            accuracy = "not run"
        else:
            sd = "" if stat["sd"] is None else f" ± {stat['sd']:.3f} ({stat['min']:.3f}–{stat['max']:.3f})"
            accuracy = f"{stat['mean']:.3f}{sd}, {stat['n']} seed{'s' if stat['n'] > 1 else ''}"
        lines.append(" | ".join(["", arm.label, "" if recurrent is None else f"{recurrent:,} (all: {total:,})",
                                 f"{formula} = {value(HIDDEN, data.input_size):,}"
                                 + ("" if arm.cell in VARIANTS else " (rnnlab's layout, not the paper's)"), accuracy,
                                 "" if seconds is None else f"{1000 * seconds:.1f}", data.paper.get(arm.key, "–"),
                                 ""]).strip())
    return "\n".join(lines)


def findings_paragraph(findings: dict, *, quick: bool = False) -> str:
    """Which of the paper's conclusions hold on this data and which do not, from the measured figures:
    ``findings[(data_set, cell)]`` points behind GRU, ``[("pixels", "lowered")]`` the points GRU3 gains at
    η = 1e-4, ``[(data_set, cell, "time")]`` a variant's time per step over GRU's, ``[(data_set, "budget")]``
    the seeds and epochs behind the figures, as text."""
    names = {"rows": "the rows", "pixels": "the pixels", "sentences": "the sentences"}
    said = []
    if quick:
        said.append("(Quick budget: a few hundred steps, one seed; the figures below show that the pipeline works, "
                    "not the paper's conclusions.)")

    def gap(points: float) -> str:
        return f"{abs(points):.1f} points {'behind' if points > 0 else 'ahead of'} GRU"

    for key in ("rows", "pixels", "sentences"):
        pair = [(cell, findings.get((key, cell))) for cell in ("gru1", "gru2")]
        pair = [(cell, points) for cell, points in pair if points is not None]
        if pair:
            parts = ", ".join(f"{LABELS[cell]} {gap(points)}" for cell, points in pair)
            if all(abs(points) <= WITHIN_POINTS for _, points in pair):
                verdict = f"within {WITHIN_POINTS:g} point: the paper's conclusion holds"
            elif all(points <= WITHIN_POINTS for _, points in pair):
                verdict = (f"none more than {WITHIN_POINTS:g} point behind, but not a tie: GRU itself is behind in "
                           "this budget, so the paper's conclusion holds only in that the variants lose nothing")
            else:
                verdict = f"more than {WITHIN_POINTS:g} point behind: the paper's conclusion does not hold here"
            budget = findings.get((key, "budget"))
            said.append(f"On {names[key]}{f' ({budget})' if budget else ''}, {parts}: {verdict}.")
    rows3, pixels3 = findings.get(("rows", "gru3")), findings.get(("pixels", "gru3"))
    if rows3 is not None and pixels3 is not None:
        holds = pixels3 > rows3 and pixels3 > WITHIN_POINTS
        said.append(f"GRU3 is {gap(rows3)} on the rows and {gap(pixels3)} on the pixels: "
                    + ("it lags on the long sequences, as the paper found." if holds else
                       "the paper's finding that it lags most on the long sequences does not show here."))
    lowered = findings.get(("pixels", "lowered"))
    if lowered is not None:
        said.append(f"On the pixels η = {LOWERED_RATE:g} moves GRU3 {abs(lowered):.1f} points "
                    f"{'up' if lowered > 0 else 'down'} against η = {RATE:g} "
                    + ("(the paper: the lowered rate lets GRU3 learn, Fig. 3)." if lowered > 0 else
                       "within this budget: the paper's gain from the lowered rate came over 100 epochs, "
                       "and 2 epochs at a tenth of the rate do not show it."))
    times = {key: findings.get((key, "gru3", "time")) for key in ("rows", "pixels", "sentences")}
    if any(value is not None for value in times.values()):
        shown = ", ".join(f"{names[key]} {value:.2f}" for key, value in times.items() if value is not None)
        said.append(f"Fewer parameters, less time: a GRU3 step takes this fraction of a GRU step ({shown}); GRU1 and "
                    "GRU2 save the input projection of the gates, which rnnlab computes for all steps at once, so "
                    "they save less.")
    sentences3 = findings.get(("sentences", "gru3"))
    if sentences3 is not None:
        said.append(f"On the sentences GRU3 is {gap(sentences3)} "
                    + ("(the paper: all three variants as accurate on IMDB; holds)." if sentences3 <= WITHIN_POINTS
                       else "(the paper: all three variants as accurate on IMDB; does not hold for GRU3 here)."))
    return "**Where the paper's conclusions hold on this data.** " + " ".join(said)


EXPERIMENT = Experiment(
    name="gate_variants",
    title="GRU gate variants: GRU1, GRU2, GRU3 against GRU (Dey & Salem 2017)",
    description=(
        "Dey & Salem's GRU (`gru_v3`) and its three gate variants (`gru1`: gates read h and a bias; `gru2`: h only; "
        "`gru3`: a bias only), with `lstm` and `elman_tanh` as references: one layer of n = 100 units read out at the "
        "last step, RMSprop at the paper's constant base rate η = 1e-3 (GRU3 on pixels also at its lowered 1e-4, "
        "Fig. 3), batches of 32, on images read row by row (28 steps of 28 pixels: 10 epochs, 3 seeds), pixel by "
        "pixel (784 steps of 1: 2 epochs, 1 seed, where the paper trained 100) and on labelled sentences (the "
        "offline stand-in for IMDB: 20 epochs of 2,400 sentences, 3 seeds, embedding m = 128); held-out accuracy "
        "of the final checkpoint (the 10,000 test images; the 600 held-out sentences). The images are "
        "Fashion-MNIST (`--fashion DIR`), MNIST when `--fashion` names MNIST's IDX files. A table per data set "
        "follows the common one: the recurrent layer's parameters counted on the built models beside the paper's "
        "formulas, accuracy as mean ± sd (min–max) over the seeds, seconds per 1,000 training steps (one thread), "
        "the paper's finding; then which of its conclusions hold here."),
    runs=_runs(),
    measure=measure,
    quick_note=("Quick mode trains seed 0 only: every model 500 steps on the rows, the four GRUs 300 steps on the "
                "sentences, and GRU alone 30 steps on the pixels (reported: 784-step sequences, barely past chance "
                "in that time); the tables and the paragraph then describe that budget, not the paper's."),
)
