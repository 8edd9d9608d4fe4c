"""Real-time recurrent learning (Williams & Zipser 1989): the state's sensitivity to every weight, carried forward.

For a recurrent state s_t = F(s_{t−1}, x_t; θ) (all of a cell's state fields, n numbers a sequence)
and a loss L = Σ_t L_t(s_t), Williams & Zipser (1989, §2, eqs. 3–4; "p^k_ij" there) carry forward

    M_t = ∂s_t/∂θ = J_t M_{t−1} + K_t,     J_t = ∂F/∂s_{t−1} (n × n),  K_t = ∂F/∂θ (n × P),  M_0 = 0

and obtain the gradient as the steps go, with no record of the past:

    ∂L/∂θ = Σ_t [ ∂L_t/∂θ|_{s_{t−1}} + (∂L_t/∂s_{t−1}) M_{t−1} ]

(the first term: the step's direct dependence on θ, the readout's weights included; the second: all
earlier steps, through the state).  This equals BPTT's gradient exactly (tested in float64 for every
cell).  With ``train.online = true`` the weights are updated after every step that has a loss, as
Williams & Zipser's continually running networks were (§2: "the weights are changed … at each
time step"), using the sensitivities computed with the weights of earlier steps — their
approximation, good when the learning rate is small.

Cost: memory B·n·P for the sensitivities, independent of the sequence length T; time per step of
the order of n·P (computing J_t and K_t by n reverse passes) plus n²·P (the product J_t M_{t−1}):
O(n⁴) for a fully connected net of n units, against BPTT's O(n²) per step and O(n·T) memory.

Implementation.  The model runs one step at a time on its own forward (``model(x_t, state=s)``),
so every topology that takes an initial state works: N→N (tagger, language model) and N→1 with
the "last" pooling.  J_t and K_t come from ``torch.func`` (per sequence: ``vmap`` over the batch of
``jacrev`` of one step), for any cell; the layer's plain loop is used (torch's fused kernels have no
rules for those transforms).  Only the parameters the state depends on (the recurrent layer's) carry
a sensitivity; the others (the readout) get their direct gradient.  Inputs are float vectors: a model
with a token embedding is refused for now (its sensitivity would be n × vocabulary × width a sequence).

Departure from the paper: with ``train.online = false`` (the default) the gradient is accumulated
over the sequence and applied once per batch, like BPTT's, so that the two can be compared exactly.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.func import functional_call, jacrev, vmap

from ...layers import Recurrent
from .. import distributed
from ..errors import TrainingError
from .base import LearningAlgorithm, Update


def recurrent_layer(model: nn.Module) -> Recurrent | None:
    """The model's one recurrent layer, or None if it has none or several."""
    found = [m for m in model.modules() if isinstance(m, Recurrent)]
    return found[0] if len(found) == 1 else None


class RTRL(LearningAlgorithm):
    name = "rtrl"

    @classmethod
    def refusal(cls, model, task, settings) -> str | None:
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

    def train_batch(self, batch, update: Update) -> tuple[Tensor, Tensor]:
        t = self.trainer
        every = t.kind == "every"
        if batch.lengths is not None and every:
            raise TrainingError("rtrl with an output at every step needs sequences of equal length; this task "
                                "pads them")
        layer = recurrent_layer(t.model)
        fast = layer.fast_paths
        layer.fast_paths = False
        try:
            return self._train(t.model, t.task, layer, batch, update, online=t.settings.online, every=every)
        finally:
            layer.fast_paths = fast

    def _train(self, model, task, layer, batch, update, *, online: bool, every: bool):
        steps, batch_size = batch.inputs.shape[0], batch.inputs.shape[1]
        cell = layer.cells[0]
        sizes = list(cell.state_sizes)
        n = sum(sizes)
        tracked = _state_parameters(model, layer)
        others = {name: p for name, p in model.named_parameters() if name not in tracked}
        names = list(tracked)
        like = next(model.parameters())
        # each sequence's last step: the loss of an N→1 task reads the output there (padded batches)
        last = (torch.full((batch_size,), steps - 1) if batch.lengths is None else batch.lengths.cpu() - 1)
        last = last.to(like.device)
        state = torch.zeros(batch_size, n, dtype=like.dtype, device=like.device)  # s_0, fields side by side
        sensitivity = {name: torch.zeros(batch_size, n, tracked[name].numel(), dtype=like.dtype, device=like.device)
                       for name in names}  # M_0 = 0, (B, n, P_θ) per parameter

        def as_layout(flat: Tensor):  # (B, n) -> the Recurrent's state layout, (1, B, n_f) per field
            fields = [f.unsqueeze(0) for f in torch.split(flat, sizes, dim=-1)]
            return fields[0] if len(fields) == 1 else cell.state_type(*fields)

        def flat_of(state_out) -> Tensor:  # the Recurrent's layout -> (B, n)
            fields = [state_out] if isinstance(state_out, Tensor) else list(state_out)
            return torch.cat([f[0] for f in fields], dim=-1)

        def one_step(values, s_prev, x):  # one sequence: s_{t−1} (n,), x_t -> (s_t, s_t)
            params = {**others, **dict(zip(names, values))}
            _, s = functional_call(model, params, (x.reshape(1, 1, *x.shape),), {"state": as_layout(s_prev[None])})
            s = flat_of(s)[0]
            return s, s

        jacobians = vmap(jacrev(one_step, argnums=(0, 1), has_aux=True), in_dims=(None, 0, 0))

        def loss_step(x: Tensor, chunk, weight: float) -> tuple[Tensor, Tensor]:
            """L_t from s_{t−1} held as a leaf: its direct gradients into .grad, + (∂L_t/∂s_{t−1}) M_{t−1}."""
            previous = state.detach().requires_grad_(True)
            out, _ = model(x.unsqueeze(0), state=as_layout(previous))
            loss = task.loss(out, chunk) * weight
            loss.backward()
            for name in names:
                param = tracked[name]
                extra = torch.einsum("bn,bnp->p", previous.grad, sensitivity[name]).view_as(param)
                param.grad = extra if param.grad is None else param.grad + extra
            if online:
                update(loss.detach())
            return out.detach(), loss.detach()

        outputs, total = [], torch.zeros((), dtype=like.dtype, device=like.device)
        for step in range(steps):
            if every:
                out, loss = loss_step(batch.inputs[step], batch.steps(step, step + 1), 1.0 / steps)
                outputs.append(out)
                total = total + loss
            live = step < last  # (B,): the sequences whose step `step` is not their last
            if not bool(live.any()):
                break
            with torch.no_grad():  # M_t = J_t M_{t−1} + K_t, and s_t; padded and finished sequences keep theirs
                (k_parts, j), new_state = jacobians(tuple(tracked[name].detach() for name in names), state,
                                                    batch.inputs[step])
                for name, k in zip(names, k_parts):
                    carried = torch.bmm(j, sensitivity[name]) + k.reshape(batch_size, n, -1)
                    sensitivity[name] = torch.where(live.view(-1, 1, 1), carried, sensitivity[name])
                state = torch.where(live.view(-1, 1), new_state, state)
        if not every:  # the output at each sequence's own last step, from its state before it
            final_inputs = batch.inputs[last, torch.arange(batch_size, device=last.device)]  # (B, ...)
            out, total = loss_step(final_inputs, batch, 1.0)
            outputs.append(out)
        if not online:
            update(total)
        return (torch.cat(outputs) if every else outputs[-1]), total


def _state_parameters(model: nn.Module, layer: Recurrent) -> dict[str, nn.Parameter]:
    """The parameters the recurrent state depends on (the layer's: models with an input embedding are
    refused), by name."""
    inside = {id(p) for p in layer.parameters()}
    return {name: p for name, p in model.named_parameters() if id(p) in inside}
