"""Running an experiment's runs and reporting them: shared by every module of ``rnnlab.reproduce``.

An experiment is a list of ``Run``s, each ``rnnlab train TASK --model CELL --set ...`` with the
metric it is judged by, the published target (or None: reported only) and the quick target that its
quick settings must reach to show learning (or None).  ``run_experiment`` trains them one after the
other into

    OUT/EXPERIMENT/RUN/               a run directory (DESIGN.md; RUN is Run.directory), full budget
    OUT/EXPERIMENT/quick/RUN/         the same run with its quick settings (--quick)
    OUT/EXPERIMENT/results.json       one object per run: RESULT_KEYS (``met`` judges ``target``, under
                                      --quick ``quick_target``), and ``note`` (why it was skipped,
                                      or its error), ``settings`` (of the full run), ``quick_changes``
                                      ("key full → quick"), ``pictures`` (paths from OUT/EXPERIMENT)
    OUT/EXPERIMENT/report.md          the experiment's section: table, settings, pictures

A run may carry ``Evaluation``s: after it trains (or is found finished), each scores its final
checkpoint at other task settings (``rnnlab eval RUN_DIR --set ... --plots``; e.g. copy at
length 120 after training on 1..20) and adds a row to the table and to results.json: the run's
name + " at " + the label, the run's metric, steps and minutes, ``evaluation`` (the label),
``settings`` (its overrides), and ``pictures`` drawn in RUN_DIR/plots/eval-<overrides>.

An experiment may also *measure* (``Experiment.measure``): a function called after its runs with a
``Measuring`` (the experiment's folder, the mode, the rows of its runs) that computes what no training
run reports by itself (e.g. gradient flow on the runs' checkpoints) and returns more rows, each made by
``measured_row``: the same keys, judged the same way, in the same table; its pictures are its own.

``write_report`` gathers the sections of every experiment found in OUT into OUT/report.md,
pictures linked relative to it.  Quick runs live apart from full ones so that neither ever
continues the other (their schedules and evaluation sets differ).

A run directory that already holds the same run is used again: a finished run (its summary
reached the budget) is read as it is, an unfinished one is resumed, and a longer budget
(``train.steps``, ``train.max_minutes``) continues it, as ``rnnlab train --resume`` does.  A
run directory that holds a run with other settings is left alone and reported as an error.

Quick mode is judged on quick targets: each states what its budget must show (e.g. an mse well below
the trivial answer's, an accuracy above chance by a margin), ``met`` judges it, the full target stands
beside it, and a miss makes ``rnnlab reproduce --quick`` exit 1 like an error.

Runs that read files name them with ``{data}`` and ``{fashion}`` in their settings; one whose
directory was not given, or lacks a file, is skipped and the report says which option gives it.
Without ``--data``, ``rnnlab reproduce`` reads the repository's own data/ folder (``shipped_data``).
"""

from __future__ import annotations

import datetime
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from ..config import TARGET_OPS

RESULT_KEYS = ("run", "task", "model", "metric", "value", "target", "quick_target", "met", "steps", "minutes",
               "run_dir", "quick", "skipped")
BUDGET_KEYS = ("train.steps", "train.max_minutes")  # what may change between sessions of one run
EARLY_STOPS = ("target", "patience")  # summary.json's "stopped" of a run that ended before its budget
DATA_OPTIONS = {  # the placeholder in a run's settings -> the option that fills it in
    "data": "--data DIR (the directory holding tinyshakespeare.txt and sentiment/*.txt)",
    "fashion": "--fashion DIR (the Fashion-MNIST IDX files; Debian's dataset-fashion-mnist installs them in "
               "/usr/share/datasets/fashion-mnist)",
}
# the repository's data/ (tinyshakespeare.txt, sentiment/*.txt), beside src/ when rnnlab is installed from a
# clone with `pip install -e` (this file is ROOT/src/rnnlab/reproduce/runner.py); see shipped_data
SHIPPED_DATA = Path(__file__).resolve().parents[3] / "data"
QUICK_NOTE = "quick budget: judged on quick targets"
SMOKE_EVAL_SIZE = 32  # held-out sequences per evaluation under the hidden --steps cap (tests)
SMOKE_EVAL_EVERY = 10  # steps between evaluations under --steps (the same whatever the cap, so a larger cap resumes)
_FINISHED_SLACK_SECONDS = 2.0  # a run stopped by max_minutes ends a little before the minute is full


@dataclass(frozen=True)
class Evaluation:
    """A generalisation test of a run: its final checkpoint scored at other task settings,
    ``rnnlab eval RUN_DIR --set OVERRIDES --plots`` (the held-out set of the run's size and seed).

    ``overrides`` are ``task.*`` settings (and ``train.eval_size``, the held-out set's size: long streams
    may need fewer); ``metric`` the figure read (default: the run's metric);
    ``target`` is ``(op, value)`` on it, or None (reported only).  ``quick``, when given, are the overrides used instead of ``overrides``
    under --quick (whose runs train on shorter sequences), ``quick_label`` the label then, and
    ``quick_target`` what judges the evaluation then (None: reported).
    """

    label: str  # e.g. "length 120": the row is named "RUN at LABEL"
    overrides: tuple[str, ...]
    target: tuple[str, float] | None = None
    quick: tuple[str, ...] | None = None  # overrides under --quick (instead of overrides); None: the same
    quick_label: str = ""  # the label under --quick; default: label
    quick_target: tuple[str, float] | None = None  # judges the evaluation under --quick; None: reported
    metric: str = ""  # the metric the evaluation reads and judges; default: the run's

    def __post_init__(self) -> None:
        object.__setattr__(self, "overrides", tuple(self.overrides))
        if self.quick is not None:
            object.__setattr__(self, "quick", tuple(self.quick))
        if not self.quick_label:
            object.__setattr__(self, "quick_label", self.label)
        for text in (*self.overrides, *(self.quick or ())):
            if not (text.startswith("task.") or text.startswith("train.eval_size=")):
                raise ValueError(f"evaluation {self.label}: overrides must be task.* settings (or train.eval_size, "
                                 f"the held-out set's size); got {text!r}")
        object.__setattr__(self, "target", _check_target(f"evaluation {self.label}", self.target))
        object.__setattr__(self, "quick_target", _check_target(f"evaluation {self.label}", self.quick_target))

    def settings(self, *, quick: bool) -> list[str]:
        return list(self.quick if quick and self.quick is not None else self.overrides)

    def name(self, *, quick: bool) -> str:
        return self.quick_label if quick else self.label

    def judged_by(self, *, quick: bool) -> tuple[str, float] | None:
        """The target that judges the evaluation: ``quick_target`` under --quick, else ``target``."""
        return self.quick_target if quick else self.target

    def met(self, value: float, *, quick: bool = False) -> bool | None:
        return _met(self.judged_by(quick=quick), value)


@dataclass(frozen=True)
class Run:
    """One training run of an experiment: ``rnnlab train TASK --model CELL --set OVERRIDES``.

    ``overrides`` are ``section.key=value`` settings, in which ``{data}`` and ``{fashion}``
    stand for the directories given by ``--data`` and ``--fashion``; ``quick`` are applied
    after them under ``--quick``.  ``target`` is ``(op, value)`` with op one of <, <=, >=, >,
    or None for a run that is only reported; ``quick_target`` is the same for the quick settings,
    what their budget must reach to show learning (its comment states the trivial answer or chance
    it must beat), judged under ``--quick`` in place of ``target``.  ``needs`` are the files the run
    reads, written with the same placeholders (an IDX file may also be there with .gz appended).  ``directory``
    names its run directory in OUT/EXPERIMENT (OUT/EXPERIMENT/quick under --quick).
    ``evaluations`` score the trained run at other task settings (``Evaluation``), in quick mode
    too unless ``quick_evaluations`` is False (their rows are then skipped).  A run with
    ``in_quick`` False belongs to the full budget only: --quick leaves it out (no row).
    """

    name: str
    task: str
    model: str
    overrides: tuple[str, ...]
    metric: str
    target: tuple[str, float] | None
    quick: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    directory: str = ""  # the run directory's name in OUT/EXPERIMENT; default: the name in lower case, dashed
    evaluations: tuple[Evaluation, ...] = ()
    quick_evaluations: bool = True  # False: under --quick the evaluations are skipped
    quick_target: tuple[str, float] | None = None  # judges the run under --quick; None: reported
    in_quick: bool = True  # False: a run of the full budget only, left out under --quick

    def __post_init__(self) -> None:
        for name in ("overrides", "quick", "needs", "evaluations"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if not self.directory:
            object.__setattr__(self, "directory", _slug(self.name))
        object.__setattr__(self, "target", _check_target(f"run {self.name}", self.target))
        object.__setattr__(self, "quick_target", _check_target(f"run {self.name}", self.quick_target))
        for quick in (False, True):
            labels = [evaluation.name(quick=quick) for evaluation in self.evaluations]
            if len(set(labels)) != len(labels):
                raise ValueError(f"run {self.name}: evaluation labels must differ; got {labels}")

    @property
    def sources(self) -> list[str]:
        """The data options (keys of DATA_OPTIONS) this run needs."""
        text = " ".join((*self.overrides, *self.needs))
        return [option for option in DATA_OPTIONS if "{" + option + "}" in text]

    def settings(self, *, quick: bool, data: Path | None = None, fashion: Path | None = None) -> list[str]:
        """The run's overrides (then its quick ones), ``{data}`` and ``{fashion}`` filled in."""
        return [_fill(text, data=data, fashion=fashion) for text in (*self.overrides, *(self.quick if quick else ()))]

    def judged_by(self, *, quick: bool) -> tuple[str, float] | None:
        """The target that judges the run: ``quick_target`` under --quick, else ``target``."""
        return self.quick_target if quick else self.target

    def met(self, value: float, *, quick: bool = False) -> bool | None:
        return _met(self.judged_by(quick=quick), value)

    def rows(self, *, quick: bool) -> list[str]:
        """The names of the run's rows: its own, then one per evaluation ("RUN at LABEL")."""
        return [self.name] + [f"{self.name} at {evaluation.name(quick=quick)}" for evaluation in self.evaluations]


def _check_target(what: str, target) -> tuple[str, float] | None:
    if target is None:
        return None
    try:
        op, value = target
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: a target is (operator, number), e.g. ('<', 0.01); got {target!r}") from None
    if op not in TARGET_OPS:
        raise ValueError(f"{what}: target operator must be one of {', '.join(TARGET_OPS)}; got {op!r}")
    return op, value


def _met(target: tuple[str, float] | None, value: float) -> bool | None:
    if target is None:
        return None
    op, bound = target
    return TARGET_OPS[op](float(value), bound)


@dataclass(frozen=True)
class Measuring:
    """What ``Experiment.measure`` is given: where it writes, the mode, the rows of the runs."""

    folder: Path  # OUT/EXPERIMENT: pictures go here (paths in rows are relative to it)
    quick: bool
    steps: int | None  # the hidden --steps cap (smoke tests): measurements that train keep to it too
    rows: tuple[dict, ...]  # the rows of the experiment's runs and evaluations, as results.json holds them
    log: Callable[[str], None]

    def picture(self, name: str) -> Path:
        """Where the picture ``name`` goes: OUT/EXPERIMENT[/quick]/NAME.png."""
        return self.folder / ("quick" if self.quick else "") / f"{name}.png"

    def relative(self, path: Path) -> str:
        """``path`` as the rows give it: relative to OUT/EXPERIMENT."""
        return path.relative_to(self.folder).as_posix()


@dataclass(frozen=True)
class Experiment:
    """A published experiment: its runs and a paragraph of Markdown for the report.

    ``measure``, when given, is called after the runs (``Measuring``) and returns more rows
    (``measured_row``), which follow the runs' in results.json and in the table."""

    name: str
    title: str  # the section's heading, e.g. "Long time lags (Hochreiter & Schmidhuber 1997)"
    description: str  # Markdown: what is trained, how it is scored
    runs: tuple[Run, ...] = field(default_factory=tuple)
    quick_note: str = ""  # Markdown: why quick mode changes a task's settings, where it does
    measure: Callable[[Measuring], list[dict]] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "runs", tuple(self.runs))
        for quick in (False, True):
            names = [name for run in self.runs for name in run.rows(quick=quick)]
            if len(set(names)) != len(names):
                raise ValueError(f"experiment {self.name}: run names (with their evaluations) must differ; got {names}")


# ---- running -------------------------------------------------------------------------------------

def run_experiment(experiment: Experiment, out: str | Path, *, quick: bool = False, data: str | Path | None = None,
                   fashion: str | Path | None = None, steps: int | None = None,
                   log: Callable[[str], None] | None = None) -> list[dict]:
    """Train (or reuse) every run of ``experiment`` into OUT/EXPERIMENT, score its evaluations, and
    write its results.json and report.md; returns the rows of results.json (a run's row, then one per
    evaluation).  ``steps`` caps every budget and shrinks the evaluations (smoke tests).  Progress
    goes to ``log`` (default: stderr)."""
    from .. import runs
    from ..config import ConfigError, one_line
    from ..data.errors import DataError
    from ..training.trainer import TrainingError

    log = log or _stderr
    folder = Path(out) / experiment.name
    places = {"data": _absolute(data), "fashion": _absolute(fashion)}
    rows = []
    selected = [run for run in experiment.runs if run.in_quick or not quick]
    for number, run in enumerate(selected, 1):
        run_dir = folder / ("quick" if quick else "") / run.directory
        settings = run.settings(quick=quick, **places)
        row = {"run": run.name, "task": run.task, "model": run.model, "metric": run.metric, "value": None,
               "target": _listed(run.target), "quick_target": _listed(run.quick_target), "met": None, "steps": None,
               "minutes": None, "run_dir": str(run_dir), "quick": quick, "skipped": False, "note": None,
               "settings": run.settings(quick=False, **places),
               "quick_changes": _quick_changes(run, places) if quick else [], "pictures": []}
        rows.append(row)
        head = f"[{number}/{len(selected)}] {experiment.name}: {run.name}"
        missing = _missing_data(run, places)
        if missing:
            row.update(skipped=True, note=missing)
            log(f"{head}: skipped, {missing}")
        else:
            try:
                config = _configure(run, settings, steps)
                log(f"{head} ({run.task}, {run.model}; {_budget(config)}{', quick' if quick else ''}) -> {run_dir}")
                summary, reused = _train_or_reuse(runs, config, run_dir, log)
            except (ConfigError, DataError, runs.RunError, TrainingError) as error:
                row["note"] = f"error: {one_line(error)}"
                log(f"{head}: {row['note']}")
            else:
                value = summary[run.metric]
                row.update(value=value, met=run.met(value, quick=quick), steps=summary["step"],
                           minutes=round(summary["seconds"] / 60, 2), pictures=_pictures(run, run_dir, folder))
                log(f"{head}: {run.metric} {value:.4g}{_target(run, quick)} after {row['steps']} steps, "
                    f"{_minutes(row['minutes'])} min" + (" (finished before: read its summary.json)" if reused else ""))
        rows += _evaluate(runs, run, row, folder, head, quick=quick, log=log)
    if experiment.measure is not None:
        rows += experiment.measure(Measuring(folder, quick, steps, tuple(rows), log))
        names = [row["run"] for row in rows]
        if len(set(names)) != len(names):
            raise ValueError(f"experiment {experiment.name}: measured rows must be named apart from the runs and "
                             f"each other; got {names}")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(rows, indent=1) + "\n")
    (folder / "report.md").write_text(render_section(experiment, rows, base=""))
    return rows


def _evaluate(runs, run: Run, parent: dict, folder: Path, head: str, *, quick: bool, log) -> list[dict]:
    """The rows of ``run``'s evaluations, ``parent`` being the run's row: each scores the run's final
    checkpoint at its settings and draws its pictures; skipped when the run was (or, under --quick,
    when the run says quick_evaluations=False), an error when the run stopped on one."""
    from ..config import ConfigError, one_line
    from ..data.errors import DataError

    rows = []
    run_dir = Path(parent["run_dir"])
    for evaluation in run.evaluations:
        label = evaluation.name(quick=quick)
        overrides = evaluation.settings(quick=quick)
        metric = evaluation.metric or run.metric
        row = {**parent, "run": f"{run.name} at {label}", "metric": metric, "value": None,
               "target": _listed(evaluation.target),
               "quick_target": _listed(evaluation.quick_target), "met": None, "note": None,
               "settings": evaluation.settings(quick=False),
               "quick_changes": _evaluation_changes(run, evaluation) if quick else [], "pictures": [],
               "evaluation": label}
        rows.append(row)
        name = f"{head} at {label}"
        if parent["skipped"]:
            row["note"] = parent["note"]
        elif quick and not run.quick_evaluations:
            row.update(skipped=True, note="not evaluated in quick mode")
        elif parent["value"] is None:
            row["note"] = "error: not evaluated, the run stopped on an error"
        if row["note"]:
            log(f"{name}: {'skipped, ' if row['skipped'] else ''}{row['note']}")
            continue
        plots = runs.eval_plots_directory(run_dir, overrides)
        cache = plots / EVALUATION_FILE
        summary = _cached_evaluation(cache, parent["steps"])
        if summary is None:
            try:
                summary = runs.evaluate(run_dir, overrides, log=log, plots=True)
            except (ConfigError, DataError, runs.RunError) as error:
                row["note"] = f"error: {one_line(error)}"
                log(f"{name}: {row['note']}")
                continue
            _cache_evaluation(cache, parent["steps"], summary)
        if metric not in summary:
            row["note"] = f"error: the evaluation gives no {metric} (it gives {', '.join(sorted(summary))})"
            log(f"{name}: {row['note']}")
            continue
        value = summary[metric]
        row.update(value=value, met=evaluation.met(value, quick=quick),
                   pictures=[path.relative_to(folder).as_posix() for path in sorted(plots.glob("*.png"))])
        log(f"{name} ({' '.join(overrides)}): {metric} {value:.4g}{_target(evaluation, quick)}")
    return rows


EVALUATION_FILE = "evaluation.json"  # beside an evaluation's pictures: its figures and the step they scored


def _cached_evaluation(path: Path, step) -> dict | None:
    """The figures of an evaluation made before of the same checkpoint (the run's final ``step``), else None:
    a battery run again (after an interruption) does not score every finished run's tests again."""
    try:
        cached = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return cached.get("summary") if isinstance(cached, dict) and cached.get("step") == step else None


def _cache_evaluation(path: Path, step, summary: dict) -> None:
    from ..training import checkpoint as ckpt

    path.parent.mkdir(parents=True, exist_ok=True)
    ckpt.write_text_atomically(path, json.dumps({"step": step, "summary": summary}, indent=1) + "\n")


def measured_row(name: str, model: str, metric: str, value: float | None, *, quick: bool, task: str = "",
                 target: tuple[str, float] | None = None, quick_target: tuple[str, float] | None = None,
                 settings: Sequence[str] = (), quick_changes: Sequence[str] = (), pictures: Sequence[str] = (),
                 steps: int | None = None, minutes: float | None = None, note: str | None = None,
                 skipped: bool = False, **extra) -> dict:
    """A row of ``Experiment.measure`` with the keys of a run's row (RESULT_KEYS, note, settings,
    quick_changes, pictures), judged like one: ``met`` by ``quick_target`` under --quick, else by
    ``target``; a ``note`` on a row that is not ``skipped`` is an error (exit code 1), on a skipped one
    it says why there is no value.  ``settings`` say how the figure was measured (one string each; the
    report lists them once, so give them on the first row of a measurement), ``quick_changes`` what
    quick mode changes in it; ``extra`` keys are kept beside (an extra ``table``, Markdown, is shown below the
    experiment's table in the report: e.g. a per-data-set table whose columns the common one lacks).
    ``measured`` is True."""
    target = _check_target(f"measurement {name}", target)
    quick_target = _check_target(f"measurement {name}", quick_target)
    judged = quick_target if quick else target
    met = None if value is None or note else _met(judged, value)
    return {"run": name, "task": task, "model": model, "metric": metric, "value": value, "target": _listed(target),
            "quick_target": _listed(quick_target), "met": met, "steps": steps, "minutes": minutes, "run_dir": None,
            "quick": quick, "skipped": skipped, "note": note, "settings": list(settings),
            "quick_changes": list(quick_changes), "pictures": list(pictures), "measured": True, **extra}


def failed(rows: Sequence[dict]) -> list[str]:
    """What makes ``rnnlab reproduce`` exit 1, one line each: runs that stopped on an error, and missed
    targets: in full mode the targets, in quick mode the quick targets."""
    problems = []
    for row in rows:
        if row["note"] and not row["skipped"]:
            problems.append(f"{row['run']}: {row['note']}")
        elif row["met"] is False:
            op, bound = row["quick_target"] if row["quick"] else row["target"]
            problems.append(f"{row['run']}: {row['metric']} {row['value']:.4g} misses "
                            f"{'the quick target ' if row['quick'] else ''}{op} {bound:g}")
    return problems


def _configure(run: Run, settings: list[str], steps: int | None):
    """The run's configuration as ``rnnlab train`` composes it: the task's recommendations, then ``settings``."""
    from ..config import apply_overrides
    from ..runs import compose_config

    config = compose_config(run.task, model=run.model, overrides=settings)[0]
    if steps is not None:  # the hidden --steps cap: a smoke test of the whole pipeline
        config = apply_overrides(config, [f"train.steps={min(steps, config.train.steps)}",
                                          f"train.eval_every={min(SMOKE_EVAL_EVERY, config.train.eval_every)}",
                                          "train.log_every=1",
                                          f"train.eval_size={min(SMOKE_EVAL_SIZE, config.train.eval_size)}"])
    return config


def _train_or_reuse(runs, config, run_dir: Path, log) -> tuple[dict, bool]:
    """(summary, whether it was read from a finished run) of ``config`` in ``run_dir``."""
    if not (run_dir / "config.json").is_file():
        return runs.train(config, run_dir, log=log), False
    saved = _flat(runs.load_config(run_dir).to_dict())
    wanted = _flat(config.to_dict())
    differ = [key for key in sorted(set(saved) | set(wanted))
              if key not in BUDGET_KEYS and saved.get(key) != wanted.get(key)]
    if differ:
        key = differ[0]
        raise runs.RunError(f"{run_dir} holds a run with other settings ({key} = {saved.get(key)!r}, not "
                            f"{wanted.get(key)!r}); remove it or give another --out")
    summary = _finished(run_dir, config)  # a longer budget leaves a run that stopped at its target finished
    if summary is not None:
        return summary, True
    return runs.train(config, run_dir, resume=True, log=log), False


def _finished(run_dir: Path, config) -> dict | None:
    """The run's summary when it reached its budget (steps, or minutes) or stopped early (its target,
    its patience), else None."""
    path = run_dir / "summary.json"
    if not path.is_file():
        return None
    try:
        summary = json.loads(path.read_text())
    except ValueError:  # cut short by a crash while written: train on (resume) to write it again
        return None
    budget = config.train.max_minutes
    if summary.get("stopped") in EARLY_STOPS or summary.get("step", 0) >= config.train.steps or (
            budget is not None and summary.get("seconds", 0) >= 60 * budget - _FINISHED_SLACK_SECONDS):
        return summary
    return None


def _missing_data(run: Run, places: dict[str, Path | None]) -> str | None:
    """Why the run cannot read its data (one line naming the option that gives it), or None."""
    for option in run.sources:
        if places[option] is None:
            return f"needs {DATA_OPTIONS[option]}, not given"
    for template in run.needs:
        path = Path(_fill(template, **places))
        if not (path.exists() or path.with_name(path.name + ".gz").exists()):
            option = next(o for o in DATA_OPTIONS if "{" + o + "}" in template)
            return f"needs {path}, which is missing; give {DATA_OPTIONS[option]}"
    return None


def _quick_changes(run: Run, places: dict[str, Path | None]) -> list[str]:
    """What the quick settings change: ``"train.steps 3000 → 400"``, one per setting."""
    from ..config import ConfigError
    from ..runs import compose_config

    try:
        full = _flat(compose_config(run.task, model=run.model, overrides=run.settings(quick=False, **places))[0]
                     .to_dict())
        quick = _flat(compose_config(run.task, model=run.model, overrides=run.settings(quick=True, **places))[0]
                      .to_dict())
    except ConfigError as error:
        return [f"(cannot show: {error})"]
    return _changes(full, quick)


def _evaluation_changes(run: Run, evaluation: Evaluation) -> list[str]:
    """What quick mode changes in an evaluation's overrides: ``"task.max_length 40 → 10"``."""
    from ..config import ConfigError, parse_override

    def parsed(quick: bool) -> dict:
        return {f"{section}.{key}": value for section, key, value in
                (parse_override(text, run.task) for text in evaluation.settings(quick=quick))}

    try:
        full, quick = parsed(False), parsed(True)
    except ConfigError as error:
        return [f"(cannot show: {error})"]
    return _changes(full, quick)


def _changes(full: dict, quick: dict) -> list[str]:
    """``"key full → quick"`` for every flat key whose value differs."""
    return [f"{key} {_value(full.get(key))} → {_value(quick.get(key))}"
            for key in {**full, **quick} if full.get(key) != quick.get(key)]


def _pictures(run: Run, run_dir: Path, folder: Path) -> list[str]:
    """The run's learning curve of its task's main metric, then the task's own pictures,
    as paths relative to the experiment's folder."""
    from .. import tasks

    plots = run_dir / "plots"
    main = f"{tasks.get(run.task).main_metric}.png"
    curves = {"loss.png", "grad_norm.png", main}
    found = [plots / main] + sorted(p for p in plots.glob("*.png") if p.name not in curves)
    return [path.relative_to(folder).as_posix() for path in found if path.is_file()]


# ---- the report ----------------------------------------------------------------------------------

def render_section(experiment: Experiment, rows: Sequence[dict], base: str) -> str:
    """The Markdown section of ``experiment``; picture links are prefixed with ``base``
    (the path from the report's folder to OUT/EXPERIMENT, "" or "EXPERIMENT/")."""
    quick = any(row["quick"] for row in rows)
    lines = [f"## {experiment.title}", "", experiment.description.strip(), ""]
    if quick:
        lines += [f"**{QUICK_NOTE[0].upper()}{QUICK_NOTE[1:]}.** Each run trains with the quick settings "
                  "listed below and `met` judges its quick target, what that budget must reach to show learning "
                  "(well beyond the trivial answer or chance); a miss is a failure (exit code 1). The full target, "
                  f"of `rnnlab reproduce {experiment.name}`, stands beside it."
                  + (f" {experiment.quick_note.strip()}" if experiment.quick_note else ""), ""]
        lines += ["| run | model | metric | value | quick target | met | full target | steps | minutes |",
                  "| --- | --- | --- | ---: | --- | --- | --- | ---: | ---: |"]
    else:
        lines += ["| run | model | metric | value | target | met | steps | minutes |",
                  "| --- | --- | --- | ---: | --- | --- | ---: | ---: |"]
    for row in rows:
        if row["skipped"]:
            value, met = "skipped", ""
        elif row["value"] is None:
            value, met = "error", ""
        else:
            value = f"{row['value']:.4g}"
            met = "" if row["met"] is None else "yes" if row["met"] else "**no**"
        # quick rows: the judged quick target, met, then the full target beside it
        judged = [_shown(row.get("quick_target")), met, _shown(row["target"])] if row["quick"] else [
            _shown(row["target"]), met]
        steps = "" if row["steps"] is None else row["steps"]
        minutes = "" if row["minutes"] is None else _minutes(row["minutes"])
        lines.append(" | ".join(["", row["run"], row["model"], row["metric"], value, *judged, str(steps), minutes, ""])
                     .strip())
    tables = [row["table"].strip() for row in rows if row.get("table")]  # a measurement's own Markdown
    for text in tables:
        lines += ["", text]
    notes = [row for row in rows if row["note"]]
    if notes:
        lines += [""] + [f"- {row['run']}: {'skipped, ' if row['skipped'] else ''}{row['note']}" for row in notes]
    lines += ["", "Settings of the full runs (`rnnlab train TASK --model MODEL --set ...`; evaluations: "
              "`rnnlab eval RUN_DIR --set ... --plots`):", ""]
    for row in rows:
        settings = " ".join(f"`{text}`" for text in row["settings"])
        if row.get("measured"):  # a measurement's settings are written once, on the first row it makes
            if settings:
                lines.append(f"- {row['run']}, measured with: {settings}")
        elif row.get("evaluation") is not None:
            lines.append(f"- {_parent(row)}, evaluated at: {settings}")
        else:
            lines.append(f"- {row['run']} (`{row['task']}`, `{row['model']}`): {settings}")
    if quick:
        lines += ["", "Quick mode changes (full → quick):", ""]
        lines += [f"- {row['run']}: {', '.join(row['quick_changes']) or 'nothing'}" for row in rows
                  if not row.get("measured") or row["quick_changes"]]
    pictured = [row for row in rows if row["pictures"]]
    if pictured:
        lines += ["", "Learning curves of the main metric (held-out: dots) and the tasks' and models' own pictures "
                  "(of evaluations: at their settings):", ""]
        for row in pictured:
            images = " ".join(f"![{row['run']}: {Path(p).stem}]({base}{p})" for p in row["pictures"])
            lines += [f"**{row['run']}**", "", images, ""]
    return "\n".join(lines).rstrip() + "\n"


def write_report(out: str | Path, experiments: Sequence[Experiment], command: str, note: str = "") -> Path:
    """OUT/report.md: one section for each of ``experiments`` that has a results.json in OUT;
    ``note`` (Markdown) follows the first paragraph."""
    import torch

    out = Path(out)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = ["# rnnlab: reproduced experiments", "",
             f"`{command}`, last run {now}; torch {torch.__version__}, threads: {torch.get_num_threads()}. "
             "Each value is the held-out figure of the run's final checkpoint; minutes are training wall time."
             + (f" {note.strip()}" if note else ""), ""]
    for experiment in experiments:
        path = out / experiment.name / "results.json"
        if path.is_file():
            lines.append(render_section(experiment, json.loads(path.read_text()), base=f"{experiment.name}/"))
    report = out / "report.md"
    out.mkdir(parents=True, exist_ok=True)
    report.write_text("\n".join(lines).rstrip() + "\n")
    return report


def table(rows: Sequence[dict]) -> str:
    """The rows as the Markdown table the benchmark scripts printed (for stdout)."""
    plain = [{key: value for key, value in row.items() if key != "table"} for row in rows]  # the common table only
    section = render_section(Experiment("", "", "", ()), plain, base="")
    return "\n".join(line for line in section.splitlines() if line.startswith("|")) + "\n"


# ---- helpers -------------------------------------------------------------------------------------

def _parent(row: dict) -> str:
    """The run an evaluation row belongs to: its name without " at LABEL"."""
    suffix = f" at {row['evaluation']}"
    return row["run"][: -len(suffix)] if row["run"].endswith(suffix) else row["run"]


def _target(judged: Run | Evaluation, quick: bool) -> str:
    """`` (target < 0.01)``, under --quick `` (quick target < 0.1; full < 0.01)``, for the log."""
    full = "" if judged.target is None else f"{judged.target[0]} {judged.target[1]:g}"
    if not quick:
        return f" (target {full})" if full else ""
    target = judged.quick_target
    shown = "reported" if target is None else f"quick target {target[0]} {target[1]:g}"
    return f" ({shown}{f'; full {full}' if full else ''})"


def _shown(target) -> str:
    """A target as the table shows it: ``< 0.01``, or ``reported``."""
    return "reported" if target is None else f"{target[0]} {target[1]:g}"


def _listed(target: tuple[str, float] | None) -> list | None:
    """A target as results.json holds it: ``["<", 0.01]`` or null."""
    return None if target is None else list(target)


def shipped_data() -> Path | None:
    """The repository's data/ folder (SHIPPED_DATA), the default of ``--data``, when rnnlab runs from a
    clone (installed editable: this module lies in ROOT/src/rnnlab/); None elsewhere, e.g. a wheel
    installed in site-packages, whose data runs are then skipped as without ``--data``."""
    package = Path(__file__).resolve().parents[1]
    if package.parent.name != "src" or not SHIPPED_DATA.is_dir():
        return None
    return SHIPPED_DATA


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _fill(text: str, **places: Path | None) -> str:
    """``text`` with ``{data}`` and ``{fashion}`` replaced by the directories given (others left as they are;
    plain replacement, as settings hold TOML tables in braces)."""
    for option, path in places.items():
        if path is not None:
            text = text.replace("{" + option + "}", str(path))
    return text


def _absolute(path: str | Path | None) -> Path | None:
    return None if path is None else Path(path).expanduser().resolve()


def _slug(name: str) -> str:
    """A run's folder name: ``"adding, LSTM"`` -> ``adding-lstm``."""
    words = "".join(c.lower() if c.isalnum() or c == "_" else " " for c in name).split()
    return "-".join(words)


def _flat(config: dict) -> dict:
    """``{"train": {"steps": 3}}`` -> ``{"train.steps": 3}``."""
    return {f"{section}.{key}": value for section, values in config.items() for key, value in values.items()}


def _value(value) -> str:
    """A setting's value as written in an override (TOML; None as ``none``)."""
    from ..config import format_value

    return format_value(value)


def _budget(config) -> str:
    minutes = config.train.max_minutes
    return f"{config.train.steps} steps" + ("" if minutes is None else f" or {minutes:g} min")


def _minutes(minutes: float) -> str:
    return f"{minutes:.1f}" if minutes >= 1 else f"{minutes:.2f}"
