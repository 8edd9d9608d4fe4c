"""``Recurrent(cell)``: any registered cell as a multi-layer, optionally bidirectional layer.

The layer owns everything about time (STYLE.md: "a cell does one time step"):
layouts, lengths, reversal for the backward direction, stacking, dropout between
layers, and the initial and final states.  It never knows a cell's equations: it
calls ``cell.sequence`` (or, for the reference, ``cell.loop``) one layer and
direction at a time, or, when every cell is computed exactly by one of torch's
fused kernels and that kernel is the fast path, runs the whole stack on it at once.

Parameters and ``state_dict`` keys are named as in torch.nn (``weight_ih_l0``,
``bias_hh_l1_reverse``, ``weight_hr_l0``, ...), so torch.nn weights load unchanged.
"""

from __future__ import annotations

import numbers
import re
import warnings
from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from ..cells import available, create
from ..cells.base import check_size
from ..cells.torch_kernels import run_torch_kernel
from .inputs import finish_output, padding_mask, prepare_input, reverse_padded

_CELL_KEY = re.compile(r"cells\.(\d+)\.(\w+)")
_TORCH_NAME = re.compile(r"(?P<param>\w+?)_l(?P<layer>\d+)(?P<reverse>_reverse)?")


class Recurrent(nn.Module):
    """A stack of ``num_layers`` recurrent layers of the cell ``cell``.

    Args:
        cell: a name from ``rnnlab.cells.available()``.
        input_size: H_in, features of x_t.
        hidden_size: H, the cell's hidden units.
        num_layers: stacked layers; layer k > 0 reads the outputs of layer k − 1.
        bias, batch_first, dropout, bidirectional: as in torch.nn.RNN.  Dropout
            acts on the outputs of every layer but the last, in training only.
        **cell_options: passed to the cell (e.g. ``proj_size`` for ``lstm``).

    ``forward(input, hx=None, *, lengths=None) -> (output, h_n)``:
        input: (L, N, H_in); (N, L, H_in) with batch_first; unbatched (L, H_in);
            or a PackedSequence (the output is then packed alike).
        hx: the initial state stacked over layers and directions, (D·num_layers,
            N, H) for single-tensor states, a tuple such as (h0, c0) for the LSTM;
            zeros when None.
        lengths: (N,) true lengths of a padded input.  Padded positions of the
            output are zero and each sequence's final state is taken at its own
            last step.
        output: (L, N, D·H_out) (or batch-first, unbatched, packed like input).
        h_n: the final state, shaped like hx.

    Setting ``layer.fast_paths = False`` makes every cell run its plain
    reference loop (for testing and benchmarking).  Setting ``layer.step_hook``
    to a function ``(index, y_t, state_t) -> (y_t, state_t)`` runs every cell one
    step at a time (each step on the cell's fast path, or its plain ``forward``
    with fast_paths off: ``RecurrentCell.loop``'s ``fast``) and calls it after each
    step of cell ``self.cells[index]``, in the order the cell runs (the backward
    direction from each sequence's end).  ``rnnlab.analysis.gradient_flow`` probes
    the states so: a zero δ_t added to h_t makes ∂L/∂δ_t = ∂L/∂h_t.
    """

    def __init__(self, cell: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, device=None,
                 dtype=None, **cell_options) -> None:
        super().__init__()
        if not isinstance(cell, str) or cell not in available():
            raise ValueError(f"unknown cell {cell!r}; available cells: {', '.join(available())}")
        check_size("input_size", input_size)
        check_size("hidden_size", hidden_size)
        check_size("num_layers", num_layers)
        for flag, value in (("bias", bias), ("batch_first", batch_first), ("bidirectional", bidirectional)):
            if not isinstance(value, bool):
                raise TypeError(f"{flag} must be a bool; got {value!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Number) or not 0 <= dropout < 1:
            raise ValueError(f"dropout must be a number in [0, 1); got {dropout!r}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"dropout={dropout} acts between layers only, so it does nothing with num_layers=1",
                          stacklevel=2)
        self.cell_name = cell
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.bidirectional = bias, batch_first, bidirectional
        self.dropout = float(dropout)
        self.num_directions = 2 if bidirectional else 1
        self.fast_paths = True
        self.step_hook = None  # (index, y_t, state_t) -> (y_t, state_t): class docstring
        self.cells = nn.ModuleList()  # order: l0, l0_reverse, l1, l1_reverse, ... (torch.nn's)
        layer_input = input_size
        for _ in range(num_layers):
            for _ in range(self.num_directions):
                self.cells.append(create(cell, layer_input, hidden_size, bias=bias, device=device, dtype=dtype,
                                         **cell_options))
            layer_input = self.num_directions * self.cells[0].output_size
        self.output_size = self.cells[0].output_size
        self._register_state_dict_hook(_to_torch_names)
        self.register_load_state_dict_pre_hook(_from_torch_names)

    # ---- torch.nn compatibility -------------------------------------------------------------
    def _cell_index(self, layer: int, reverse: bool) -> int:
        return layer * self.num_directions + int(reverse)

    def _torch_name(self, index: int, param: str) -> str:
        layer, direction = divmod(index, self.num_directions)
        return f"{param}_l{layer}{'_reverse' if direction else ''}"

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            match = _TORCH_NAME.fullmatch(name)
            cells = self.__dict__.get("_modules", {}).get("cells")
            if match and cells is not None:
                layer, reverse = int(match["layer"]), bool(match["reverse"])
                if layer < self.num_layers and (not reverse or self.bidirectional):
                    cell = cells[self._cell_index(layer, reverse)]
                    if match["param"] in cell._parameters:
                        return cell._parameters[match["param"]]
            raise

    @property
    def all_weights(self) -> list[list[Tensor]]:
        return [[p for p in cell.parameters()] for cell in self.cells]

    def flatten_parameters(self) -> None:
        """No-op, for code written for torch.nn (the kernels here take the weights as they are)."""

    def extra_repr(self) -> str:
        s = f"{self.cell_name!r}, {self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s

    # ---- states ------------------------------------------------------------------------------
    def _state_names(self) -> list[str]:
        state_type = self.cells[0].state_type
        return [f"{f}0" for f in state_type._fields] if state_type is not None else ["hx"]

    def _initial_fields(self, hx, x: Tensor, batched: bool) -> list[Tensor]:
        """Check hx and return its fields, each (D·num_layers, B, size), as batched tensors."""
        owner = type(self).__name__
        stack, batch = len(self.cells), x.shape[1]
        sizes = self.cells[0].state_sizes
        names = self._state_names()
        if hx is None:
            return [x.new_zeros(stack, batch, n) for n in sizes]
        if len(sizes) == 1:
            if not isinstance(hx, Tensor):
                raise TypeError(f"{owner}: hx must be a Tensor; got {type(hx).__name__}")
            fields = [hx]
        else:
            if not isinstance(hx, (tuple, list)) or len(hx) != len(sizes) or not all(
                    isinstance(h, Tensor) for h in hx):
                raise TypeError(f"{owner}: hx must be a tuple of {len(sizes)} tensors ({', '.join(names)}); "
                                f"got {_describe(hx)}")
            fields = list(hx)
        out = []
        for name, field, size in zip(names, fields, sizes):
            expected = (stack, batch, size) if batched else (stack, size)
            if tuple(field.shape) != expected:
                detail = ""
                if batched and field.dim() == 3 and field.shape[1] != batch:
                    detail = f" (its batch size {field.shape[1]} differs from the input's {batch})"
                raise ValueError(f"{owner}: expected {name} of shape {expected}; got {tuple(field.shape)}{detail}")
            if field.dtype != x.dtype or field.device != x.device:
                raise TypeError(f"{owner}: {name} has dtype {field.dtype} on {field.device}; "
                                f"the input has dtype {x.dtype} on {x.device}")
            out.append(field if batched else field.unsqueeze(1))
        return out

    # ---- forward -----------------------------------------------------------------------------
    def forward(self, input: Tensor | PackedSequence, hx=None, *, lengths=None):
        first = self.cells[0]
        prep = prepare_input(type(self).__name__, input, lengths, input_size=self.input_size,
                             batch_first=self.batch_first, dtype=next(first.parameters()).dtype)
        x, lengths = prep.x, prep.lengths
        fields = self._initial_fields(hx, x, prep.batched)
        if (self.fast_paths and self.step_hook is None and first.torch_kernel is not None
                and first.uses_torch_kernel(x)):
            y, final = self._forward_torch_kernel(x, fields, lengths)
        else:
            y, final = self._forward_layers(x, fields, lengths)
            if lengths is not None:
                y = y.masked_fill(~padding_mask(lengths, x.shape[0]), 0.0)
        if not prep.batched:
            final = [f.squeeze(1) for f in final]
        h_n = final[0] if len(final) == 1 else first.state_type(*final)
        return finish_output(y, prep, self.batch_first), h_n

    def _forward_torch_kernel(self, x: Tensor, fields: list[Tensor], lengths) -> tuple[Tensor, list[Tensor]]:
        """Every layer and direction in one call of torch's fused kernel."""
        first = self.cells[0]
        weights = [w for cell in self.cells for w in cell.flat_weights()]
        hx = tuple(fields) if len(fields) > 1 else fields[0]
        y, final = run_torch_kernel(first.torch_kernel, x, hx, weights, has_biases=first.has_biases,
                                    num_layers=self.num_layers, dropout=self.dropout, training=self.training,
                                    bidirectional=self.bidirectional, lengths=lengths)
        return y, list(final) if isinstance(final, tuple) else [final]

    def _forward_layers(self, x: Tensor, fields: list[Tensor], lengths) -> tuple[Tensor, list[Tensor]]:
        """Layer by layer, direction by direction, each on its cell's own sequence path."""
        finals = []  # one state per cell, in self.cells order
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                index = self._cell_index(layer, bool(direction))
                cell = self.cells[index]
                state = cell.state_from_fields([f[index] for f in fields])
                run = cell.sequence if self.fast_paths else cell.loop
                if self.step_hook is not None:  # step by step, each step's result through the hook
                    run = partial(cell.loop, fast=self.fast_paths, hook=partial(self.step_hook, index))
                if direction == 0:
                    y, final = run(x, state, lengths)
                else:  # the backward direction reads each sequence from its own last step
                    y, final = run(reverse_padded(x, lengths), state, lengths)
                    y = reverse_padded(y, lengths)
                outputs.append(y)
                finals.append(final)
            x = outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=-1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, training=True)
        n_fields = len(fields)
        stacked = [torch.stack([f if n_fields == 1 else f[k] for f in finals]) for k in range(n_fields)]
        return x, stacked


def _describe(value) -> str:
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} ({', '.join(type(v).__name__ for v in value)})"
    return type(value).__name__


def _to_torch_names(module: Recurrent, state_dict, prefix: str, local_metadata) -> None:
    """state_dict hook: ``cells.3.weight_ih`` -> ``weight_ih_l1_reverse`` (order kept)."""
    items = [(k, state_dict.pop(k)) for k in list(state_dict) if k.startswith(prefix)]
    for key, value in items:
        match = _CELL_KEY.fullmatch(key[len(prefix):])
        if match:
            key = prefix + module._torch_name(int(match[1]), match[2])
        state_dict[key] = value


def _from_torch_names(module: Recurrent, state_dict, prefix: str, local_metadata, strict, missing_keys,
                      unexpected_keys, error_msgs) -> None:
    """load_state_dict pre-hook: ``weight_ih_l1_reverse`` -> ``cells.3.weight_ih``."""
    for key in [k for k in state_dict if k.startswith(prefix)]:
        match = _TORCH_NAME.fullmatch(key[len(prefix):])
        if match:
            layer, reverse = int(match["layer"]), bool(match["reverse"])
            if layer < module.num_layers and (not reverse or module.bidirectional):
                index = module._cell_index(layer, reverse)
                state_dict[f"{prefix}cells.{index}.{match['param']}"] = state_dict.pop(key)
