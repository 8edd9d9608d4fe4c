"""N→M: an encoder reads the source sequence, a decoder writes the target sequence token by token.

The RNN encoder–decoder of Sutskever, Vinyals & Le (2014), "Sequence to sequence
learning with neural networks", and Cho et al. (2014), "Learning phrase
representations using RNN encoder–decoder for statistical machine translation",
optionally with the attention of Bahdanau, Cho & Bengio (2015).

The encoder (a ``Recurrent`` of any registered cell, optionally bidirectional)
reads x_1 … x_T and ends, at each sequence's own last real step, in the state
h_T^l of each layer l.  The context of layer l is that state, both directions
concatenated, optionally transformed (Cho et al. 2014, Appendix A.1.1:
h'_0 = tanh(V' c)):

    c^l = h_T^l                                  unidirectional, transform_context=False
    c^l = W^l [h_T^l→ ; h_1^l←] + b^l              bidirectional: a linear map to the decoder's size
    c^l = tanh(W^l [h_T^l→ ; h_1^l←] + b^l)        transform_context=True (either encoder)

(Bahdanau et al. 2015, Appendix A.2.2, start their decoder from tanh(W_s h_1^←), the
backward direction alone; here both directions enter the map.)

and c = c^L, the top layer's, is "the" context vector.  ``context`` says where it
enters the decoder (models/decoding.py):

* "state": layer l of the decoder starts from c^l, as in Sutskever et al. (2014,
  §2), whose decoder starts from the encoder's final state, and Cho et al. (2014,
  A.1.1).  For the LSTM, the memory cells start from the encoder's final memory
  cells, copied (Sutskever et al. pass the whole LSTM state), through a linear map
  (no tanh: a memory cell is not bounded) when the encoder is bidirectional.
* "input": c is part of the decoder's input at every step (Cho et al. 2014, §2.2:
  h_t = f(h_{t−1}, y_{t−1}, c)); the decoder starts from zeros.
* "both": both.

``attention=True`` adds the attention context c_t of Bahdanau et al. (2015, eqs.
5–6, alignment model of Appendix A.1.2) over the encoder's outputs at every step
(models/attention.py), with α = 0 exactly on padded source steps.

Decoding: ``forward`` (teacher forcing, greedy) and ``decode`` (greedy, or beam
search whose answer is never less probable than greedy decoding's) follow
models/decoding.py and models/beam_search.py.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..cells.base import check_size
from ..layers import Recurrent
from .decoding import CONTEXTS, DecoderState, DecodingModel, TokenDecoder, check_choice, check_flag, check_int, hidden


class Seq2Seq(DecodingModel):
    """x (T, B, input_size) float, or (T, B) int64 tokens with ``input_vocab`` -> logits (T_out, B, output_size).

    Args:
        cell: a name from ``rnnlab.cells.available()``, for the encoder and the decoder.
        input_size: features per source step of float inputs (unused with ``input_vocab``).
        output_size: V, symbols of the output vocabulary, PAD, BOS, EOS = 0, 1, 2 first.
        hidden_size: H of every layer of the encoder and the decoder.
        num_layers, dropout: of the encoder and of the decoder (dropout between layers).
        input_vocab: source symbols, embedded when given (inputs are then token ids).
        embedding_size: size of the token embeddings (source and output); default hidden_size.
        bidirectional_encoder: read the source both ways (Bahdanau et al. 2015, §3.2).
        context: "state", "input" or "both" (module docstring).
        transform_context: c = tanh(W h_T + b) (Cho et al. 2014, A.1.1) instead of h_T.
        attention: Bahdanau et al. (2015) additive attention over the encoder's outputs.
        teacher_forcing: ρ in [0, 1], probability of feeding the true previous token in training.
        max_length: longest output without targets (``forward``) and ``decode``'s default.
        **cell_options: passed to every cell (e.g. ``proj_size`` or ``forget_bias`` for lstm).

    ``forward(inputs, lengths=None, state=None, targets=None) -> (logits, decoder state)``:
        lengths (B,): true source lengths; state: the encoder's initial state, as
        ``Recurrent`` takes it; targets (T_out, B) int64, each ending with EOS, padded with
        PAD.  Returns logits (T_out, B, V) and the decoder's final state in ``Recurrent``'s
        layout ((L, B, H), or LSTMState of two).  Feeding rules: models/decoding.py.

    ``decode(inputs, lengths=None, max_length=None, beam_size=1, *, length_penalty=0.0)
    -> (tokens (T_out, B) int64, lengths (B,))``: greedy, or beam search with beam_size > 1.
    """

    def __init__(self, cell: str, input_size: int, output_size: int, hidden_size: int, num_layers: int = 1,
                 dropout: float = 0.0, *, input_vocab: int | None = None, embedding_size: int | None = None,
                 bidirectional_encoder: bool = False, context: str = "state", transform_context: bool = False,
                 attention: bool = False, teacher_forcing: float = 1.0, max_length: int = 100,
                 **cell_options) -> None:
        super().__init__()
        owner = type(self).__name__
        check_choice(owner, "context", context, CONTEXTS)
        for name, value in (("bidirectional_encoder", bidirectional_encoder),
                            ("transform_context", transform_context), ("attention", attention)):
            check_flag(owner, name, value)
        check_size("input_size", input_size)
        check_size("hidden_size", hidden_size)
        check_int(owner, "output_size", output_size, 3, " (PAD, BOS and EOS are the first three symbols)")
        if input_vocab is not None:
            check_int(owner, "input_vocab", input_vocab, 1)
        if embedding_size is not None:
            check_int(owner, "embedding_size", embedding_size, 1)
        check_int(owner, "max_length", max_length, 1)
        self.teacher_forcing = teacher_forcing
        self.input_size, self.output_size, self.hidden_size = input_size, output_size, hidden_size
        self.input_vocab, self.context, self.transform_context = input_vocab, context, transform_context
        self.max_length = max_length
        embedding_size = embedding_size or hidden_size

        self.input_embedding = nn.Embedding(input_vocab, embedding_size) if input_vocab is not None else None
        self.encoder = Recurrent(cell, embedding_size if input_vocab is not None else input_size, hidden_size,
                                 num_layers=num_layers, dropout=dropout, bidirectional=bidirectional_encoder,
                                 **cell_options)
        self.directions = 2 if bidirectional_encoder else 1
        first = self.encoder.cells[0]
        self.field_names = first.state_type._fields if first.state_type is not None else ("h",)
        self.state_sizes = first.state_sizes  # (H_out,) or (H_out, H) for the LSTM's h and c

        # c^l for every layer whose context is used: maps only where the module docstring says so
        self.bridges = nn.ModuleDict()
        used_layers = range(num_layers) if context != "input" else [num_layers - 1]
        for layer in used_layers:
            for k, (name, size) in enumerate(zip(self.field_names, self.state_sizes)):
                if k > 0 and context == "input":
                    continue  # only h makes the context fed as input
                if bidirectional_encoder or (k == 0 and transform_context):
                    self.bridges[f"l{layer}_{name}"] = nn.Linear(self.directions * size, size)

        self.decoder = TokenDecoder(
            cell, output_size, hidden_size, num_layers, dropout, embedding_size=embedding_size,
            context_size=self.state_sizes[0] if context != "state" else 0,
            attention_key_size=self.directions * self.encoder.output_size if attention else 0, **cell_options)

    # ---- encoder ------------------------------------------------------------------------------------
    def check_inputs(self, inputs: Tensor) -> int:
        """B, or a ValueError describing the inputs this model reads."""
        owner = type(self).__name__
        if self.input_vocab is not None:
            if not isinstance(inputs, Tensor) or inputs.dim() != 2 or inputs.numel() == 0 \
                    or inputs.is_floating_point() or inputs.is_complex() or inputs.dtype == torch.bool:
                got = f"{tuple(inputs.shape)} {inputs.dtype}" if isinstance(inputs, Tensor) else type(inputs).__name__
                raise ValueError(f"{owner} expects token ids of shape (T, B) int64 (input_vocab={self.input_vocab}); "
                                 f"got {got}")
            low, high = int(inputs.min()), int(inputs.max())
            if low < 0 or high >= self.input_vocab:
                raise ValueError(f"{owner}: input tokens must lie in [0, input_vocab={self.input_vocab}); "
                                 f"got values from {low} to {high}")
        elif not isinstance(inputs, Tensor) or inputs.dim() != 3 or inputs.shape[2] != self.input_size \
                or not inputs.is_floating_point():
            got = f"{tuple(inputs.shape)} {inputs.dtype}" if isinstance(inputs, Tensor) else type(inputs).__name__
            tokens = isinstance(inputs, Tensor) and not inputs.is_floating_point()
            hint = "; token ids need input_vocab=" if tokens else ""
            raise ValueError(f"{owner} expects inputs of shape (T, B, {self.input_size}) float; got {got}{hint}")
        return inputs.shape[1]

    def encode(self, inputs: Tensor, lengths=None, state=None) -> DecoderState:
        """Read the source -> the decoder's initial state (with c and the attention memory where used)."""
        x = self.input_embedding(inputs) if self.input_embedding is not None else inputs  # (T, B, E or I)
        annotations, h_n = self.encoder(x, state, lengths=lengths)  # (T, B, D·H_out), fields (L·D, B, n)
        fields = [h_n] if isinstance(h_n, Tensor) else list(h_n)
        batch, D, L = x.shape[1], self.directions, self.encoder.num_layers

        def context_of(layer: int, k: int) -> Tensor:
            c = torch.cat(list(fields[k][layer * D : (layer + 1) * D]), dim=-1)  # (B, D·n): both directions
            key = f"l{layer}_{self.field_names[k]}"
            if key in self.bridges:
                c = self.bridges[key](c)  # (B, n)
                if k == 0 and self.transform_context:
                    c = torch.tanh(c)
            return c

        cells = self.decoder.stack.cells
        if self.context == "input":
            layers = self.decoder.zero_layers(batch, x)
            context = context_of(L - 1, 0)  # (B, H_out): c
        else:
            layers = tuple(cells[l].state_from_fields([context_of(l, k) for k in range(len(fields))])
                           for l in range(L))
            context = hidden(layers[-1]) if self.context == "both" else None  # (B, H_out): c = c^L
        memory = None
        if self.decoder.attention is not None:
            steps = x.shape[0]
            keys = annotations.transpose(0, 1)  # (B, T, D·H_out): h_j
            if lengths is None:
                mask = torch.ones(batch, steps, dtype=torch.bool, device=x.device)
            else:
                lengths = torch.as_tensor(lengths, dtype=torch.long, device=x.device)
                mask = torch.arange(steps, device=x.device).unsqueeze(0) < lengths.unsqueeze(1)  # (B, T)
            memory = self.decoder.attention.memory(keys, mask)
        return DecoderState(layers, context, memory)

    # ---- public -------------------------------------------------------------------------------------
    def forward(self, inputs: Tensor, lengths=None, state=None, targets: Tensor | None = None) -> tuple[Tensor, object]:
        batch = self.check_inputs(inputs)
        if targets is not None:
            self.check_targets(targets, batch)
        return self.run_decoder(self.encode(inputs, lengths, state), targets)

    def decode(self, inputs: Tensor, lengths=None, max_length: int | None = None, beam_size: int = 1, *,
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
            return self.decode_from(self.encode(inputs, lengths), max_length, beam_size, length_penalty)

