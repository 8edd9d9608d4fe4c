"""rnnlab.reference.checks and the package as a whole: the finite-difference check finds what it should,
the example in the package docstring runs, and the reference stays independent of torch."""

import ast
import doctest
from pathlib import Path

import numpy as np
import pytest

import rnnlab.reference
from rnnlab.reference import elman_backward, elman_forward, gradient_check, numerical_gradient


def test_numerical_gradient_of_a_known_function():
    a = np.array([[1.0, -2.0], [0.5, 3.0]])
    np.testing.assert_allclose(numerical_gradient(lambda: np.sum(a**3), a), 3 * a**2, rtol=1e-9)
    np.testing.assert_array_equal(a, [[1.0, -2.0], [0.5, 3.0]])  # restored


def test_gradient_check_finds_a_missing_term():
    """Leave out the recurrent term W_hhᵀ δ_{t+1} of the recursion (truncate BPTT to one step, as
    Elman trained): the check reports an error of order 1 for the weights, not a rounding error."""
    rng = np.random.default_rng(0)
    arrays = {"x": rng.normal(size=(4, 2, 3)), "h0": rng.normal(size=(2, 3)), "weight_ih": rng.normal(size=(3, 3)),
              "weight_hh": rng.normal(size=(3, 3)), "bias_ih": rng.normal(size=3), "bias_hh": rng.normal(size=3)}
    hs, cache = elman_forward(**arrays)
    upstream = rng.normal(size=hs.shape)
    truncated = cache._replace(weight_hh=np.zeros((3, 3)))  # δ_t @ W_hh = 0: no error flows back in time
    grads = elman_backward(upstream, truncated)
    errors = gradient_check(lambda: np.sum(upstream * elman_forward(**arrays)[0]), grads, arrays)
    assert errors["weight_hh"] > 0.01 and errors["h0"] == pytest.approx(1.0)


def test_the_package_docstring_example():
    result = doctest.testmod(rnnlab.reference, raise_on_error=False)
    assert result.attempted > 0 and result.failed == 0


def test_no_torch_inside():
    for path in Path(rnnlab.reference.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [alias.name for alias in node.names] + [getattr(node, "module", None) or ""]
                assert not any(n.split(".")[0] == "torch" for n in names), path.name
