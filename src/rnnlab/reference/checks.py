"""Checks shared by the reference passes: of the arguments' shapes, and of gradients by finite differences.

``gradient_check`` is the learner's tool: it compares a hand-written gradient with central
differences, (L(θ + ε) − L(θ − ε)) / 2ε for every entry θ, whose error is O(ε²) from the
truncated Taylor series plus O(u/ε) from rounding (u ≈ 1e-16 in float64); ε = 1e-6 balances
the two, and a correct gradient then agrees to about 1e-9 relative.  A wrong one is off by
O(1): a missing term of the recursion does not hide in the ninth digit.
"""

from __future__ import annotations

import re
from typing import Callable

import numpy as np

_SYMBOL = re.compile(r"(\d*)(\w+)")  # "4H": 4 times the size H


def check_shapes(function: str, **arguments: tuple[np.ndarray | None, str]) -> dict[str, int]:
    """Check each argument against its shape in symbols and return the sizes, e.g. {"T": 7, "B": 3, ...}.

    ``arguments`` maps a name to (array, "T B H_in"); a symbol takes its size from the first
    argument that has it (so list x, then h0, then the weights), "4H" means four times H, and a
    None array is skipped.  A mismatch raises a ValueError that names the argument, the shape
    expected (in symbols and in numbers), where each size came from, and the shape got.
    """
    sizes: dict[str, int] = {}
    origins: dict[str, str] = {}
    for name, (array, spec) in arguments.items():
        if array is None:
            continue
        shape = np.shape(array)
        symbols = [_SYMBOL.fullmatch(s).groups() for s in spec.split()]  # [(factor, base), ...]
        known = [base for _, base in symbols if base in sizes]
        fits = len(shape) == len(symbols) and all(
            base not in sizes or n == int(factor or 1) * sizes[base] for (factor, base), n in zip(symbols, shape))
        if not fits:
            expected = f"({', '.join(spec.split())}{',' if len(symbols) == 1 else ''})"  # written like a tuple
            if len(known) == len(symbols):
                expected += f" = {tuple(int(f or 1) * sizes[b] for f, b in symbols)}"
            if known:  # e.g. "with T = 7, B = 3 from x and H = 5 from h0"
                groups: dict[str, list[str]] = {}
                for base in dict.fromkeys(known):
                    groups.setdefault(origins[base], []).append(f"{base} = {sizes[base]}")
                expected += ", with " + " and ".join(f"{', '.join(g)} from {o}" for o, g in groups.items())
            raise ValueError(f"{function}: {name} must have shape {expected}; got {shape}")
        for (_, base), n in zip(symbols, shape):
            if base not in sizes:
                sizes[base], origins[base] = n, name
    return sizes


def numerical_gradient(loss: Callable[[], float], array: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """∂loss/∂array by central differences, one entry at a time.

    ``loss`` takes no argument and reads ``array``, which is changed in place (entry k set to
    a_k ± ε) and restored; so ``array`` must be a writable floating-point array that ``loss``
    closes over.  Costs 2 evaluations of the loss per entry: for small cases only.
    """
    grad = np.zeros_like(array)
    for k in np.ndindex(array.shape):
        saved = array[k]
        array[k] = saved + eps
        above = loss()
        array[k] = saved - eps
        below = loss()
        array[k] = saved
        grad[k] = (above - below) / (2 * eps)
    return grad


def gradient_check(loss: Callable[[], float], grads: dict[str, np.ndarray], arrays: dict[str, np.ndarray],
                   eps: float = 1e-6) -> dict[str, float]:
    """The relative error of each gradient in ``grads`` against ``numerical_gradient``, by name.

    For each name of ``arrays``: max|g − n| / max(max|g|, max|n|) over the entries, g the
    gradient given, n the numerical one (0 when both are zero).  Relative to the array's
    largest entry rather than entry by entry, so that entries near zero do not inflate it.
    """
    errors = {}
    for name, array in arrays.items():
        numerical, given = numerical_gradient(loss, array, eps), grads[name]
        scale = max(np.abs(given).max(initial=0.0), np.abs(numerical).max(initial=0.0))
        errors[name] = float(np.abs(given - numerical).max(initial=0.0) / scale) if scale > 0 else 0.0
    return errors
