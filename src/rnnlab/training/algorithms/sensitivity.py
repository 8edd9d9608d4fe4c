"""What the algorithms that carry the state's sensitivity forward in time share (rtrl, uoro, snap1).

Notation, once for all three (the papers' own symbols in brackets):

    s_t = F(s_{t−1}, x_t; θ)    the recurrent layer's state, every field side by side: n numbers a sequence
    J_t = ∂F/∂s_{t−1}  (n × n)   [Menick et al. 2021: D_t, the dynamics; Tallec & Ollivier 2018: ∂F_state/∂s]
    K_t = ∂F/∂θ        (n × P)   [Menick et al.: I_t, the immediate Jacobian; T&O: ∂F_state/∂θ]
    M_t = ∂s_t/∂θ      (n × P)   the sensitivity [Williams & Zipser 1989: p^k_ij; Menick et al.: J_t, the influence]
    L = Σ_t L_t, the loss L_t read from the output at step t, itself computed from (s_{t−1}, x_t; θ)

RTRL carries M_t = J_t M_{t−1} + K_t exactly (M_0 = 0); UORO carries an unbiased rank-one estimate of it,
SnAp-1 its entries on the one-step sparsity pattern of K_t.  All three read the gradient the same way,

    ∂L/∂θ ≈ Σ_t [ ∂L_t/∂θ|_{s_{t−1}} + (∂L_t/∂s_{t−1}) M_{t−1} ],

the first term (the step's direct dependence on θ, the readout's weights included) by one backward pass
through the step, the second from the algorithm's stand-in for M_{t−1}.

This module holds the pieces they share:

* ``refusal``: the combinations none of them can train (one line each);
* ``OneStep``: the model's step as a function of (θ, s_{t−1}, x_t) that ``torch.func`` transforms, vmapped
  over the batch's sequences: s_t; (K_t, J_t) by ``jacrev`` (n reverse passes); J_t only (n reverse
  passes, no parameter gradients); J_t v by ``jvp`` (one forward-mode pass); uᵀ K_t by ``vjp`` (one
  reverse pass a cotangent u); and the loss step;
* ``SensitivityAlgorithm``: the loop over time (outputs at the end of padded sequences or at every step,
  updates once per batch or online after every step), which calls three methods of each algorithm:
  ``start`` (its M_0), ``advance`` (from M_{t−1} to M_t, and s_t) and ``through_state`` (the second term).

The model runs one step at a time on its own forward (``model(x_t, state=s)``), so every topology that
takes an initial state works: N→N (tagger, language model) and N→1 with the "last" pooling.  The layer's
plain loop is used (torch's fused kernels have no rules for the ``torch.func`` transforms).  Only the
parameters the state depends on (the recurrent layer's) carry a sensitivity; the others (the readout) get
their direct gradient.  Inputs are float vectors: a model with a token embedding is refused for now.
"""

from __future__ import annotations

import hashlib
from typing import ClassVar

import torch
from torch import Tensor, nn
from torch.func import functional_call, jacrev, jvp, vjp, vmap

from ...layers import Recurrent
from .. import distributed
from ..errors import TrainingError
from .base import LearningAlgorithm, Update

Carried = dict[str, Tensor]
"""An algorithm's stand-in for M_t: tensors whose first dimension is the batch's (B, ...)."""


def recurrent_layer(model: nn.Module) -> Recurrent | None:
    """The model's one recurrent layer, or None if it has none or several."""
    found = [m for m in model.modules() if isinstance(m, Recurrent)]
    return found[0] if len(found) == 1 else None


def refusal(model, task, settings) -> str | None:
    """Why the sensitivity algorithms cannot train ``model`` on ``task`` with ``settings`` (one line), or None."""
    kind = getattr(task, "output_kind", "last")
    if kind not in ("last", "every"):
        return (f"task {task.name} decodes its outputs ({kind!r}); online algorithms need one output at the "
                f"end or at every step")
    layer = recurrent_layer(model)
    if layer is None:
        return f"the model {type(model).__name__} needs exactly one rnnlab.Recurrent stack"
    if layer.num_layers != 1 or layer.bidirectional:
        return "the recurrent stack must be one layer, one direction (model.num_layers = 1, unidirectional)"
    if isinstance(getattr(model, "embedding", None), nn.Module):
        return "token inputs (an input embedding) are not supported yet: give the task float inputs"
    if getattr(model, "pooling", "last") != "last":
        return f"model.pooling = {model.pooling!r} reads every step's output; online learning needs \"last\""
    if settings.tbptt is not None:
        return "the sensitivities carry the whole past: train.tbptt does not apply (set it to none)"
    if settings.carry_state:
        return "train.carry_state is not supported yet (the sensitivities would have to carry too)"
    if distributed.world_size() > 1:
        return "one process only (the sensitivities are per sequence; use --nproc 1)"
    return None


def batch_generator(algorithm: str, seed: int, step: int) -> torch.Generator:
    """A CPU generator for the random draws of training step ``step`` (0-based) of a run seeded ``seed``.

    Seeded afresh at every step from (algorithm, train.seed, step) rather than carried from step to step,
    so that a resumed run draws what the uninterrupted run would have drawn with nothing added to the
    checkpoint: the step is already in it.  A hash mixes the three, so no two steps or seeds share a stream
    (and none is the trainer's data stream, seeded train.seed + 1)."""
    digest = hashlib.blake2b(f"{algorithm} {seed} {step}".encode(), digest_size=8).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest, "little") % 2**63)


class OneStep:
    """The model's step s_t = F(s_{t−1}, x_t; θ) as a function of (θ, s_{t−1}, x_t), for ``torch.func``.

    θ is the tuple ``values()`` of the recurrent layer's parameters (``names``, ``tracked``); the state is
    flat, (n,) a sequence, the fields of the cell's state side by side (``sizes``).  The batched methods
    take s_{t−1} (B, n) and x_t (B, ...) and vmap over the sequences."""

    def __init__(self, model: nn.Module, layer: Recurrent) -> None:
        self.model = model
        self.cell = layer.cells[0]
        self.sizes = list(self.cell.state_sizes)
        self.n = sum(self.sizes)
        inside = {id(p) for p in layer.parameters()}
        self.tracked = {name: p for name, p in model.named_parameters() if id(p) in inside}
        self.others = {name: p for name, p in model.named_parameters() if id(p) not in inside}
        self.names = list(self.tracked)
        like = next(model.parameters())
        self.dtype, self.device = like.dtype, like.device

    def values(self) -> tuple[Tensor, ...]:
        """θ now, detached (online updates change it from step to step)."""
        return tuple(self.tracked[name].detach() for name in self.names)

    def zeros(self, *shape: int) -> Tensor:
        return torch.zeros(*shape, dtype=self.dtype, device=self.device)

    def layout(self, flat: Tensor):
        """(B, n) -> the Recurrent's state layout, (1, B, n_f) per field."""
        fields = [f.unsqueeze(0) for f in torch.split(flat, self.sizes, dim=-1)]
        return fields[0] if len(fields) == 1 else self.cell.state_type(*fields)

    def flat(self, state) -> Tensor:
        """The Recurrent's layout -> (B, n)."""
        fields = [state] if isinstance(state, Tensor) else list(state)
        return torch.cat([f[0] for f in fields], dim=-1)

    def state(self, values: tuple[Tensor, ...], s_prev: Tensor, x: Tensor) -> Tensor:
        """F for one sequence: θ, s_{t−1} (n,), x_t -> s_t (n,)."""
        params = {**self.others, **dict(zip(self.names, values))}
        _, s = functional_call(self.model, params, (x.reshape(1, 1, *x.shape),), {"state": self.layout(s_prev[None])})
        return self.flat(s)[0]

    # ---- batched over the sequences (B, ...) -----------------------------------------------------------
    def jacobians(self, s_prev: Tensor, x: Tensor) -> tuple[tuple[Tensor, ...], Tensor, Tensor]:
        """-> (K_t per parameter (B, n, *shape), J_t (B, n, n), s_t (B, n)): n reverse passes a sequence."""
        def both(values, s, x):
            s_new = self.state(values, s, x)
            return s_new, s_new

        (k, j), s_new = vmap(jacrev(both, argnums=(0, 1), has_aux=True), in_dims=(None, 0, 0))(self.values(), s_prev, x)
        return k, j, s_new

    def state_jacobian(self, s_prev: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
        """-> (J_t (B, n, n), s_t (B, n)): n reverse passes a sequence, no parameter gradient."""
        def of_state(s, values, x):
            s_new = self.state(values, s, x)
            return s_new, s_new

        return vmap(jacrev(of_state, has_aux=True), in_dims=(0, None, 0))(s_prev, self.values(), x)

    def tangent(self, s_prev: Tensor, x: Tensor, direction: Tensor) -> tuple[Tensor, Tensor]:
        """-> (s_t (B, n), J_t v (B, n)) for v = ``direction`` (B, n): one forward-mode pass (a jvp)."""
        values = self.values()

        def one(s, x, v):
            return jvp(lambda s: self.state(values, s, x), (s,), (v,))

        return vmap(one)(s_prev, x, direction)

    def cotangents(self, s_prev: Tensor, x: Tensor, directions: Tensor) -> tuple[Tensor, ...]:
        """-> uᵀ K_t per parameter (B, C, *shape) for the C cotangents u = ``directions`` (B, C, n): one forward
        and C reverse passes (vjps) a sequence."""
        values = self.values()

        def one(s, x, u):
            _, pullback = vjp(lambda v: self.state(v, s, x), values)
            return vmap(pullback)(u)[0]

        return vmap(one)(s_prev, x, directions)

    def loss(self, task, s_prev: Tensor, x: Tensor, chunk, weight: float) -> tuple[Tensor, Tensor, Tensor]:
        """L_t (times ``weight``) from s_{t−1} held as a leaf: its direct gradients go into the parameters'
        ``.grad`` -> (the output (1, B, ...), L_t, ∂L_t/∂s_{t−1} (B, n)), all detached."""
        previous = s_prev.detach().requires_grad_(True)
        out, _ = self.model(x.unsqueeze(0), state=self.layout(previous))
        loss = task.loss(out, chunk) * weight
        loss.backward()
        return out.detach(), loss.detach(), previous.grad


class SensitivityAlgorithm(LearningAlgorithm):
    """The loop over time of the algorithms that carry a sensitivity: a subclass says how its stand-in for
    M_t starts (``start``), advances (``advance``) and is read (``through_state``)."""

    name: ClassVar[str]

    @classmethod
    def refusal(cls, model, task, settings) -> str | None:
        return refusal(model, task, settings)

    # ---- what each algorithm says --------------------------------------------------------------------
    def start(self, step: OneStep, inputs: Tensor) -> Carried:
        """The stand-in for M_0 = 0, for the batch's ``inputs`` (T, B, ...)."""
        raise NotImplementedError

    def advance(self, step: OneStep, carried: Carried, s_prev: Tensor, x: Tensor,
                generator: torch.Generator) -> tuple[Carried, Tensor]:
        """From M_{t−1} to M_t, and s_t (B, n); under no_grad.  ``generator`` is the batch's (``batch_generator``)."""
        raise NotImplementedError

    def through_state(self, step: OneStep, carried: Carried, grad_state: Tensor) -> dict[str, Tensor]:
        """(∂L_t/∂s_{t−1}) M_{t−1} summed over the batch, per tracked parameter (its shape), from
        ``grad_state`` = ∂L_t/∂s_{t−1} (B, n)."""
        raise NotImplementedError

    # ---- the loop ------------------------------------------------------------------------------------
    def train_batch(self, batch, update: Update) -> tuple[Tensor, Tensor]:
        t = self.trainer
        every = t.kind == "every"
        if batch.lengths is not None and every:
            raise TrainingError(f"{self.name} with an output at every step needs sequences of equal length; this "
                                f"task pads them")
        layer = recurrent_layer(t.model)
        fast = layer.fast_paths
        layer.fast_paths = False
        try:
            generator = batch_generator(self.name, t.settings.seed, t.state.step)
            return self._train(t.task, OneStep(t.model, layer), batch, update, generator,
                               online=t.settings.online, every=every)
        finally:
            layer.fast_paths = fast

    def _train(self, task, step: OneStep, batch, update, generator, *, online: bool, every: bool):
        steps, batch_size = batch.inputs.shape[0], batch.inputs.shape[1]
        # each sequence's last step: the loss of an N→1 task reads the output there (padded batches)
        last = (torch.full((batch_size,), steps - 1) if batch.lengths is None else batch.lengths.cpu() - 1)
        last = last.to(step.device)
        state = step.zeros(batch_size, step.n)  # s_0, fields side by side
        carried = self.start(step, batch.inputs)

        def loss_step(x: Tensor, chunk, weight: float) -> tuple[Tensor, Tensor]:
            out, loss, grad_state = step.loss(task, state, x, chunk, weight)
            for name, extra in self.through_state(step, carried, grad_state).items():
                param = step.tracked[name]
                param.grad = extra if param.grad is None else param.grad + extra
            if online:
                update(loss)
            return out, loss

        outputs, total = [], step.zeros(())
        for t in range(steps):
            if every:
                out, loss = loss_step(batch.inputs[t], batch.steps(t, t + 1), 1.0 / steps)
                outputs.append(out)
                total = total + loss
            live = t < last  # (B,): the sequences whose step t is not their last
            if not bool(live.any()):
                break
            with torch.no_grad():  # M_t and s_t; padded and finished sequences keep theirs
                advanced, new_state = self.advance(step, carried, state, batch.inputs[t], generator)
                carried = {key: _where(live, value, carried[key]) for key, value in advanced.items()}
                state = _where(live, new_state, state)
        if not every:  # the output at each sequence's own last step, from its state before it
            final_inputs = batch.inputs[last, torch.arange(batch_size, device=last.device)]  # (B, ...)
            out, total = loss_step(final_inputs, batch, 1.0)
            outputs.append(out)
        if not online:
            update(total)
        return (torch.cat(outputs) if every else outputs[-1]), total


def _where(live: Tensor, new: Tensor, old: Tensor) -> Tensor:
    """``new`` for the live sequences (B,), ``old`` for the others; the batch is the first dimension."""
    return torch.where(live.view(-1, *[1] * (new.dim() - 1)), new, old)
