"""The fully recurrent network of Williams & Zipser (1989), one time step, and its whole-sequence kernel.

Williams & Zipser (1989), "A learning algorithm for continually running fully recurrent
neural networks", Neural Computation 1(2).  A network of n units U and m external input
lines I (plus one line held at 1, the bias): every unit receives every unit and every
input line.  With z(t) the concatenation of the inputs and the units' outputs,

    z_l(t) = x_l(t) if l ∈ I,    y_l(t) if l ∈ U
    s_k(t) = Σ_{l ∈ U ∪ I} w_kl z_l(t)                              (eq. 1)
    y_k(t+1) = f_k(s_k(t)),      f = the logistic 1/(1 + e^{−s})   (eq. 2)

and the weight matrix W = [w_kl] (n × (n + m + 1)) is stored here in torch-like pieces:

    s(t) = weight_hh y(t) + weight_ih x(t) + bias
           weight_hh (n, n): w_kl, l ∈ U      weight_ih (n, m): w_kl, l ∈ I      bias (n,): the line at 1

One step of the cell reads x_t and the state y(t) and returns y(t+1); so the cell's
output at step t (0-based) is the paper's y(t+1), exactly the timing of every other
rnnlab cell.  ``nonlinearity="logistic"`` (the default: this cell *is* the paper's
network; use ``elman_tanh`` for the usual zero-centred form) or ``"tanh"``.

Visible units.  Some of the paper's units have targets (the set T(t) at time t) and
the others are hidden; there is no separate read-out layer: the visible units are the
output and they feed back like every other unit.  Here ``visible=k`` makes the first
k units visible:

* the cell's output y_t is the k visible units, (B, k), so ``output_size = k``;
  the whole state is all n units.  With ``visible=None`` (the default) every unit is
  visible and y_t is the whole state, (B, n), like the Elman cell's;
* the state is then ``FullyRecurrentState(visible (B, k), hidden (B, n − k))``, the
  visible units first, so that, as for the LSTM (whose state starts with its output
  h), the state's first field is the output.  The topologies rely on that: the
  decoders' attention and context read the first field, a stacked layer reads
  ``output_size`` features, a readout reads y_t.  With every unit visible the state is
  one tensor (B, n).  ``units(state)`` and ``split_units(y)`` convert between the two;

so the cell drops into ``rnnlab.Recurrent`` and every topology (whose readout then
reads the visible units), and the paper's use without a separate readout is
``Recurrent("fully_recurrent", m, n, visible=k)`` with the loss put on its output
directly (logistic units, targets in [0, 1]).

Teacher forcing (the paper's "teacher-forced real-time recurrent learning"): the
visible units' values are replaced by their targets d_k(t), wherever a target exists,
before they are used to compute the next step; the forced values are constants, so no
derivative flows through them (the paper sets p^k_ij(t) = 0 for the forced units).
The cell cannot do this inside ``forward``: a cell sees x_t and its state, never the
targets.  ``teacher_forced(x, targets, state)`` runs a whole sequence so, with NaN in
``targets`` where a unit has no target at a step (k ∉ T(t)).

Initial weights: every weight uniform in [−1/√n, 1/√n], as torch.nn's recurrent layers
and every rnnlab cell (``RecurrentCell.reset_parameters``); the paper states no general
rule.  This scale keeps the net inputs s_k small at the start, in the logistic's
near-linear range (y ≈ ½, slope ¼), and weight_hh's spectral radius near 1/√3 ≈ 0.6
(entries of variance 1/(3n); measured 0.57 at n = 16, 0.61 at n = 128), so that the
recurrence neither saturates nor explodes before learning.  Weight guessing (Hochreiter &
Schmidhuber 1996) draws its own weights, uniform in [−a, a], whatever this start.

A whole sequence runs on the Elman network's kernel (``ElmanScan``, elman_scan.py): the
recurrence s(t) = weight_hh y(t) + weight_ih x(t) + bias is the same, and so is its hand-written
backward pass; checked here against the reference loop (tests/cells/test_fully_recurrent.py).
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import RecurrentCell, last_steps
from .elman_scan import ElmanScan, activation_slope
from .registry import register

NONLINEARITIES = ("logistic", "tanh")


class FullyRecurrentState(NamedTuple):
    """State of a fully recurrent network with some hidden units: its n units, the visible ones first."""

    visible: Tensor  # (B, k): y_k(t) of the visible units, the cell's output
    hidden: Tensor  # (B, n − k)


class FullyRecurrentCell(RecurrentCell):
    """Williams & Zipser (1989): n units, each fed by every unit, every input and a bias; the first k visible.

        y(t+1) = f(weight_hh y(t) + weight_ih x(t) + bias),    f = logistic (default) or tanh

    Args:
        input_size: m, the external input lines.
        hidden_size: n, the units (visible and hidden).
        nonlinearity: "logistic" (the paper's) or "tanh".
        visible: k in [1, n], the visible units (the first k), which are the output y_t; None: all n.
        bias: whether the units have a bias (the paper's input line held at 1).

    weight_ih (n, m), weight_hh (n, n), bias (n,).  State: (B, n) when every unit is visible, else
    ``FullyRecurrentState(visible (B, k), hidden (B, n − k))``; output y_t: the visible units.
    """

    def __init__(self, input_size: int, hidden_size: int, *, nonlinearity: str = "logistic",
                 visible: int | None = None, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size)
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"nonlinearity must be one of {', '.join(map(repr, NONLINEARITIES))}; "
                             f"got {nonlinearity!r}")
        if visible is not None and (isinstance(visible, bool) or not isinstance(visible, numbers.Integral)
                                    or not 1 <= visible <= hidden_size):
            raise ValueError(f"visible must be an int in [1, hidden_size={hidden_size}] (the first units are "
                             f"the visible ones) or None (all of them); got {visible!r}")
        self.nonlinearity = nonlinearity
        self.logistic = nonlinearity == "logistic"
        self.visible = hidden_size if visible is None else int(visible)
        self.output_size = self.visible
        if self.visible < hidden_size:
            self.state_type = FullyRecurrentState
            self.state_sizes = (self.visible, hidden_size - self.visible)
        kw = {"device": device, "dtype": dtype}
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size, **kw))
        self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size, **kw))
        self.bias = nn.Parameter(torch.empty(hidden_size, **kw)) if bias else None
        self.reset_parameters()

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}, nonlinearity={self.nonlinearity!r}"
        if self.visible < self.hidden_size:
            s += f", visible={self.visible}"
        return s + ("" if self.bias is not None else ", bias=False")

    # ---- the units and the state -----------------------------------------------------------------
    def f(self, s: Tensor) -> Tensor:
        """The units' squashing function f applied to net inputs s."""
        return torch.sigmoid(s) if self.logistic else torch.tanh(s)

    def f_prime(self, y: Tensor) -> Tensor:
        """f′(s) read from y = f(s): y(1 − y) for the logistic, 1 − y² for tanh (the paper's f′_k(s_k(t)))."""
        return activation_slope(y, self.nonlinearity)

    def units(self, state) -> Tensor:
        """All n units y(t), (B, n), visible first, from a state of this cell."""
        return state if isinstance(state, Tensor) else torch.cat(tuple(state), dim=-1)

    def split_units(self, y: Tensor):
        """The state holding the units y (..., n): y itself, or ``FullyRecurrentState`` of its two parts."""
        if self.state_type is None:
            return y
        return FullyRecurrentState(y[..., : self.visible], y[..., self.visible :])

    # ---- one step, and a whole sequence ---------------------------------------------------------
    def forward(self, x: Tensor, state) -> tuple[Tensor, object]:
        self.check_step(x, state)
        y = self.f(F.linear(x, self.weight_ih, self.bias) + F.linear(self.units(state), self.weight_hh))  # (B, n)
        return y[:, : self.visible], self.split_units(y)

    def sequence(self, x: Tensor, state, lengths: Tensor | None = None) -> tuple[Tensor, object]:
        ys = ElmanScan.apply(x, self.weight_ih, self.bias, self.units(state), self.weight_hh, None,
                             self.nonlinearity)  # (T, B, n)
        return ys[..., : self.visible], self.split_units(last_steps(ys, lengths))

    def teacher_forced(self, x: Tensor, targets: Tensor, state=None, lengths: Tensor | None = None):
        """A whole sequence with teacher forcing of the visible units -> (y (T, B, k), final state).

        x: (T, B, m).  targets: (T, B, k), the targets d(t+1) of the visible outputs of each step, NaN
        where a unit has no target at that step.  Each output y_t is the network's own value (what the
        error is computed on); then every visible unit with a target is replaced by it in the state
        that step t + 1 reads, and in the final state.  No gradient flows through a forced unit.
        state: the initial state (zeros when None); lengths (B,): each sequence's state stops changing
        after its last real step, as in ``loop``.
        """
        owner = type(self).__name__
        param = self.weight_hh
        if not isinstance(x, Tensor) or x.dim() != 3 or x.shape[2] != self.input_size \
                or not x.is_floating_point():
            got = f"{tuple(x.shape)} {x.dtype}" if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"{owner}.teacher_forced expects x of shape (T, B, {self.input_size}) float; got {got}")
        expected = (x.shape[0], x.shape[1], self.visible)
        if not isinstance(targets, Tensor) or tuple(targets.shape) != expected or not targets.is_floating_point():
            got = f"{tuple(targets.shape)} {targets.dtype}" if isinstance(targets, Tensor) \
                else type(targets).__name__
            raise ValueError(f"{owner}.teacher_forced expects targets of shape (T, B, visible={self.visible}) "
                             f"= {expected} float (NaN where a unit has no target); got {got}")
        if x.dtype != param.dtype or targets.dtype != param.dtype:
            raise TypeError(f"{owner}.teacher_forced: x ({x.dtype}) and targets ({targets.dtype}) must have the "
                            f"parameters' dtype {param.dtype}")
        if state is None:
            state = self.initial_state(x.shape[1], dtype=x.dtype, device=x.device)
        y = self.units(state)
        if tuple(y.shape) != (x.shape[1], self.hidden_size):
            raise ValueError(f"{owner}.teacher_forced expects a state of {self.hidden_size} units for "
                             f"{x.shape[1]} sequences; got {tuple(y.shape)}")
        if lengths is not None:
            lengths = torch.as_tensor(lengths, device=x.device)
        terms = F.linear(x, self.weight_ih, self.bias)  # (T, B, n): every step's input terms at once
        k = self.visible
        outputs = []
        for t in range(x.shape[0]):
            new = self.f(torch.addmm(terms[t], y, self.weight_hh.t()))  # (B, n) y(t+1)
            outputs.append(new[:, :k])
            target = targets[t]  # (B, k)
            forced = torch.where(torch.isnan(target), new[:, :k], target)  # d_k(t+1) where it exists
            new = torch.cat([forced, new[:, k:]], dim=1)
            if lengths is not None:
                new = torch.where((t < lengths).unsqueeze(1), new, y)
            y = new
        return torch.stack(outputs), self.split_units(y)


register("fully_recurrent", FullyRecurrentCell,
         "Fully recurrent network, Williams & Zipser (1989): every unit feeds every unit, the first `visible` "
         "are the output")
