"""Gradient flow through time: ‖∂L/∂h_t‖ for every step t of every recurrent layer of a model.

The claim of Hochreiter (1991), Bengio, Simard & Frasconi (1994) and Pascanu, Mikolov &
Bengio (2013, §2–3) is about this quantity.  For a loss L = Σ_t L_t of a recurrent network
h_t = F(x_t, h_{t−1}), backpropagation through time gives (Pascanu et al., eqs. 3–5)

    ∂L/∂h_t = ∂L_t/∂h_t + (∂h_{t+1}/∂h_t)ᵀ ∂L/∂h_{t+1},     ∂h_{t+1}/∂h_t = diag(φ′)·W_hh (Elman)

so the error that step T sends back to step t is multiplied by the product of T − t
Jacobians, and shrinks or grows geometrically with the lag unless the Jacobians stay near
the identity (LSTM's constant error carousel: ∂c_{t+1}/∂c_t = diag(f_{t+1})).

What is differentiated.  ``gradient_flow`` runs the model once with every recurrent layer
unrolled step by step (``Recurrent.step_hook``, run by ``RecurrentCell.loop``) and adds a zero
tensor δ_t to each field of each cell's state as it leaves step t — for the hidden state h_t, to the output y_t = h_t
that goes up to the next layer (or the readout) as well as to the h_t that goes on to step
t + 1.  Then ∂L/∂δ_t is the *total* derivative of the scalar L = loss_fn(model(inputs))
with respect to h_t: through every later step, every layer above and the readout; the
equation above.  For the LSTM the same is done for the cell state c_t (``fields["c"]``):
∂L/∂c_t with h_t held, the error the carousel carries.  Nothing else changes: the values
of the forward pass, the weights and the model's mode (training or eval, so dropout acts
as it would) are those of an ordinary call.

Each step is still computed by the cell's own fast path (torch's fused kernel run one step
at a time, or a scan kernel on one step) or, with ``fast_paths=False``, by its plain
``forward``; the two agree to rounding (tested in float64 for every cell).

Padded batches (``lengths``): a sequence's padded steps have ∂L/∂h_t = 0 and do not count
in the batch mean at step t; a backward-direction layer's steps are reported at the input
position they read (step t of the reversed sequence is input position n_b − 1 − t).
Decoders (``Seq2Seq``, ``SequenceGenerator``) run their stack one step at a time already;
their steps are the decoder's output steps.  The NTM is not covered: its state is its
memory, not a ``Recurrent`` layer's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from ..layers import Recurrent
from ..layers.inputs import reverse_padded


@dataclass
class CellFlow:
    """‖∂L/∂s_t‖ of one cell (one layer, one direction) of one ``Recurrent`` stack.

    fields: state field name (``"h"``, and e.g. ``"c"`` for the LSTM) -> (T, B) norms of
        ∂L/∂field_t, one per step and sequence, in input order; 0 at padded steps.
    live: (T, B) bool, the real steps.
    """

    stack: str  # the Recurrent's name in the model ("" for the layer itself)
    layer: int
    reverse: bool
    fields: dict[str, Tensor]
    live: Tensor

    @property
    def name(self) -> str:
        suffix = f"l{self.layer}{'_reverse' if self.reverse else ''}"
        return f"{self.stack}.{suffix}" if self.stack else suffix

    def mean(self, field_name: str = "h") -> Tensor:
        """(T,) the batch mean of ‖∂L/∂field_t‖ over the sequences alive at t (NaN where none is)."""
        norms, live = self.fields[field_name], self.live
        count = live.sum(1)  # (T,)
        return (norms * live).sum(1) / count.clamp(min=1) + torch.where(count > 0, 0.0, float("nan"))

    def spread(self, field_name: str = "h") -> Tensor:
        """(T,) the standard deviation over the live sequences (0 where one is, NaN where none is)."""
        norms, live = self.fields[field_name], self.live
        count = live.sum(1).clamp(min=1)
        mean = self.mean(field_name)
        var = (((norms - mean.unsqueeze(1)) ** 2) * live).sum(1) / count
        return var.sqrt()


@dataclass
class GradientFlow:
    """The result of ``gradient_flow``.

    norms: (T,) the batch mean of ‖∂L/∂h_t‖ of the top layer's forward direction of the
        model's first recurrent stack (its encoder where it has one); ``spread``: (T,) its
        standard deviation over the batch; ``per_sequence``: (T, B), 0 at padded steps.
    cells: every cell of every stack by name (``"recurrent.l0"``, ``"encoder.l1_reverse"``,
        ``"decoder.stack.l0"``, ...), in the model's order.
    lengths: (B,) the real steps of each sequence of ``per_sequence``.
    loss: the value of L.
    """

    norms: Tensor
    spread: Tensor
    per_sequence: Tensor
    lengths: Tensor
    cells: dict[str, CellFlow] = field(default_factory=dict)
    loss: float = float("nan")

    def by_lag(self) -> Tensor:
        """(T,) the batch mean of ‖∂L/∂h_{n_b − k}‖ against the lag k = 0 … T − 1 from each
        sequence's last real step n_b (the view of an N→1 task, whose loss is at the end)."""
        aligned = reverse_padded(self.per_sequence.unsqueeze(-1), self.lengths).squeeze(-1)  # (T, B), k = 0 first
        live = torch.arange(aligned.shape[0]).unsqueeze(1) < self.lengths  # (T, B)
        count = live.sum(1)
        return (aligned * live).sum(1) / count.clamp(min=1) + torch.where(count > 0, 0.0, float("nan"))

    def ratio(self) -> float:
        """‖∂L/∂h_1‖ / ‖∂L/∂h_T‖: the batch means at each sequence's first and last real step."""
        lag = self.by_lag()
        first = self.per_sequence[0].mean()
        return float(first / lag[0])


def _fields(state) -> list[Tensor]:
    return [state] if isinstance(state, Tensor) else list(state)


def _rebuild(state, fields: list[Tensor]):
    return fields[0] if isinstance(state, Tensor) else type(state)(*fields)


def _field_names(state) -> list[str]:
    return ["h"] if isinstance(state, Tensor) else list(state._fields)


def recurrent_stacks(model: nn.Module) -> list[tuple[str, Recurrent]]:
    """Every ``Recurrent`` in ``model`` (the model itself first if it is one), by name, in module order."""
    return [(name, module) for name, module in model.named_modules() if isinstance(module, Recurrent)]


def gradient_flow(model_or_layer: nn.Module, inputs, loss_fn, *, lengths=None,
                  fast_paths: bool | None = None) -> GradientFlow:
    """‖∂L/∂h_t‖ for every step t of every recurrent layer of ``model_or_layer`` (module docstring).

    Args:
        model_or_layer: an ``rnnlab.Recurrent`` (or a torch.nn twin) or any module holding
            some (every rnnlab topology).
        inputs: the model's input: a tensor, or a tuple of positional arguments.
        loss_fn: the model's return value -> a scalar tensor L.  For a ``Recurrent``
            the return value is (output, h_n); for the topologies (outputs, state).
        lengths: (B,) real steps of a padded batch, passed on as ``lengths=``.
        fast_paths: run each step on the cells' fast paths (True) or their plain
            reference (False); None keeps each layer's own setting.
    """
    stacks = recurrent_stacks(model_or_layer)
    if not stacks:
        raise ValueError(f"gradient_flow needs a model with an rnnlab.Recurrent layer; {type(model_or_layer).__name__} "
                         f"has none")
    probes: dict[tuple[int, int], list[list[Tensor]]] = {}  # (stack, cell index) -> per step, one δ per field
    names: dict[tuple[int, int], list[str]] = {}
    saved = [(layer.step_hook, layer.fast_paths) for _, layer in stacks]

    def hook_of(k: int):
        def hook(index: int, y: Tensor, state):
            fields = _fields(state)
            deltas = [torch.zeros_like(f, requires_grad=True) for f in fields]
            probes.setdefault((k, index), []).append(deltas)
            names[(k, index)] = _field_names(state)
            if y.shape == fields[0].shape:
                y = y + deltas[0]  # y_t is h_t: the probe sits on both of its uses
            return y, _rebuild(state, [f + d for f, d in zip(fields, deltas)])
        return hook

    try:
        for k, (_, layer) in enumerate(stacks):
            layer.step_hook = hook_of(k)
            if fast_paths is not None:
                layer.fast_paths = fast_paths
        with torch.enable_grad():
            args = inputs if isinstance(inputs, tuple) else (inputs,)
            result = model_or_layer(*args, lengths=lengths) if lengths is not None else model_or_layer(*args)
            loss = loss_fn(result)
            if not isinstance(loss, Tensor) or loss.numel() != 1:
                raise ValueError(f"gradient_flow: loss_fn must return a scalar tensor; got {_describe(loss)}")
            keys = list(probes)
            flat = [d for key in keys for step in probes[key] for d in step]
            grads = torch.autograd.grad(loss, flat, allow_unused=True) if flat else []
    finally:
        for (_, layer), (hook, fast) in zip(stacks, saved):
            layer.step_hook, layer.fast_paths = hook, fast
    if not probes:
        raise ValueError("gradient_flow: the model ran none of its recurrent layers")

    grads = iter(grads)
    cells: dict[str, CellFlow] = {}
    for key in keys:
        k, index = key
        stack_name, layer = stacks[k]
        steps = probes[key]
        T = len(steps)
        n_fields = len(steps[0])
        per_field = [[None] * T for _ in range(n_fields)]
        for t in range(T):
            for j in range(n_fields):
                g = next(grads)
                d = steps[t][j]
                per_field[j][t] = (g if g is not None else torch.zeros_like(d)).detach().flatten(1).norm(dim=1)
        batch = steps[0][0].shape[0]
        seq_lengths = _lengths_for(lengths if k == keys[0][0] else None, T, batch)  # lengths: of the input's stack
        live = torch.arange(T).unsqueeze(1) < seq_lengths  # (T, B)
        layer_index, direction = divmod(index, layer.num_directions)
        fields = {}
        for name, norms in zip(names[key], per_field):
            norms = torch.stack(norms).to(torch.float64).cpu()  # (T, B), in the order the cell ran
            if direction:
                norms = reverse_padded(norms.unsqueeze(-1), seq_lengths).squeeze(-1)
            fields[name] = norms * live
        flow = CellFlow(stack_name, layer_index, bool(direction), fields, live)
        cells[flow.name] = flow
    top_stack = keys[0][0]
    stack_name, layer = stacks[top_stack]
    top = next(c for c in cells.values() if c.stack == stack_name and c.layer == layer.num_layers - 1
               and not c.reverse)
    return GradientFlow(norms=top.mean(), spread=top.spread(), per_sequence=top.fields["h"],
                        lengths=top.live.sum(0), cells=cells,
                        loss=float(loss.detach()))


def _lengths_for(lengths, steps: int, batch: int) -> Tensor:
    """(B,) int64 on the CPU: ``lengths`` when they describe these steps, else every sequence ``steps`` long."""
    if lengths is not None:
        lengths = torch.as_tensor(lengths).cpu().long()
        if lengths.shape == (batch,) and int(lengths.max()) <= steps:
            return lengths
    return torch.full((batch,), steps, dtype=torch.long)


def _describe(value) -> str:
    if isinstance(value, Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    return type(value).__name__
