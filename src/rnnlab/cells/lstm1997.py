"""LSTM as published in 1997: memory-cell blocks, the constant error carousel, no forget gate.

Hochreiter & Schmidhuber (1997), "Long short-term memory", Neural Computation 9(8), §4.  The hidden
layer holds K memory-cell blocks of S cells each (H = K·S cells); the S cells of block j share one
input gate in_j and one output gate out_j.  With r(t−1) the recurrent inputs (the cells' outputs of
the previous step, and with ``gate_feedback`` the gates' activations too) and x(t) the external input:

    net_in_j(t)   = W_in_j · [x(t); r(t−1); 1]          y^in_j(t)  = f(net_in_j(t))         (§4, eq. before 1)
    net_out_j(t)  = W_out_j · [x(t); r(t−1); 1]         y^out_j(t) = f(net_out_j(t))
    net_c_j^v(t)  = W_c_j^v · [x(t); r(t−1); 1]
    s_c_j^v(t)    = s_c_j^v(t−1) + y^in_j(t) g(net_c_j^v(t)),      s(0) = 0                (eq. 1, the CEC)
    y^c_j^v(t)    = y^out_j(t) h(s_c_j^v(t))                                               (eq. 2)

with the paper's squashing functions (§5, "in all experiments"): f the logistic σ for the gates,
g(x) = 4σ(x) − 2 in [−2, 2] for the cell input, h(x) = 2σ(x) − 1 in [−1, 1] for the cell output.

Options from the papers that followed, off by default:

* ``forget_gate`` (Gers, Schmidhuber & Cummins 2000, "Learning to forget", eq. 3): a third gate per
  block, φ_j = f(net_φ_j), and s(t) = y^φ_j(t) s(t−1) + y^in_j(t) g(net_c(t)).  Without it the state
  of a continual input stream grows without bound: the reason for the gate (task ``reber`` with
  ``task.continual``);
* ``peepholes`` (Gers, Schraudolph & Schmidhuber 2002, "Learning precise timing"): each gate also sees
  its block's cell states, weighted per cell: net_in and net_φ read s(t−1), net_out reads s(t);
* ``gate_feedback``: the gates' activations of step t−1 are recurrent inputs too, as in the paper's
  fully connected hidden layer (Experiment 1: "all non-input units … fully connected").  The state
  then carries them: ``LSTM1997GatedState(h, c, gates)``;
* ``input_bias`` / ``output_bias``: the gates' initial biases, one number for every block or a list of
  one a block.  The paper sets negative output-gate biases, different per block (Experiment 1:
  −1, −2, −3, −4 for four blocks), so that the cells do not all start to feed the outputs at once
  and the blocks differentiate ("the abuse problem", §4); negative input-gate biases (Experiments 2 to
  6, e.g. −1, −2, −3) keep the cells from storing the noise of every step at first;
* ``init_range``: weights uniform in [−a, a]; the paper's a is 0.1 or 0.2 by experiment (0.1 here);
* ``cell_output = "identity"``: h(x) = x instead of 2σ(x) − 1, the paper's choice for Experiments 2a
  and 2b (§5.2: "h is the identity function").  There the cell's state sums p = 100 steps of input;
  squashed, it saturates and the first symbol's trace is lost (measured: p = 100, one cell with
  input-to-output shortcuts, Adam, the final prediction weighted 1,000 times: with h squashed the final
  prediction stayed at chance after 1,500 steps, with h the identity it was right on all of 500 held-out
  sequences at step 1,200).

Layout, like torch.nn's: weight_ih (G, H_in), weight_hh (G, R), bias (G,), rows in the order
[input gates (K); forget gates (K), when present; output gates (K); cell inputs (H)], so G = 2K + H
or 3K + H; R = H, or H + the gates' count with ``gate_feedback``; one bias a unit (the paper's bias
unit).  Peephole weights peephole_in, peephole_forget, peephole_out are (K, S).

The output y_t is h = y^c(t) (B, H); the state is ``LSTM1997State(h, c)`` with c = s_c.

The learning rule of the paper (its appendix: the gradient truncated so that only the carousel carries
error back in time) is a training algorithm, ``train.algorithm = "lstm_truncated"``
(training/algorithms/lstm_truncated.py); it reads one step's parts through ``parts``.  Full BPTT
through this cell (``train.algorithm = "bptt"``) is the default, as for every cell.

Departure from the paper: the paper's nets read the previous step's activations of every unit,
including the input units (net(t) = Σ_u w_u y^u(t−1)), so an input reaches the cells one step after it
is presented; here a step reads x(t) itself, as every rnnlab cell does, and the readout (the model's
output layer) reads y^c(t).  The delay changes no result of the paper's tasks but adds a step to
every lag.
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import RecurrentCell, last_steps, map_state
from .lstm1997_scan import LSTM1997Scan
from .registry import register


CELL_OUTPUTS = ("squashed", "identity")  # h(x) = 2σ(x) − 1 (§5), or h(x) = x (§5.2, Experiments 2a and 2b)


class LSTM1997State(NamedTuple):
    """State of the 1997 LSTM."""

    h: Tensor  # (B, H): the cells' outputs y^c
    c: Tensor  # (B, H): the cells' internal states s_c


class LSTM1997GatedState(NamedTuple):
    """State of the 1997 LSTM with ``gate_feedback``: the gates' activations are recurrent inputs too."""

    h: Tensor  # (B, H)
    c: Tensor  # (B, H)
    gates: Tensor  # (B, 2K or 3K): y^in, y^φ (when present), y^out of the step


class LSTM1997Parts(NamedTuple):
    """One step's activations, for the truncated learning rule and for pictures of the cells at work."""

    in_gate: Tensor  # (B, K) y^in
    forget_gate: Tensor | None  # (B, K) y^φ, None without the forget gate
    out_gate: Tensor  # (B, K) y^out
    cell_input: Tensor  # (B, H) g(net_c)
    cell_input_slope: Tensor  # (B, H) g′(net_c)
    c: Tensor  # (B, H) s_c(t)
    h: Tensor  # (B, H) y^c(t)


def squash_cell_input(net: Tensor) -> tuple[Tensor, Tensor]:
    """g(x) = 4σ(x) − 2 in [−2, 2] and its slope g′(x) = 4σ(x)(1 − σ(x)) (§5)."""
    s = torch.sigmoid(net)
    return 4.0 * s - 2.0, 4.0 * s * (1.0 - s)


def squash_cell_output(c: Tensor) -> Tensor:
    """h(x) = 2σ(x) − 1 in [−1, 1] (§5)."""
    return 2.0 * torch.sigmoid(c) - 1.0


class LSTM1997Cell(RecurrentCell):
    """One step of the 1997 LSTM: K = H / block_size blocks of block_size cells (module docstring).

    hidden_size H is the number of cells; ``block_size`` S must divide it.
    """

    def __init__(self, input_size: int, hidden_size: int, *, block_size: int = 1, forget_gate: bool = False,
                 peepholes: bool = False, gate_feedback: bool = False, bias: bool = True,
                 input_bias: float | list[float] | None = None, output_bias: float | list[float] | None = None,
                 forget_bias: float | list[float] | None = None, init_range: float = 0.1,
                 cell_output: str = "squashed", device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size)
        if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1 \
                or hidden_size % block_size:
            raise ValueError(f"block_size must be a positive int dividing hidden_size = {hidden_size} "
                             f"(the cells, block_size to a block); got {block_size!r}")
        for name, value in (("forget_gate", forget_gate), ("peepholes", peepholes), ("gate_feedback", gate_feedback),
                            ("bias", bias)):
            if not isinstance(value, bool):
                raise TypeError(f"{name} must be true or false; got {value!r}")
        if isinstance(init_range, bool) or not isinstance(init_range, numbers.Real) or not init_range > 0:
            raise ValueError(f"init_range must be a positive number; got {init_range!r}")
        if cell_output not in CELL_OUTPUTS:
            raise ValueError(f"cell_output must be one of {', '.join(CELL_OUTPUTS)}; got {cell_output!r}")
        self.cell_output = cell_output
        self.block_size = block_size
        self.blocks = hidden_size // block_size
        # True while train.algorithm = lstm_truncated trains by backpropagation: ``sequence`` then lets error
        # reach the past only through the carousel s_c (the paper's truncation; training/algorithms/lstm_truncated.py)
        self.truncated_gradient = False
        self.forget_gate, self.peepholes, self.gate_feedback = forget_gate, peepholes, gate_feedback
        self.init_range = float(init_range)
        K, H = self.blocks, hidden_size
        self.gate_count = (3 if forget_gate else 2) * K
        self.recurrent_size = H + (self.gate_count if gate_feedback else 0)
        if gate_feedback:
            self.state_type = LSTM1997GatedState
            self.state_sizes = (H, H, self.gate_count)
        else:
            self.state_type = LSTM1997State
            self.state_sizes = (H, H)
        self.biases = {}
        for name, value, wanted in (("input_bias", input_bias, True), ("output_bias", output_bias, True),
                                    ("forget_bias", forget_bias, forget_gate)):
            if value is None:
                continue
            if not bias:
                raise ValueError(f"{name} needs bias=True")
            if not wanted:
                raise ValueError(f"{name} needs forget_gate=true")
            self.biases[name] = _per_block(name, value, K)
        kw = {"device": device, "dtype": dtype}
        rows = self.gate_count + H
        self.weight_ih = nn.Parameter(torch.empty(rows, input_size, **kw))
        self.weight_hh = nn.Parameter(torch.empty(rows, self.recurrent_size, **kw))
        self.bias = nn.Parameter(torch.empty(rows, **kw)) if bias else None
        gates = ("in", "forget", "out") if forget_gate else ("in", "out")
        for gate in gates if peepholes else ():
            self.register_parameter(f"peephole_{gate}", nn.Parameter(torch.empty(K, block_size, **kw)))
        self.reset_parameters()

    # ---- rows of the stacked weights ----------------------------------------------------------------------
    def rows(self, unit: str) -> slice:
        """The rows of weight_ih, weight_hh and bias feeding ``unit``: "in", "forget", "out" or "cell"."""
        K = self.blocks
        starts = {"in": 0, "forget": K, "out": 2 * K if self.forget_gate else K}
        if unit == "cell":
            return slice(self.gate_count, self.gate_count + self.hidden_size)
        if unit not in starts or (unit == "forget" and not self.forget_gate):
            raise ValueError(f"this cell has no {unit!r} rows")
        return slice(starts[unit], starts[unit] + K)

    def reset_parameters(self) -> None:
        """Every weight U(−init_range, init_range) (the paper's [−0.1, 0.1] or [−0.2, 0.2]); then the gates'
        biases given as options."""
        for p in self.parameters():
            nn.init.uniform_(p, -self.init_range, self.init_range)
        if self.bias is None:
            return
        with torch.no_grad():
            for name, unit in (("input_bias", "in"), ("output_bias", "out"), ("forget_bias", "forget")):
                if name in self.biases:
                    self.bias[self.rows(unit)] = torch.tensor(self.biases[name], dtype=self.bias.dtype)

    def extra_repr(self) -> str:
        extras = [name for name in ("forget_gate", "peepholes", "gate_feedback") if getattr(self, name)]
        return (f"{self.input_size}, {self.hidden_size}, blocks={self.blocks}, block_size={self.block_size}"
                + "".join(f", {name}=True" for name in extras)
                + (f", cell_output={self.cell_output!r}" if self.cell_output != "squashed" else ""))

    # ---- one step -----------------------------------------------------------------------------------------
    def recurrent_inputs(self, state) -> Tensor:
        """r(t−1): the cells' outputs, and the gates' activations with ``gate_feedback`` (B, R)."""
        return torch.cat([state.h, state.gates], dim=-1) if self.gate_feedback else state.h

    def parts(self, x: Tensor, state, projected: Tensor | None = None) -> LSTM1997Parts:
        """Every activation of the step from x (B, H_in) and the state; ``projected`` (B, G), when given, is
        W_ih x + b computed ahead (the hoisted input product of ``sequence``)."""
        if projected is None:
            projected = F.linear(x, self.weight_ih, self.bias)
        net = projected + F.linear(self.recurrent_inputs(state), self.weight_hh)  # (B, G)
        B, K, S = net.shape[0], self.blocks, self.block_size
        c_prev = state.c.view(B, K, S)
        net_in = net[:, self.rows("in")]  # (B, K)
        if self.peepholes:
            net_in = net_in + (c_prev * self.peephole_in).sum(-1)
        in_gate = torch.sigmoid(net_in)
        forget = None
        if self.forget_gate:
            net_forget = net[:, self.rows("forget")]
            if self.peepholes:
                net_forget = net_forget + (c_prev * self.peephole_forget).sum(-1)
            forget = torch.sigmoid(net_forget)
        cell_input, slope = squash_cell_input(net[:, self.rows("cell")])  # (B, H)
        carried = c_prev if forget is None else c_prev * forget.unsqueeze(-1)
        c = carried + in_gate.unsqueeze(-1) * cell_input.view(B, K, S)  # (B, K, S): the constant error carousel
        net_out = net[:, self.rows("out")]
        if self.peepholes:
            net_out = net_out + (c * self.peephole_out).sum(-1)
        out_gate = torch.sigmoid(net_out)
        h = out_gate.unsqueeze(-1) * (c if self.cell_output == "identity" else squash_cell_output(c))  # (B, K, S)
        return LSTM1997Parts(in_gate, forget, out_gate, cell_input, slope, c.view(B, -1), h.view(B, -1))

    def state_of(self, parts: LSTM1997Parts):
        """The state after a step, from its parts."""
        if not self.gate_feedback:
            return LSTM1997State(parts.h, parts.c)
        gates = [parts.in_gate] + ([parts.forget_gate] if self.forget_gate else []) + [parts.out_gate]
        return LSTM1997GatedState(parts.h, parts.c, torch.cat(gates, dim=-1))

    def forward(self, x: Tensor, state) -> tuple[Tensor, LSTM1997State | LSTM1997GatedState]:
        self.check_step(x, state)
        parts = self.parts(x, state)
        return parts.h, self.state_of(parts)

    def sequence(self, x: Tensor, state, lengths: Tensor | None = None):
        """The whole sequence with the input product hoisted: W_ih x_t + b for all steps in one product
        (T, B, G); then, without peepholes, the hand-written kernel of lstm1997_scan.py
        (one autograd node), else a loop of the recurrent product and the element-wise step."""
        projected = F.linear(x, self.weight_ih, self.bias)  # (T, B, G)
        if not self.peepholes:
            gates0 = state.gates if self.gate_feedback else state.h.new_empty(state.h.shape[0], 0)
            hs, cs, gs = LSTM1997Scan.apply(projected, state.h, state.c, gates0, self.weight_hh, self.blocks,
                                            self.forget_gate, self.truncated_gradient,
                                            self.cell_output == "identity")
            final = [last_steps(hs, lengths), last_steps(cs, lengths)]
            if self.gate_feedback:
                return hs, LSTM1997GatedState(*final, last_steps(gs, lengths))
            return hs, LSTM1997State(*final)
        outputs = []
        for t in range(x.shape[0]):
            read = _held(state) if self.truncated_gradient else state
            new_state = self.state_of(self.parts(x[t], read, projected[t]))
            if lengths is not None:
                live = (t < lengths).unsqueeze(1)  # (B, 1)
                new_state = map_state(lambda new, old: torch.where(live, new, old), new_state, state)
            outputs.append(new_state.h)
            state = new_state
        return torch.stack(outputs), state


def _held(state):
    """The state with the recurrent inputs of the net inputs detached and the carousel s_c attached."""
    if isinstance(state, LSTM1997GatedState):
        return LSTM1997GatedState(state.h.detach(), state.c, state.gates.detach())
    return LSTM1997State(state.h.detach(), state.c)


def _per_block(name: str, value, blocks: int) -> list[float]:
    """A bias option as one float a block: a number for every block, or a list of ``blocks`` numbers."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value):
        return [float(value)] * blocks
    if isinstance(value, (list, tuple)) and len(value) == blocks and all(
            isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) for v in value):
        return [float(v) for v in value]
    raise ValueError(f"{name} must be a number or a list of {blocks} numbers (one a block); got {value!r}")


register("lstm1997", LSTM1997Cell,
         "LSTM as published, Hochreiter & Schmidhuber (1997): memory-cell blocks, no forget gate (options: "
         "the forget gate of Gers et al. 2000, peepholes)")
