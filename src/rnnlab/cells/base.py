"""What every cell shares: argument checks, initial state, and the reference time loop.

A cell does one time step, ``forward(x_t, state) -> (y_t, new_state)``; the state
is a value (a tensor or a NamedTuple of tensors), never stored on the module.
``sequence`` runs a whole (padded) sequence; the base class does it with a plain
loop over ``forward`` (the reference every fast path is tested against), and a
cell overrides it where a faster way exists.
"""

from __future__ import annotations

import math
import torch
from torch import Tensor, nn

State = Tensor | tuple[Tensor, ...]


def check_size(name: str, value) -> int:
    """``value`` as a positive int, or a ValueError/TypeError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a positive int; got {value!r} of type {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive int; got {value}")
    return value


def map_state(fn, *states: State) -> State:
    """Apply ``fn`` field by field to one or more states of the same structure."""
    first = states[0]
    if isinstance(first, Tensor):
        return fn(*states)
    return type(first)(*(fn(*fields) for fields in zip(*states)))


class RecurrentCell(nn.Module):
    """Base of every cell.

    Subclasses set ``input_size``, ``hidden_size``, ``output_size`` (the size of
    y_t, H_out) and ``state_sizes`` (the last dimension of each state field, in
    field order), create their parameters, and implement ``forward``.  A cell
    whose state has several fields sets ``state_type`` to its NamedTuple.

    ``torch_kernel`` names torch's fused whole-sequence kernel that computes this
    cell exactly ("LSTM", "GRU", "RNN_TANH", "RNN_RELU") or is None; such cells
    derive from ``torch_kernels.TorchKernelCell``.
    """

    state_type: type | None = None
    torch_kernel: str | None = None

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.input_size = check_size("input_size", input_size)
        self.hidden_size = check_size("hidden_size", hidden_size)
        self.output_size = hidden_size
        self.state_sizes: tuple[int, ...] = (hidden_size,)

    def reset_parameters(self) -> None:
        """U(−1/√H, 1/√H) for every parameter, as torch.nn's recurrent layers."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def initial_state(self, batch_size: int, *, dtype=None, device=None) -> State:
        """Zeros: a tensor (B, H) or the cell's NamedTuple of them."""
        ref = next(self.parameters())
        dtype = dtype or ref.dtype
        device = device or ref.device
        return self.state_from_fields([torch.zeros(batch_size, n, dtype=dtype, device=device)
                                       for n in self.state_sizes])

    def state_from_fields(self, fields: list[Tensor]) -> State:
        return fields[0] if self.state_type is None else self.state_type(*fields)

    def check_step(self, x: Tensor, state: State) -> None:
        """ValueError/TypeError unless x is (B, H_in) floating point and state fits it."""
        owner = type(self).__name__
        if not isinstance(x, Tensor) or x.dim() != 2 or x.shape[1] != self.input_size:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"{owner} expects x_t of shape (B, {self.input_size}); got {shape}")
        if not x.is_floating_point():
            raise TypeError(f"{owner} expects floating-point x_t; got dtype {x.dtype}")
        if self.state_type is None:
            names, fields, expected = ["state"], [state], "a Tensor"
            ok = isinstance(state, Tensor)
        else:
            names, fields = [f"state.{f}" for f in self.state_type._fields], state
            expected = f"{self.state_type.__name__}({', '.join(self.state_type._fields)})"
            ok = isinstance(state, tuple) and len(state) == len(names) and all(isinstance(f, Tensor) for f in state)
        if not ok:
            raise TypeError(f"{owner} expects the state as {expected}; got {type(state).__name__}")
        for name, field, size in zip(names, fields, self.state_sizes):
            if tuple(field.shape) != (x.shape[0], size):
                raise ValueError(f"{owner} expects {name} of shape ({x.shape[0]}, {size}) for x_t of shape "
                                 f"{tuple(x.shape)}; got {tuple(field.shape)}")

    def uses_torch_kernel(self, x: Tensor) -> bool:
        """Whether ``sequence`` runs on torch's fused kernel for this input."""
        return self.torch_kernel is not None

    def loop(self, x: Tensor, state: State, lengths: Tensor | None = None, *, hook=None,
             fast: bool = False) -> tuple[Tensor, State]:
        """Reference time loop: x (T, B, H_in) -> y (T, B, H_out), final state.

        With ``lengths`` (B,), the state of sequence b stops changing after step
        lengths[b], so the final state is the one at its own last real step.
        Outputs at padded positions are left as computed (the layer zeroes them).

        ``hook(y_t, state_t) -> (y_t, state_t)``, when given, sees (and may replace)
        every step's result before it goes on (``Recurrent.step_hook``; every step,
        padded ones included, whose result is then discarded as above); ``fast``
        computes each step by the cell's own ``sequence`` on that one step (its fast
        path) instead of ``forward``.
        """
        outputs = []
        for t in range(x.shape[0]):
            if fast:
                y, new_state = self.sequence(x[t:t + 1], state)  # (1, B, H_out): the fast path, one step
                y = y[0]
            else:
                y, new_state = self(x[t], state)
            if hook is not None:
                y, new_state = hook(y, new_state)
            if lengths is not None:
                live = (t < lengths).unsqueeze(1)  # (B, 1)
                new_state = map_state(lambda new, old: torch.where(live, new, old), new_state, state)
            outputs.append(y)
            state = new_state
        return torch.stack(outputs), state

    def sequence(self, x: Tensor, state: State, lengths: Tensor | None = None) -> tuple[Tensor, State]:
        """Whole sequence, same contract as ``loop``; fast where the cell allows."""
        return self.loop(x, state, lengths)


def last_steps(outputs: Tensor, lengths: Tensor | None) -> Tensor:
    """outputs (T, B, H) -> (B, H): each sequence's output at its own last real step."""
    if lengths is None:
        return outputs[-1]
    index = (lengths - 1).view(1, -1, 1).expand(1, outputs.shape[1], outputs.shape[2])
    return outputs.gather(0, index).squeeze(0)

