"""The Neural Turing Machine: a controller network with read and write heads on an N × M memory.

Graves, Wayne & Danihelka (2014), "Neural Turing Machines", arXiv:1410.5401, with
the choices Graves et al. leave open made as in Collier & Beel (2018),
"Implementing Neural Turing Machines", ICANN (arXiv:1807.08518), where noted.

One step t, with R read heads and W write heads (H = R + W):

    c_t, ĥ_t = controller([x_t, r_{t−1}^1 … r_{t−1}^R], ĥ_{t−1})        C features
    k, β, g, s, γ (every head), e, a (write heads) = act(clip(W_p c_t + b_p))     heads.py
    w_t^h = address(M_{t−1}, w_{t−1}^h, k^h, β^h, g^h, s^h, γ^h)   for all H heads   Figure 2
    r_t^h = Σ_i w_t^h(i) M_{t−1}(i)                  read heads            eq. 2
    M_t   = M_{t−1} ⊙ Π_h (1 − w_t^h e_hᵀ) + Σ_h w_t^h a_hᵀ   write heads  eqs. 3-4
    y_t   = W_y [c_t, r_t^1 … r_t^R] + b_y           raw logits (the task applies σ)

Order within a step: all heads address the memory M_{t−1} as the step found it, the
read heads read it, and then the write heads write.  Reading before writing is the
order of Collier & Beel and of pytorch-ntm (read heads first); it also lets all H
heads share one content-addressing computation on one memory (one matrix product
and one set of row norms per step).  What is written at step t is read at t + 1 at
the earliest, which costs a copy task one step of latency that its delimiter covers.

Initial state (``initial_state``):

    memory       "constant": every cell 1e-6, Collier & Beel's best scheme (it converged
                 about twice as fast as the next best in their comparison); nothing stored.
                 "learned": a parameter N × M, starting U(−1/√(N+M), 1/√(N+M)).
                 "random": a fixed matrix drawn once at construction (from torch's global
                 generator) from a normal distribution of mean 0 and standard deviation
                 0.5 truncated at ±2σ; a buffer, saved with the weights.  The scale is
                 Collier & Beel's random scheme, whose code squashes N(0, 0.5²) draws
                 with tanh; the truncation bounds the cells here instead.
    reads        r_0: a parameter R × M, starting at 0, learned.
    weightings   w_0: fixed one-hot on slot 0 for every read and write head, so that
                 location addressing (g → 0, s = +1) has a definite place to start.
                 Departure: Collier & Beel's published code learns w_0 as softmax of
                 learned logits, which start near uniform; a one-hot costs no
                 parameters and gives the shifts something to move (a shifted uniform
                 weighting is uniform).  On copy (lengths 1-3, 4 bits, feedforward
                 controller, 8 × 8 memory, Adam 1e-2, 3 seeds) the one-hot start
                 reached < 2 % bit errors in 100-200 steps; a uniform start was still
                 at 8-9 % after 1500.
    controller   zeros, the controller cells' own initial state.

Clipping (``clip_controller``): the controller's outputs to the heads, the linear
parameters k, β, g, s, γ, e, a before their activations, are clipped to ±20 as in
Collier & Beel, who found it kept training free of NaN.  The output y_t is not
clipped: the task's cross-entropy with logits is stable for any logit, and a clip
would stop the gradient of a confidently wrong output.

Gradient clipping in the backward pass (``gradient_clip``, default GRADIENT_CLIP): at every
step, the gradient flowing back into

    M_{t−1}, w_{t−1}, r_{t−1}   the memory, the heads' weightings and the read vectors the step receives
    W_p c_t + b_p              the heads' linear outputs, before their activations (heads.py)

is clamped elementwise to [−gradient_clip, gradient_clip]; the forward values are unchanged,
bit for bit (gradients.py).  Graves (2013), "Generating sequences with recurrent neural
networks" §2, clips the derivatives with respect to the network inputs of the LSTM layers to
[−1, 1] inside the backward pass (Graves et al. 2014 do not say whether or where they clip
the NTM's gradients).  Departure: the clip here sits on the memory and the heads, the path that the
LSTM's own gating does not protect, and not inside the controller's cells, whose recurrence
(the LSTM's cell state) is left as the cell computes it.  Why: without it, an n-gram run
(sequences of 200 steps, controller of 100, memory 128 × 20) saw the gradient flowing back
through the memory reach inf around step 4,000 and turn NaN in the write's backward (inf × 0),
and the trainer skipped 8 steps.  The bound is per element of a loss averaged over the batch
and the bits (Graves's loss was a sum), so [−1, 1] here is far looser than his: it does not
act while training is healthy, only in spikes and blow-ups (GRADIENT_CLIP, with the measurements).
Cost: on the reference path, two nodes per step (gradients.py), about 5 % of a training step of the
paper's NTM on CPU; on the fast paths, a clamp of three gradients inside the hand-written backward.

Three paths compute the same function (values equal to about 1e-15 in float64, tests/memory/test_fused.py):

    whole sequence   a one-layer LSTM controller (the paper's NTM): ``forward`` is one autograd node with a
                     hand-written backward (sequence.py): the inputs' projection of every step in one product,
                     one product a step for the gates, the weight gradients one product over all steps
    one node a step  any other controller: the controller through autograd, then the heads, the addressing,
                     the read and the write in one node with a hand-written backward (fused.py); also ``step``
    reference        ``NTM.fused = False``: heads.py and addressing.py, every operation recorded by autograd

Measured on the copy task (batch 32, the paper's sizes, one thread, a full training step with Adam, on the
2-core machine shared with other trainings, CPU time of the process, medians of interleaved runs): the
reference path 63-71 ms a step, one node a step 54 ms, the whole sequence 39-42 ms.  Where the reference
path spent its time: about 60 autograd nodes a step (a third of them passes over the whole B × N × M
memory), and one weight-gradient product per step and weight.  What is left is mostly fixed cost per
operation: with 8 memory slots instead of 128 the whole-sequence step still takes 30 ms of the 44.
"""

from __future__ import annotations

import math
import numbers
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from ..cells import available, create
from ..cells.base import check_size
from ..cells.lstm import LSTMCell
from . import addressing
from .fused import head_adds, heads_step
from .gradients import check_bound, clip_gradient, clip_gradients
from .heads import HeadParameterLayer
from .sequence import LSTMControllerSequence

MEMORY_INITS = ("constant", "learned", "random")
CONSTANT_MEMORY = 1e-6
"""Every memory cell at the start under memory_init="constant" (Collier & Beel 2018)."""
RANDOM_MEMORY_STD = 0.5
"""Standard deviation of memory_init="random" (Collier & Beel 2018), truncated at ±2σ."""
FEEDFORWARD = "feedforward"
GRADIENT_CLIP = 1.0
"""The default bound of the gradient clip in the backward pass (module docstring): Graves's (2013) [−1, 1].
Measured on the paper's NTM (LSTM controller of 100, memory 128 × 20, batch 32, Adam 1e-3, the loss a
mean), the largest |gradient| arriving at any clip point in a training step: about 1e-4 at
initialisation (copy, n-grams), a median of 1e-3 over 2,000 steps of copy, 1e-3 to 1e-2 at step 3,000
of n-grams.  On copy (seed 1) it exceeded 1 in 40 of 2,000 steps, most of them in and around the
loss spikes (steps 850-890, 1,240-1,260, 1,680-1,870), where it reached 17 at the memory: the bound
acts on spikes and blow-ups only.  Copy to 2,500 steps, seed 0: first
<= 0.1 bit errors per sequence (held-out) at step 2,250 with a bound of 1, 2,500 with 10, not yet
(0.134) at 2,500 without a clip.  A bound of 0.01 acts in about a fifth of the steps and learnt copy
as fast or faster on two seeds, but neither 1 nor 0.01 removed copy's occasional jumps back to
tens of bit errors, which come with a norm of the parameters' gradient 10-250 times its usual.
Not yet settled: on repeat copy (the recommended curriculum, seed 0, 20 minutes) the run with a bound
of 1 reached 0.77 bit errors at step 3,750 and collapsed at step 3,850 to about 80, where it stayed
(78.5 at step 7,000); the run without a clip was at 0.34-0.66 at steps 4,500-4,750.  One run each."""


class NTMState(NamedTuple):
    """Everything an NTM carries from one step to the next (a value, never kept on the module)."""

    memory: Tensor  # M_t (B, N, M)
    read_weights: Tensor  # w^r_t (B, R, N)
    write_weights: Tensor  # w^w_t (B, W, N)
    reads: Tensor  # r_t (B, R, M)
    controller: Any  # a tuple of the controller cells' states, one per layer; None for "feedforward"


class NTMTrace(NamedTuple):
    """What the heads did at every step, for pictures (``forward(..., return_weights=True)``)."""

    read_weights: Tensor  # w^r_t (T, B, R, N)
    write_weights: Tensor  # w^w_t (T, B, W, N)
    adds: Tensor  # a_t, the write heads' add vectors (T, B, W, M)
    reads: Tensor  # r_t, the read vectors (T, B, R, M)


class NTM(nn.Module):
    """Neural Turing Machine: x (T, B, input_size) -> (y (T, B, output_size), final NTMState).

    Args:
        input_size: I, features of x_t.
        output_size: O, features of y_t (raw logits).
        controller: "feedforward" (an MLP of ``controller_layers`` tanh layers of
            ``controller_size`` units) or any name of ``rnnlab.cells.available()``
            ("lstm", "gru", "elman_tanh", ...), stacked ``controller_layers`` deep.
        controller_size: C, units per controller layer.
        controller_layers: depth of the controller.
        memory_slots: N, rows of the memory.
        memory_width: M, width of each row.
        read_heads: R.  write_heads: W.
        shift_range: s, the heads may rotate their focus by −s … +s slots per step
            (0 <= s < N/2, so that the shifts are distinct).
        memory_init: "constant", "learned" or "random" (module docstring).
        clip_controller: the head parameters are clipped to ±this before their
            activations; None for no clip (module docstring).
        gradient_clip: the gradient flowing back into the memory, the weightings, the read
            vectors and the head parameters is clamped to ±this elementwise at every step,
            inside the backward pass; the forward is unchanged.
            A positive number, or None (also "none", TOML's spelling) for no clamp (module docstring).
        **controller_options: passed to ``rnnlab.cells.create`` (e.g. ``forget_bias``).

    ``forward(x, state=None, lengths=None, *, return_weights=False)``:
        x: (T, B, I).  state: an ``NTMState`` to continue from; ``initial_state`` when None.
        lengths: (B,) true lengths of a padded batch.  The model is causal, so y_t
            never depends on later steps, and outputs past a sequence's length are
            simply unused by the task's loss and metrics; only the final state is taken
            at each sequence's own last step, as ``rnnlab.Recurrent`` does.
        return_weights: also return an ``NTMTrace``: the weightings, add vectors and read
            vectors at every step.
        Returns (y (T, B, O), final NTMState), or (y, state, trace).
    ``step(x_t, state) -> (y_t, state)``: one step, x_t (B, I).
    ``fused``: True (the default) runs the fast paths, False the autograd reference path (module docstring).
    ``figures(batch, directory)``: a picture of the first sequence of a batch, inputs, targets,
        outputs and the weightings over time (Graves et al. 2014, Figures 4 and 6; pictures.py).
    """

    def __init__(self, input_size: int, output_size: int, controller: str = "lstm", controller_size: int = 100,
                 controller_layers: int = 1, memory_slots: int = 128, memory_width: int = 20,
                 read_heads: int = 1, write_heads: int = 1, shift_range: int = 1, memory_init: str = "constant",
                 clip_controller: float | None = 20.0, gradient_clip: float | None = GRADIENT_CLIP,
                 **controller_options) -> None:
        super().__init__()
        for name, value in (("input_size", input_size), ("output_size", output_size),
                            ("controller_size", controller_size), ("controller_layers", controller_layers),
                            ("memory_slots", memory_slots), ("memory_width", memory_width),
                            ("read_heads", read_heads), ("write_heads", write_heads)):
            check_size(name, value)
        if isinstance(shift_range, bool) or not isinstance(shift_range, int) or \
                not 0 <= shift_range < memory_slots / 2:
            raise ValueError(f"shift_range must be an int with 0 <= shift_range < memory_slots / 2 = "
                             f"{memory_slots / 2:g}; got {shift_range!r}")
        cells = available()
        if not isinstance(controller, str) or (controller != FEEDFORWARD and controller not in cells):
            raise ValueError(f"unknown controller {controller!r}; choose {FEEDFORWARD!r} or a cell: "
                             f"{', '.join(cells)}")
        if memory_init not in MEMORY_INITS:
            raise ValueError(f"unknown memory_init {memory_init!r}; choose one of {', '.join(MEMORY_INITS)}")
        if clip_controller is not None and (isinstance(clip_controller, bool) or not isinstance(
                clip_controller, numbers.Real) or not clip_controller > 0):
            raise ValueError(f"clip_controller must be a positive number or None; got {clip_controller!r}")
        gradient_clip = check_bound("gradient_clip", gradient_clip)
        if controller == FEEDFORWARD and controller_options:
            raise ValueError(f"the feedforward controller takes no options; got {', '.join(controller_options)}")

        self.input_size, self.output_size = input_size, output_size
        self.controller_name, self.controller_size, self.controller_layers = controller, controller_size, \
            controller_layers
        self.memory_slots, self.memory_width = memory_slots, memory_width
        self.read_heads, self.write_heads, self.shift_range = read_heads, write_heads, shift_range
        self.memory_init = memory_init
        self.clip_controller = None if clip_controller is None else float(clip_controller)
        self.gradient_clip = gradient_clip
        self.fused = True  # False: the reference path through heads.py and addressing.py (``_transition``)

        N, M, R = memory_slots, memory_width, read_heads
        self.controller = nn.ModuleList()
        layer_input = input_size + R * M  # [x_t, r_{t−1}]
        for _ in range(controller_layers):
            if controller == FEEDFORWARD:
                layer = nn.Linear(layer_input, controller_size)
                layer_input = controller_size
            else:
                layer = create(controller, layer_input, controller_size, **controller_options)
                layer_input = layer.output_size
            self.controller.append(layer)
        self.controller_output_size = layer_input  # C (an LSTM with proj_size outputs fewer)
        self.heads = HeadParameterLayer(layer_input, read_heads, write_heads, M, shift_range,
                                        clip=self.clip_controller, gradient_clip=gradient_clip)
        self.output = nn.Linear(layer_input + R * M, output_size)  # [c_t, r_t] -> y_t
        self.initial_reads = nn.Parameter(torch.zeros(R, M))  # r_0
        if memory_init == "learned":
            bound = 1.0 / math.sqrt(N + M)
            self.initial_memory = nn.Parameter(torch.empty(N, M).uniform_(-bound, bound))
        elif memory_init == "random":
            std = RANDOM_MEMORY_STD
            self.register_buffer("initial_memory", nn.init.trunc_normal_(torch.empty(N, M), std=std,
                                                                         a=-2 * std, b=2 * std))
        else:  # a constant needs no storage: initial_state expands one number
            self.register_buffer("initial_memory", None)

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.output_size}, controller={self.controller_name!r}, "
                f"memory={self.memory_slots}x{self.memory_width}, read_heads={self.read_heads}, "
                f"write_heads={self.write_heads}, shift_range={self.shift_range}, "
                f"memory_init={self.memory_init!r}, gradient_clip={self.gradient_clip}")

    # ---- state --------------------------------------------------------------------------------
    def initial_state(self, batch_size: int, *, dtype=None, device=None) -> NTMState:
        """The state before the first step (module docstring), for ``batch_size`` sequences."""
        check_size("batch_size", batch_size)
        ref = self.initial_reads
        dtype, device = dtype or ref.dtype, device or ref.device
        B, N, M = batch_size, self.memory_slots, self.memory_width

        def one_hot(heads: int) -> Tensor:  # (B, heads, N), all mass on slot 0
            w = torch.zeros(B, heads, N, dtype=dtype, device=device)
            w[..., 0] = 1.0
            return w

        memory = self.initial_memory
        if memory is None:  # "constant"
            memory = torch.tensor(CONSTANT_MEMORY, dtype=dtype, device=device)
        controller = None
        if self.controller_name != FEEDFORWARD:
            controller = tuple(cell.initial_state(B, dtype=dtype, device=device) for cell in self.controller)
        return NTMState(
            memory=memory.to(dtype=dtype, device=device).expand(B, N, M),
            read_weights=one_hot(self.read_heads),
            write_weights=one_hot(self.write_heads),
            reads=self.initial_reads.to(dtype=dtype, device=device).expand(B, self.read_heads, M),
            controller=controller,
        )

    def _check_state(self, state, batch_size: int) -> None:
        if not isinstance(state, NTMState):
            raise TypeError(f"NTM expects the state as an NTMState (or None); got {type(state).__name__}")
        expected = (batch_size, self.memory_slots, self.memory_width)
        if tuple(state.memory.shape) != expected:
            raise ValueError(f"NTM expects state.memory of shape {expected} for a batch of {batch_size}; "
                             f"got {tuple(state.memory.shape)}")

    def _check_input(self, x, dims: int) -> None:
        shape = "(T, B, {})" if dims == 3 else "(B, {})"
        if not isinstance(x, Tensor) or x.dim() != dims or x.shape[-1] != self.input_size:
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"NTM expects {'x' if dims == 3 else 'x_t'} of shape "
                             f"{shape.format(self.input_size)}; got {got}")
        if not x.is_floating_point():
            raise TypeError(f"NTM expects floating-point input; got dtype {x.dtype}")

    # ---- one step -----------------------------------------------------------------------------
    def _control(self, controller_input: Tensor, controller_state) -> tuple[Tensor, Any]:
        """[x_t, r_{t−1}] (B, I + R·M) -> (c_t (B, C), new controller state)."""
        h = controller_input
        if self.controller_name == FEEDFORWARD:
            for layer in self.controller:
                h = torch.tanh(layer(h))
            return h, None
        states = []
        for cell, state in zip(self.controller, controller_state):
            h, state = cell(h, state)
            states.append(state)
        return h, tuple(states)

    def _transition(self, x_t: Tensor, memory: Tensor, weights: Tensor, reads: Tensor, controller_state,
                    trace: bool = False):
        """One step on the loop's working state; weights (B, H, N) hold the read heads' rows first.

        Returns c_t (B, C), M_t (B, N, M), w_t (B, H, N), r_t (B, R, M), controller state, and a_t (B, W, M)
        when ``trace`` (else None).
        With gradient_clip, the gradients into M_{t−1}, w_{t−1} and r_{t−1} are clamped, and those into the
        head parameters (module docstring).  The fast path (``fused``) computes the heads, the addressing,
        the read and the write in one node with a hand-written backward (fused.py); the reference path
        composes heads.py and addressing.py under autograd.
        """
        if not self.fused:
            return self._reference_transition(x_t, memory, weights, reads, controller_state)
        reads = clip_gradient(reads, self.gradient_clip)
        controller_output, controller_state = self._control(torch.cat([x_t, reads.flatten(1)], dim=-1),
                                                            controller_state)
        raw = self.heads.linear(controller_output)  # (B, P), before the clip and the activations
        sizes = (self.read_heads, self.write_heads, self.memory_width, self.shift_range)
        weights, reads, memory = heads_step(memory, weights, raw, sizes, self.clip_controller, self.gradient_clip)
        adds = head_adds(raw, sizes, self.clip_controller) if trace else None
        return controller_output, memory, weights, reads, controller_state, adds

    def _reference_transition(self, x_t: Tensor, memory: Tensor, weights: Tensor, reads: Tensor, controller_state):
        """``_transition`` through heads.py and addressing.py, every operation recorded by autograd."""
        memory, weights, reads = clip_gradients((memory, weights, reads), self.gradient_clip)
        controller_output, controller_state = self._control(torch.cat([x_t, reads.flatten(1)], dim=-1),
                                                            controller_state)
        p = self.heads(controller_output)
        weights = addressing.address(memory, weights, p.key, p.key_strength, p.gate, p.shift_weights, p.gamma)
        read_weights, write_weights = weights.split([self.read_heads, self.write_heads], dim=1)
        reads = addressing.read(memory, read_weights)  # from M_{t−1}: read, then write
        memory = addressing.write(memory, write_weights, p.erase, p.add)
        return controller_output, memory, weights, reads, controller_state, p.add

    def step(self, x_t: Tensor, state: NTMState) -> tuple[Tensor, NTMState]:
        """One time step: x_t (B, I), state -> (y_t (B, O), new state)."""
        self._check_input(x_t, 2)
        self._check_state(state, x_t.shape[0])
        weights = torch.cat([state.read_weights, state.write_weights], dim=1)  # (B, H, N)
        c, memory, weights, reads, controller_state, _ = self._transition(x_t, state.memory, weights, state.reads,
                                                                          state.controller)
        y = self.output(torch.cat([c, reads.flatten(1)], dim=-1))  # (B, O)
        return y, self._state(memory, weights, reads, controller_state)

    def _state(self, memory, weights, reads, controller_state) -> NTMState:
        read_weights, write_weights = weights.split([self.read_heads, self.write_heads], dim=1)
        return NTMState(memory, read_weights, write_weights, reads, controller_state)

    # ---- a whole sequence ---------------------------------------------------------------------
    def forward(self, x: Tensor, state: NTMState | None = None, lengths: Tensor | None = None, *,
                return_weights: bool = False):
        """x (T, B, I) -> (y (T, B, O), final NTMState) [, NTMTrace]; see the class docstring."""
        self._check_input(x, 3)
        steps, batch = x.shape[0], x.shape[1]
        if state is None:
            state = self.initial_state(batch, dtype=x.dtype, device=x.device)
        self._check_state(state, batch)
        if self._whole_sequence():
            return self._forward_sequence(x, state, _last_steps(lengths, steps, batch), return_weights)
        ends = _final_steps(lengths, steps, batch)  # {t: mask (B,) of sequences whose last step is t}

        memory, reads, controller_state = state.memory, state.reads, state.controller
        weights = torch.cat([state.read_weights, state.write_weights], dim=1)  # (B, H, N)
        final = None
        controller_outputs, all_reads, all_weights, all_adds = [], [], [], []
        for t in range(steps):
            c, memory, weights, reads, controller_state, adds = self._transition(x[t], memory, weights, reads,
                                                                                 controller_state, return_weights)
            controller_outputs.append(c)
            all_reads.append(reads.flatten(1))
            if return_weights:
                all_weights.append(weights)
                all_adds.append(adds)
            if t in ends:
                current = self._state(memory, weights, reads, controller_state)
                final = current if final is None else _where(ends[t], current, final)
        if final is None:
            final = self._state(memory, weights, reads, controller_state)
        # The readout is not recurrent: one matrix product for every step at once.
        read_vectors = torch.stack(all_reads)  # (T, B, R·M)
        y = self.output(torch.cat([torch.stack(controller_outputs), read_vectors], dim=-1))  # (T, B, O)
        if not return_weights:
            return y, final
        stacked = torch.stack(all_weights)  # (T, B, H, N)
        read_weights, write_weights = stacked.split([self.read_heads, self.write_heads], dim=2)
        return y, final, NTMTrace(read_weights, write_weights, torch.stack(all_adds),
                                  read_vectors.view(steps, batch, self.read_heads, self.memory_width))

    def _whole_sequence(self) -> bool:
        """Whether ``forward`` runs as one node (sequence.py): the fast path with a one-layer LSTM controller
        as rnnlab.cells makes it (biases, no projection)."""
        if not self.fused or self.controller_name != "lstm" or self.controller_layers != 1:
            return False
        cell = self.controller[0]
        return type(cell) is LSTMCell and cell.weight_hr is None and cell.bias_ih is not None

    def _forward_sequence(self, x: Tensor, state: NTMState, last: Tensor | None, return_weights: bool):
        """``forward`` through LSTMControllerSequence; last (B,): each sequence's final step, None for T − 1."""
        steps, batch = x.shape[0], x.shape[1]
        R = self.read_heads
        cell, (controller,) = self.controller[0], state.controller
        sizes = (R, self.write_heads, self.memory_width, self.shift_range)
        weights = torch.cat([state.read_weights, state.write_weights], dim=1)  # (B, H, N)
        hs, cs, reads, all_weights, raws, memory = LSTMControllerSequence.apply(
            x, state.memory, weights, state.reads, controller.h, controller.c, cell.weight_ih, cell.bias_ih,
            cell.weight_hh, cell.bias_hh, self.heads.linear.weight, self.heads.linear.bias, sizes,
            self.clip_controller, self.gradient_clip, last)
        read_vectors = reads.flatten(2)  # (T, B, R·M)
        y = self.output(torch.cat([hs, read_vectors], dim=-1))  # (T, B, O), one product for every step
        at = (-1,) if last is None else (last.to(x.device), torch.arange(batch, device=x.device))
        final_weights = all_weights[at]  # (B, H, N)
        final = NTMState(memory, final_weights[:, :R], final_weights[:, R:], reads[at],
                         (type(controller)(hs[at], cs[at]),))
        if not return_weights:
            return y, final
        return y, final, NTMTrace(all_weights[:, :, :R], all_weights[:, :, R:], head_adds(raws, sizes,
                                                                                          self.clip_controller),
                                  reads)

    # ---- pictures -----------------------------------------------------------------------------
    def figures(self, batch, directory: str | Path, *, name: str = "ntm_trace") -> list[Path]:
        """``<name>.png`` in ``directory`` (created): the inputs, targets, outputs σ(y), the add and read
        vectors and the write and read weightings over time of the first sequence of ``batch`` (a
        ``tasks.Batch`` with vector inputs), up to its length, as in Graves et al. (2014), Figures 4
        and 6 (``pictures.plot_trace``).
        Returns the files written.

        The targets are read as the bit-vector tasks lay them out (tasks/bits.py): (T, B, O + 1), O target
        bits and the scored flag last; targets (T, B, O) are all scored, and targets of any other shape
        are left out of the picture.  The model runs in eval mode without a graph; its mode is restored."""
        from .pictures import plot_trace

        steps = batch.inputs.shape[0] if batch.lengths is None else int(batch.lengths[0])
        weight = self.output.weight
        x = batch.inputs[:steps, :1].to(weight.device, weight.dtype)  # (T, 1, I)
        training = self.training
        self.eval()
        try:
            with torch.no_grad():
                y, _, trace = self(x, return_weights=True)  # y (T, 1, O)
        finally:
            self.train(training)
        O = self.output_size
        targets, scored = batch.targets[:steps, 0], None  # (T, O + 1) for the bit-vector tasks
        if targets.dim() == 2 and targets.shape[1] in (O, O + 1) and targets.is_floating_point():
            if targets.shape[1] == O + 1:
                scored = targets[:, O] == 1  # (T,)
            targets = targets[:, :O]  # (T, O)
        else:
            targets = None
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        title = (f"Neural Turing Machine, first sequence of the batch: {steps} steps, memory "
                 f"{self.memory_slots} × {self.memory_width}, controller {self.controller_name}")
        path = plot_trace(x[:, 0], targets, torch.sigmoid(y[:, 0]), scored, trace.write_weights[:, 0],
                          trace.read_weights[:, 0], directory / f"{name}.png", title, adds=trace.adds[:, 0],
                          reads=trace.reads[:, 0])
        return [path]


def _last_steps(lengths, steps: int, batch: int) -> Tensor | None:
    """The last real step (B,) of each sequence, from lengths (B,); None when every sequence runs to the end
    (or lengths is None): the final state is then simply the last."""
    if lengths is None:
        return None
    lengths = torch.as_tensor(lengths)
    if lengths.shape != (batch,):
        raise ValueError(f"NTM expects lengths of shape ({batch},); got {tuple(lengths.shape)}")
    last = lengths.to("cpu", torch.long).clamp(1, steps) - 1  # (B,)
    return None if bool((last == steps - 1).all()) else last


def _final_steps(lengths, steps: int, batch: int) -> dict[int, Tensor]:
    """{step t: mask (B,) of the sequences whose last real step is t}, from lengths (B,); empty when every
    sequence runs to the end."""
    last = _last_steps(lengths, steps, batch)
    return {} if last is None else {int(t): last == t for t in last.unique()}


def _where(mask: Tensor, new, old):
    """Field by field: sequence b takes ``new`` where mask[b], else ``old`` (nested tuples, None kept)."""
    if new is None:
        return None
    if isinstance(new, Tensor):
        m = mask.to(new.device).view(-1, *([1] * (new.dim() - 1)))
        return torch.where(m, new, old)
    fields = (_where(mask, n, o) for n, o in zip(new, old))
    return type(new)(*fields) if hasattr(new, "_fields") else type(new)(fields)
