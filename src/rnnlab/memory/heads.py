"""The heads' parameters: one linear map from the controller's output to every head's k, β, g, s, γ (e, a).

Graves et al. (2014) §3 let the controller emit, for each head, the addressing
parameters of Figure 2, and for each write head an erase and an add vector; they
leave the activations open.  Ours (those of Collier & Beel 2018, "Implementing
Neural Turing Machines", ICANN, except where noted):

    key k            tanh            (B, H, M)    cosine similarity only sees its direction; tanh keeps it bounded
    key strength β   softplus        (B, H, 1)    >= 0
    gate g           sigmoid         (B, H, 1)    in (0, 1)
    shift s          softmax         (B, H, 2s+1) a distribution over the shifts −s … +s
    sharpening γ     1 + softplus    (B, H, 1)    >= 1
    erase e          sigmoid         (B, W, M)    in (0, 1), as eq. 3 requires
    add a            tanh            (B, W, M)    the paper leaves a unbounded; tanh keeps the memory
                                                  bounded (|M| <= number of writes), as Collier & Beel

H = R + W heads, the R read heads first.  All parameters of all heads come out of
one matrix product, are clipped to ±``clip`` before their activations (Collier &
Beel clip them to ±20: the controller then cannot drive β or γ to overflow, nor a
gate to a saturation its gradient never leaves), and are cut into the fields by
views, grouped by kind so that each activation runs once for all heads.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .gradients import clip_gradient


class HeadParameters(NamedTuple):
    """Every head's parameters for one step, after their activations."""

    key: Tensor  # k (B, H, M)
    key_strength: Tensor  # β (B, H, 1)
    gate: Tensor  # g (B, H, 1)
    shift_weights: Tensor  # s (B, H, 2s + 1)
    gamma: Tensor  # γ (B, H, 1)
    erase: Tensor  # e (B, W, M)
    add: Tensor  # a (B, W, M)


class HeadParameterLayer(nn.Module):
    """controller output (B, C) -> HeadParameters, through one linear layer.

    Args:
        controller_size: C, width of the controller's output.
        read_heads: R.  write_heads: W.
        memory_width: M.  shift_range: s, shifts −s … +s allowed.
        clip: the linear outputs are clipped to [−clip, clip] before the activations; None: no clip.
        gradient_clip: the gradient reaching the linear outputs is clamped to [−gradient_clip,
            gradient_clip] elementwise in the backward pass (gradients.py); None: no clamp.  The values
            are unchanged.

    The output units are laid out [k (H·M) | β (H) | g (H) | s (H·(2s+1)) | γ (H) | e (W·M) | a (W·M)].
    Weights start at a truncated normal of standard deviation 1/√C (as Collier & Beel), biases at 0.
    """

    def __init__(self, controller_size: int, read_heads: int, write_heads: int, memory_width: int,
                 shift_range: int, clip: float | None = None, gradient_clip: float | None = None) -> None:
        super().__init__()
        heads = read_heads + write_heads
        self.heads, self.write_heads, self.clip, self.gradient_clip = heads, write_heads, clip, gradient_clip
        self.sizes = (heads * memory_width, heads, heads, heads * (2 * shift_range + 1), heads,
                      write_heads * memory_width, write_heads * memory_width)
        self.linear = nn.Linear(controller_size, sum(self.sizes))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        std = 1.0 / math.sqrt(self.linear.in_features)
        nn.init.trunc_normal_(self.linear.weight, std=std, a=-2 * std, b=2 * std)
        nn.init.zeros_(self.linear.bias)

    def forward(self, controller_output: Tensor) -> HeadParameters:
        raw = clip_gradient(self.linear(controller_output), self.gradient_clip)  # (B, P)
        if self.clip is not None:
            raw = raw.clamp(-self.clip, self.clip)
        batch = raw.shape[0]
        key, strength, gate, shifts, gamma, erase, add = raw.split(self.sizes, dim=-1)
        return HeadParameters(
            key=torch.tanh(key).view(batch, self.heads, -1),  # (B, H, M)
            key_strength=F.softplus(strength).unsqueeze(-1),  # (B, H, 1)
            gate=torch.sigmoid(gate).unsqueeze(-1),  # (B, H, 1)
            shift_weights=torch.softmax(shifts.view(batch, self.heads, -1), dim=-1),  # (B, H, 2s + 1)
            gamma=1 + F.softplus(gamma).unsqueeze(-1),  # (B, H, 1)
            erase=torch.sigmoid(erase).view(batch, self.write_heads, -1),  # (B, W, M)
            add=torch.tanh(add).view(batch, self.write_heads, -1),  # (B, W, M)
        )
