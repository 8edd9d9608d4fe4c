"""``rnnlab``: the command line.  This module only parses arguments; the work is
done elsewhere (``runs.py`` for train and eval, ``translate.py`` for translate, ``reproduce/`` for reproduce,
``bench.py`` for bench).

    rnnlab tasks                       every task with a one-line description
    rnnlab models                      every cell name with a one-line description
    rnnlab train TASK [--model NAME] [--config FILE.toml] [--set key=value ...]
                      [--steps N] [--seed S] [--out DIR] [--resume] [--device cpu|cuda|auto]
                      [--tensorboard] [--nproc N] [--print-config]
    rnnlab eval RUN_DIR [--set key=value ...] [--json] [--plots] [--checkpoint latest|best|STEP]
    rnnlab sample RUN_DIR [--prime TEXT] [--length N] [--temperature T] [--top-k K] [--seed S]
                          [--checkpoint latest|best|STEP]
                                       text from a language-model run (char_lm, word_lm)
    rnnlab translate RUN_DIR TEXT ... [--beam K] [--checkpoint latest|best|STEP]
                                       an N→M run's output for each TEXT, one a line (translate.py)
    rnnlab reproduce [EXPERIMENT ... | --all] [--quick] [--out DIR] [--data DIR] [--fashion DIR]
                                       train the published experiments; DIR/report.md, results.json
    rnnlab bench [--quick] [--out DIR] speed and memory of every cell against torch.nn

A bad argument is answered with one line on stderr and exit code 2; a run that had to stop (too
many non-finite steps, a file it could not write) with one line and exit code 1; a run stopped by
SIGINT or SIGTERM saves a checkpoint, prints how to resume it and exits with 130 or 143.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from functools import partial
from pathlib import Path
from typing import NoReturn, Sequence

from . import __version__, bench, cells
from .config import one_line


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _listing(names: list[str], describe) -> int:
    width = max(map(len, names))
    for name in names:
        print(f"{name:<{width}}  {describe(name)}")
    return 0


def _models(args: argparse.Namespace) -> int:
    from .config import WHOLE_MODELS, model_names

    return _listing(model_names(), lambda name: WHOLE_MODELS.get(name) or cells.describe(name))


def _tasks(args: argparse.Namespace) -> int:
    from . import tasks

    return _listing(tasks.available(), tasks.describe)


_COMMAND_VARIABLE = "RNNLAB_COMMAND"  # the command as typed, handed by --nproc to the processes it starts


def _train(args: argparse.Namespace, parser: _Parser) -> int:
    from . import runs
    from .config import ConfigError, to_toml
    from .training.errors import Interrupted, TrainingError

    overrides = [*(args.set or ()), *(["train.tensorboard=true"] if args.tensorboard else [])]
    flags = dict(steps=args.steps, seed=args.seed, device=args.device)
    try:
        config, sources = runs.compose_config(args.task, model=args.model, config_file=args.config,
                                              overrides=overrides, **flags)
        out = args.out or runs.default_run_dir(config)
        if args.resume:
            given = [*overrides, *(f"train.{key}={value}" for key, value in flags.items() if value is not None)]
            config = runs.resumed_config(out, given, task=args.task, model=args.model, config_file=args.config)
            sources = None
        if args.print_config:
            print(to_toml(config, sources), end="")
            return 0
        summary = runs.train(config, out, resume=args.resume)
    except (ConfigError, runs.RunError) as error:
        parser.error(one_line(error))
    except TrainingError as error:  # the run started and had to stop: not a usage error
        print(f"rnnlab train: {one_line(error)}", file=sys.stderr)
        return 1
    except Interrupted as stop:
        if os.environ.get("RANK", "0") == "0":
            command = os.environ.get(_COMMAND_VARIABLE) or shlex.join(["rnnlab", *args.argv])
            again = command if " --resume" in f" {command} " else f"{command} --resume"
            print(f"interrupted at step {stop.step}; resume with: {again}", file=sys.stderr)
        return stop.exit_code
    except KeyboardInterrupt:  # a second Ctrl-C while the checkpoint was being written
        print("rnnlab train: stopped at once; the previous checkpoint is kept (resume with --resume)", file=sys.stderr)
        return 130
    if os.environ.get("RANK", "0") == "0":  # under torchrun, the main process speaks for all
        print(json.dumps(summary))
        print(f"run directory: {out}", file=sys.stderr)
    return 0


def _eval(args: argparse.Namespace, parser: _Parser) -> int:
    from . import runs
    from .config import ConfigError

    try:
        summary = runs.evaluate(args.run_dir, args.set or (), log=lambda line: print(line, file=sys.stderr),
                                plots=args.plots, checkpoint=args.checkpoint)
    except (ConfigError, runs.RunError) as error:
        parser.error(one_line(error))
    plots = runs.eval_plots_directory(args.run_dir, args.set or ())
    if args.plots and plots.is_dir():
        print(f"plots: {plots}", file=sys.stderr)
    if args.json:
        print(json.dumps(summary))
    else:
        for key, value in _flat_summary(summary).items():
            print(f"{key:<24} {value:.6g}" if isinstance(value, float) else f"{key:<24} {value}")
    return 0


def _flat_summary(summary: dict) -> dict:
    """``{"best": {"step": 5}}`` -> ``{"best.step": 5}``, for the table of ``rnnlab eval``."""
    flat = {}
    for key, value in summary.items():
        if isinstance(value, dict):
            flat.update({f"{key}.{inner}": item for inner, item in value.items()})
        else:
            flat[key] = value
    return flat


def _checkpoint(text: str) -> str | int:
    """--checkpoint: latest, best or a step number."""
    from .runs import CHECKPOINTS

    if text in CHECKPOINTS:
        return text
    try:
        step = int(text)
    except ValueError:
        step = -1
    if step < 0:
        raise argparse.ArgumentTypeError(f"must be latest, best or a step number; got {text!r}")
    return step


def _sample(args: argparse.Namespace, parser: _Parser) -> int:
    from . import runs
    from .config import ConfigError

    try:
        text = runs.sample(args.run_dir, args.prime, length=args.length, temperature=args.temperature,
                           top_k=args.top_k, seed=args.seed, log=lambda line: print(line, file=sys.stderr),
                           checkpoint=args.checkpoint)
    except (ConfigError, runs.RunError) as error:
        parser.error(one_line(error))
    print(text)
    return 0


def _translate(args: argparse.Namespace, parser: _Parser) -> int:
    from . import runs
    from .config import ConfigError
    from .translate import translate

    try:
        outputs = translate(args.run_dir, args.texts, beam=args.beam, checkpoint=args.checkpoint,
                            log=lambda line: print(line, file=sys.stderr))
    except (ConfigError, runs.RunError) as error:
        parser.error(one_line(error))
    for output in outputs:
        print(output)
    return 0


def _reproduce(args: argparse.Namespace, parser: _Parser) -> int:
    from . import reproduce

    if args.all and args.experiments:
        parser.error("give EXPERIMENT names or --all, not both")
    names = reproduce.available() if args.all else args.experiments
    if not names:
        parser.error(f"give EXPERIMENT names or --all; available: {', '.join(reproduce.available())}")
    unknown = [name for name in names if name not in reproduce.available()]
    if unknown:
        parser.error(f"unknown experiment {unknown[0]!r}; available: {', '.join(reproduce.available())}")
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out {args.out} exists and is not a directory")
    if args.steps is not None and args.steps < 1:
        parser.error(f"argument --steps: must be at least 1; got {args.steps}")
    given = [f"--{key} {getattr(args, key)}" for key in ("data", "fashion") if getattr(args, key) is not None]
    command = " ".join(["rnnlab reproduce", *(["--all"] if args.all else names), *(["--quick"] if args.quick else []),
                        f"--out {args.out}", *given])
    return reproduce.main(list(dict.fromkeys(names)), args.out, quick=args.quick, data=args.data,
                          fashion=args.fashion, steps=args.steps, command=command)


def _bench(args: argparse.Namespace, parser: _Parser) -> int:
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out {args.out} exists and is not a directory")
    report = bench.run_bench(args.out, quick=args.quick)
    failed = bench.failures(report)
    if failed:
        print(f"rnnlab bench: {len(failed)} contender run(s) failed:", file=sys.stderr)
        for failure in failed:
            print(f"  {failure}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> _Parser:
    """The parser of every subcommand."""
    parser = _Parser(prog="rnnlab", description="Classic recurrent networks on PyTorch.")
    parser.add_argument("--version", action="version", version=f"rnnlab {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    tasks_ = commands.add_parser("tasks", help="list every task with a one-line description")
    tasks_.set_defaults(run=_tasks)
    models = commands.add_parser("models", help="list every cell name with a one-line description")
    models.set_defaults(run=_models)

    train = commands.add_parser("train", help="train a model on a task; writes a run directory")
    train.add_argument("task", metavar="TASK", help="a name from `rnnlab tasks`")
    train.add_argument("--model", metavar="NAME", help="a cell name from `rnnlab models` (default: lstm)")
    train.add_argument("--config", type=Path, metavar="FILE.toml", help="[model], [task] and [train] settings")
    train.add_argument("--set", action="append", metavar="KEY=VALUE",
                       help="override one setting, e.g. train.lr=3e-4 or task.length=200 (repeatable)")
    train.add_argument("--steps", type=int, metavar="N", help="optimizer steps (train.steps)")
    train.add_argument("--seed", type=int, metavar="S", help="seeds data, initialisation and dropout (train.seed)")
    train.add_argument("--out", type=Path, metavar="DIR", help="run directory (default: runs/TASK-MODEL-seedS)")
    train.add_argument("--resume", action="store_true",
                       help="continue the run in --out (default: runs/TASK-MODEL-seedS) from its last checkpoint; "
                            "the command that started it, with --resume added, continues it; train.* settings "
                            "may change, others only repeat their recorded values")
    train.add_argument("--device", choices=("cpu", "cuda", "auto"), help="(train.device)")
    train.add_argument("--tensorboard", action="store_true",
                       help="also write TensorBoard event files to RUN_DIR/tensorboard (train.tensorboard)")
    train.add_argument("--nproc", type=int, metavar="N",
                       help="train with N data-parallel processes on this machine (launches torchrun)")
    train.add_argument("--print-config", action="store_true",
                       help="print the effective settings as TOML, each with where it came from (default, the "
                            "task's recommendation, --config, --set, a flag), and exit")
    train.set_defaults(run=partial(_train, parser=train))

    eval_ = commands.add_parser("eval", help="evaluate a run's last checkpoint on held-out data")
    eval_.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    eval_.add_argument("--set", action="append", metavar="KEY=VALUE",
                       help="evaluate with other task settings, e.g. task.length=200 (repeatable)")
    eval_.add_argument("--json", action="store_true", help="print the metrics as one JSON object (summary.json's keys)")
    eval_.add_argument("--plots", action="store_true",
                       help="also draw the task's and the model's pictures of the first held-out sequence into "
                            "RUN_DIR/plots/eval-...")
    eval_.add_argument("--checkpoint", type=_checkpoint, default="latest", metavar="WHICH",
                       help="latest (default), best (the best evaluation of the run) or a step number")
    eval_.set_defaults(run=partial(_eval, parser=eval_))

    sample_ = commands.add_parser("sample", help="generate text with a language-model run (char_lm, word_lm)")
    sample_.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    sample_.add_argument("--prime", metavar="TEXT", help="text to start from (default: a newline)")
    sample_.add_argument("--length", type=int, default=200, metavar="N", help="tokens to generate (default: 200)")
    sample_.add_argument("--temperature", type=float, default=1.0, metavar="T",
                         help="divides the logits: below 1 more likely, above 1 more varied (default: 1)")
    sample_.add_argument("--top-k", type=int, metavar="K", help="sample among the K most likely tokens only")
    sample_.add_argument("--seed", type=int, default=0, metavar="S", help="seeds the draws (default: 0)")
    sample_.add_argument("--checkpoint", type=_checkpoint, default="latest", metavar="WHICH",
                         help="latest (default), best (the best evaluation of the run) or a step number")
    sample_.set_defaults(run=partial(_sample, parser=sample_))

    translate_ = commands.add_parser("translate", help="translate texts with an N→M run (number_translation, "
                                                       "date_translation, addition, ...), one output a line")
    translate_.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    translate_.add_argument("texts", nargs="+", metavar="TEXT", help="a source text, e.g. \"forty-two\"")
    translate_.add_argument("--beam", type=int, default=1, metavar="K",
                            help="beam search with K hypotheses (default: 1, greedy decoding)")
    translate_.add_argument("--checkpoint", type=_checkpoint, default="latest", metavar="WHICH",
                            help="latest (default), best (the best evaluation of the run) or a step number")
    translate_.set_defaults(run=partial(_translate, parser=translate_))

    from . import reproduce  # the registry only; the experiments' modules load when they run

    reproduce_ = commands.add_parser(
        "reproduce", help="train the published experiments; write DIR/report.md with tables and pictures",
        description="Train the runs of published experiments (or continue them, or read those finished) and "
                    "write DIR/report.md, DIR/EXPERIMENT/results.json and each run's directory. Exit code 1 "
                    "when a run fails or misses its target (under --quick, its quick target).")
    reproduce_.add_argument("experiments", nargs="*", metavar="EXPERIMENT",
                            help="experiments to run (see --all for the list)")
    reproduce_.add_argument("--all", action="store_true",
                            help=f"every experiment: {', '.join(reproduce.available())}")
    reproduce_.add_argument("--quick", action="store_true",
                            help="small budgets (a few hundred steps, under a minute a run), judged on quick "
                                 "targets that show learning")
    reproduce_.add_argument("--out", type=Path, default=Path("reproduce-out"), metavar="DIR",
                            help="directory of the report and the run directories (default: reproduce-out)")
    reproduce_.add_argument("--data", type=Path, metavar="DIR",
                            help="tinyshakespeare.txt and sentiment/*.txt (default: the repository's data/ on a clone)")
    reproduce_.add_argument("--fashion", type=Path, metavar="DIR",
                            help="the Fashion-MNIST IDX files (e.g. /usr/share/datasets/fashion-mnist); "
                                 "runs that need them are skipped without")
    reproduce_.add_argument("--steps", type=int, help=argparse.SUPPRESS)  # caps every budget: smoke tests
    reproduce_.set_defaults(run=partial(_reproduce, parser=reproduce_))

    bench_ = commands.add_parser("bench", help="time every cell against torch.nn on this machine",
                                 description="Time forward and forward+backward of every cell against "
                                             "torch.nn.RNN/LSTM/GRU; print a Markdown table and write "
                                             "DIR/bench.json and DIR/bench.md.")
    bench_.add_argument("--quick", action="store_true",
                        help=f"{bench.QUICK_REPEATS} rounds instead of {bench.FULL_REPEATS} (about a minute on 2 cores)")
    bench_.add_argument("--out", type=Path, default=Path("bench-out"), metavar="DIR",
                        help="directory for bench.json and bench.md (created if missing; default: bench-out)")
    bench_.set_defaults(run=partial(_bench, parser=bench_))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line on ``argv`` (default: sys.argv[1:]); returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = argv
    if getattr(args, "nproc", None) is not None:
        if args.nproc < 1:
            parser.error(f"argument --nproc: must be at least 1; got {args.nproc}")
        if args.nproc > 1 and "WORLD_SIZE" not in os.environ:
            return _launch(argv, args.nproc)
    return args.run(args)


def _launch(argv: list[str], nproc: int) -> int:
    """``rnnlab train ... --nproc N`` = ``torchrun --standalone --nproc_per_node=N -m rnnlab train ...``."""
    rest, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            rest.append(arg)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
               "-m", "rnnlab", *rest]
    return subprocess.call(command, env={**os.environ, _COMMAND_VARIABLE: shlex.join(["rnnlab", *argv])})
