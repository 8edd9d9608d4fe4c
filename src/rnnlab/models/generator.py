"""1→N: a sequence of tokens generated from one vector.

The decoder half of the encoder–decoder (Cho et al. 2014, §2.2; Sutskever, Vinyals
& Le 2014, eq. 1) conditioned on a given vector v instead of an encoded sentence,
as in image-caption generation (Vinyals et al. 2015, "Show and tell", §3.1, where
the image is the decoder's first input) or class-conditional sequence generation.
``context`` says where v enters the decoder (models/decoding.py):

* "state": layer l starts from h_0^l = tanh(W^l v + b^l) (the initial state of Cho
  et al. 2014, Appendix A.1.1, with v for the context c); an LSTM's memory cells
  start at zero.
* "input": v is part of the input at every step; the decoder starts from zeros.
* "both": both.

``feedback=True``: the previous token y_{t−1} (BOS first) is also part of the input,
so the output is a conditional language model p(y_t | y_<t, v) with teacher forcing
in training, as in Seq2Seq.  ``feedback=False``: the step input is v alone
("input", "both"), or, with context="state", a constant zero (the decoder then runs
from its initial state on its biases alone); the tokens are then conditionally
independent given v, and teacher forcing changes nothing.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..cells.base import check_size
from .decoding import CONTEXTS, DecoderState, DecodingModel, TokenDecoder, check_choice, check_flag, check_int


class SequenceGenerator(DecodingModel):
    """v (B, input_size) float -> logits (T_out, B, output_size).

    Args:
        cell: a name from ``rnnlab.cells.available()``.
        input_size: size of v.
        output_size: V, symbols of the output vocabulary, PAD, BOS, EOS = 0, 1, 2 first.
        hidden_size, num_layers, dropout, **cell_options: of the decoder's stack, as in ``Recurrent``.
        context: "state", "input" or "both" (module docstring).
        feedback: feed the previous token back as input (module docstring).
        embedding_size: size of the token embedding (with feedback); default hidden_size.
        teacher_forcing: ρ in [0, 1], probability of feeding the true previous token in training.
        max_length: longest output without targets (``forward``) and ``decode``'s default.

    ``forward(inputs, lengths=None, state=None, targets=None) -> (logits, decoder state)``:
        lengths must be None (one vector per sequence; the argument keeps the models'
        common signature); state: the decoder's initial state in ``Recurrent``'s layout
        ((L, B, H), or LSTMState of two), which then replaces the one made from v (e.g. to
        go on from a previous final state); targets (T_out, B) int64, each ending with EOS,
        padded with PAD.  Returns logits (T_out, B, V) and the decoder's final state.

    ``decode(inputs, max_length=None, beam_size=1, *, length_penalty=0.0)
    -> (tokens (T_out, B) int64, lengths (B,))``: greedy, or beam search with beam_size > 1.
    """

    def __init__(self, cell: str, input_size: int, output_size: int, hidden_size: int, num_layers: int = 1,
                 dropout: float = 0.0, *, context: str = "state", feedback: bool = True,
                 embedding_size: int | None = None, teacher_forcing: float = 1.0, max_length: int = 100,
                 **cell_options) -> None:
        super().__init__()
        owner = type(self).__name__
        check_choice(owner, "context", context, CONTEXTS)
        check_flag(owner, "feedback", feedback)
        check_size("input_size", input_size)
        check_size("hidden_size", hidden_size)
        check_int(owner, "output_size", output_size, 3, " (PAD, BOS and EOS are the first three symbols)")
        if embedding_size is not None:
            check_int(owner, "embedding_size", embedding_size, 1)
        check_int(owner, "max_length", max_length, 1)
        self.teacher_forcing = teacher_forcing
        self.input_size, self.output_size, self.hidden_size = input_size, output_size, hidden_size
        self.context, self.feedback, self.max_length = context, feedback, max_length
        self.decoder = TokenDecoder(cell, output_size, hidden_size, num_layers, dropout,
                                    embedding_size=(embedding_size or hidden_size) if feedback else None,
                                    context_size=input_size if context != "state" else 0, **cell_options)
        h_size = self.decoder.state_sizes[0]
        # W^l, b^l of h_0^l = tanh(W^l v + b^l), one per layer
        self.initial = nn.ModuleList(nn.Linear(input_size, h_size) for _ in range(num_layers)) \
            if context != "input" else None

    def check_inputs(self, inputs: Tensor, lengths=None) -> int:
        """B, or a ValueError describing the inputs this model reads."""
        owner = type(self).__name__
        if not isinstance(inputs, Tensor) or inputs.dim() != 2 or inputs.shape[1] != self.input_size \
                or not inputs.is_floating_point():
            got = f"{tuple(inputs.shape)} {inputs.dtype}" if isinstance(inputs, Tensor) else type(inputs).__name__
            raise ValueError(f"{owner} expects inputs of shape (B, {self.input_size}) float, one vector per "
                             f"sequence; got {got}")
        if lengths is not None:
            raise ValueError(f"{owner} reads one vector per sequence and takes no lengths; got lengths={lengths!r}")
        return inputs.shape[0]

    def initial_state(self, inputs: Tensor, state=None) -> DecoderState:
        """v (B, input_size) -> the decoder's initial state (``state``, in Recurrent's layout, if given)."""
        batch = inputs.shape[0]
        if state is not None:
            self._check_state(state, inputs)
            layers = self.decoder.unstack(state)
        else:
            layers = self.decoder.zero_layers(batch, inputs)
            if self.initial is not None:
                layers = tuple(_with_h(layer, torch.tanh(w(inputs))) for layer, w in zip(layers, self.initial))
        return DecoderState(layers, inputs if self.context != "state" else None, None)

    def forward(self, inputs: Tensor, lengths=None, state=None, targets: Tensor | None = None) -> tuple[Tensor, object]:
        batch = self.check_inputs(inputs, lengths)
        if targets is not None:
            self.check_targets(targets, batch)
        return self.run_decoder(self.initial_state(inputs, state), targets)

    def decode(self, inputs: Tensor, max_length: int | None = None, beam_size: int = 1, *,
               length_penalty: float = 0.0) -> tuple[Tensor, Tensor]:
        """-> (tokens (T_out, B) int64, PAD after each EOS; lengths (B,) counting the EOS).

        Greedy with beam_size=1, else beam search (models/beam_search.py; ``length_penalty`` α
        ranks the final hypotheses by log p / |y|^α).  A sequence cut at ``max_length``
        (default: the model's) has no EOS and length max_length.  No gradients; the module's
        mode is kept (call ``.eval()`` to switch dropout off).
        """
        max_length = self.check_decode_args(max_length, beam_size, length_penalty)
        self.check_inputs(inputs)
        with torch.no_grad():
            return self.decode_from(self.initial_state(inputs), max_length, beam_size, length_penalty)

    def _check_state(self, state, inputs: Tensor) -> None:
        owner = type(self).__name__
        fields = [state] if isinstance(state, Tensor) else list(state) if isinstance(state, (tuple, list)) else None
        sizes = self.decoder.state_sizes
        L, B = self.decoder.stack.num_layers, inputs.shape[0]
        expected = [(L, B, n) for n in sizes]
        if fields is None or len(fields) != len(sizes) or not all(isinstance(f, Tensor) for f in fields) \
                or [tuple(f.shape) for f in fields] != expected:
            got = [tuple(f.shape) if isinstance(f, Tensor) else type(f).__name__ for f in fields] \
                if fields is not None else type(state).__name__
            raise ValueError(f"{owner} expects state as {len(sizes)} tensor(s) of shape "
                             f"{', '.join(map(str, expected))}; got {got}")


def _with_h(layer_state, h: Tensor):
    """A layer's state with its h (first field) replaced."""
    return h if isinstance(layer_state, Tensor) else layer_state._replace(**{layer_state._fields[0]: h})
