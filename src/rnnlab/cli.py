"""``rnnlab``: the command line.  This module only parses arguments; the work is
done elsewhere (``bench.py`` for ``rnnlab bench``).

    rnnlab models                      every cell name with a one-line description
    rnnlab bench [--quick] [--out DIR] speed and memory of every cell against torch.nn

A bad argument is answered with one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path
from typing import NoReturn, Sequence

from . import __version__, bench, cells

class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _models(args: argparse.Namespace) -> int:
    names = cells.available()
    width = max(map(len, names))
    for name in names:
        print(f"{name:<{width}}  {cells.describe(name)}")
    return 0


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

    models = commands.add_parser("models", help="list every cell name with a one-line description")
    models.set_defaults(run=_models)

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
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.run(args)
