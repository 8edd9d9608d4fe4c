"""Recurrent language model: predict the next token from all the tokens before it.

The N→N topology with tokens in and a distribution over the same vocabulary out:

    e_t = E[x_t]                                      (T, B, E)   embedding
    y_t = Recurrent(e_1 … e_t)                        (T, B, H_out)
    logits_t = W y_t + b,   p(x_{t+1} | x_≤t) = softmax(logits_t)   (T, B, V)

the recurrent neural network language model of Mikolov et al. (2010), and at the
character level the models of Sutskever, Martens & Hinton (2011) and Karpathy (2015,
"The unreasonable effectiveness of recurrent neural networks"), whose samples
``generate`` draws.  Any registered cell runs the recurrence.

Dropout (Zaremba, Sutskever & Vinyals 2014, "Recurrent neural network
regularization") acts on the non-recurrent connections only: on the embeddings, between
layers, and on the last layer's outputs before the readout; never on the recurrent
state.

Weight tying (Press & Wolf 2017, "Using the output embedding to improve language
models"; Inan, Khosravi & Socher 2017) makes the readout matrix W the embedding matrix
E itself, one Parameter, which needs the embedding as wide as the recurrent output.

Initialisation follows Zaremba et al. (2014) and PyTorch's word_language_model example:
embedding and readout weights U(−0.1, 0.1), readout bias 0 (torch's default N(0, 1)
embedding would give a tied readout huge initial logits); the cells keep their own.
"""

from __future__ import annotations

import numbers

import torch
from torch import Tensor, nn

from ..cells import create
from ..cells.base import check_size
from ..layers import Recurrent
from .classifier import check_tokens

_INIT_RANGE = 0.1  # U(−0.1, 0.1) for the embedding and the readout (Zaremba et al. 2014)


class LanguageModel(nn.Module):
    """Tokens (T, B) -> (next-token logits (T, B, vocab_size), final recurrent state).

    Args:
        cell: a name from ``rnnlab.cells.available()``.
        vocab_size: V, the tokens are ids in [0, V); the readout scores all V.
        hidden_size: H, the cell's hidden units.
        num_layers: stacked recurrent layers (unidirectional: a language model must not
            see the future).
        dropout: probability of dropping the embeddings, the outputs between layers and
            the last layer's outputs before the readout (Zaremba et al. 2014); in
            training only.
        embedding_size: E, width of the token embedding.  When None: the recurrent
            output size H_out (hidden_size, or proj_size for an LSTM with projections),
            which is what tying needs.
        tie_weights: share one Parameter between the embedding and the readout matrix
            (Press & Wolf 2017); needs E == H_out, else a ValueError.
        **cell_options: passed to the cell (e.g. ``proj_size`` for ``lstm``).

    ``forward(tokens, lengths=None, state=None) -> (logits, state)``:
        tokens: (T, B) integer ids in [0, V).
        lengths: (B,) true lengths of a padded batch; None when every sequence has all T steps.
        state: the recurrent state to continue from, as ``Recurrent`` takes it
            ((L, B, H), or a tuple (h, c) for the LSTM); zeros when None.  Feeding a
            chunk's final state into the next chunk continues the text exactly.
        logits: (T, B, V); logits[t] scores the token that follows tokens[t].  Zero at
            padded steps.
        state: the final recurrent state, each sequence's at its own last real step.

    ``generate(prime, length, ...)`` samples a continuation (see there).
    """

    def __init__(self, cell: str, vocab_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0, *,
                 embedding_size: int | None = None, tie_weights: bool = False, **cell_options) -> None:
        super().__init__()
        check_size("vocab_size", vocab_size)
        check_size("hidden_size", hidden_size)
        check_size("num_layers", num_layers)
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0 <= dropout < 1:
            raise ValueError(f"LanguageModel: dropout must be a number in [0, 1); got {dropout!r}")
        if not isinstance(tie_weights, bool):
            raise TypeError(f"LanguageModel: tie_weights must be a bool; got {tie_weights!r}")
        # H_out before building the stack: a cell on the meta device (no memory, no random draws)
        output_size = create(cell, 1, hidden_size, device="meta", **cell_options).output_size
        if embedding_size is None:
            embedding_size = output_size
        check_size("embedding_size", embedding_size)
        if tie_weights and embedding_size != output_size:
            what = "hidden_size" if output_size == hidden_size else "proj_size"
            raise ValueError(f"LanguageModel: tie_weights=True shares the embedding with the readout, so "
                             f"embedding_size must equal the recurrent output size {output_size} ({what}); "
                             f"got embedding_size={embedding_size}")
        self.vocab_size, self.embedding_size, self.tie_weights = vocab_size, embedding_size, tie_weights
        self.embedding = nn.Embedding(vocab_size, embedding_size)
        self.recurrent = Recurrent(cell, embedding_size, hidden_size, num_layers=num_layers,
                                   dropout=dropout if num_layers > 1 else 0.0, **cell_options)
        self.dropout = nn.Dropout(dropout)
        self.readout = nn.Linear(output_size, vocab_size)
        nn.init.uniform_(self.embedding.weight, -_INIT_RANGE, _INIT_RANGE)
        nn.init.zeros_(self.readout.bias)
        if tie_weights:
            self.readout.weight = self.embedding.weight  # (V, E): one Parameter (Press & Wolf 2017)
        else:
            nn.init.uniform_(self.readout.weight, -_INIT_RANGE, _INIT_RANGE)

    def forward(self, tokens: Tensor, lengths: Tensor | None = None, state=None) -> tuple[Tensor, object]:
        check_tokens("LanguageModel", tokens, self.vocab_size)
        return self._logits(tokens, lengths, state)

    def _logits(self, tokens: Tensor, lengths, state) -> tuple[Tensor, object]:
        """forward without the checks of tokens (``generate`` feeds its own samples)."""
        e = self.dropout(self.embedding(tokens))  # (T, B, E)
        y, state = self.recurrent(e, state, lengths=lengths)  # (T, B, H_out)
        logits = self.readout(self.dropout(y))  # (T, B, V)
        if lengths is not None:
            lengths = torch.as_tensor(lengths, device=logits.device)  # checked by the layer
            real = (torch.arange(logits.shape[0], device=logits.device).unsqueeze(1) < lengths).unsqueeze(2)
            logits = logits.masked_fill(~real, 0.0)  # (T, B, V)
        return logits, state

    @torch.no_grad()
    def generate(self, prime: Tensor, length: int, temperature: float = 1.0, top_k: int | None = None,
                 generator: torch.Generator | None = None, *, greedy: bool = False) -> Tensor:
        """Sample ``length`` tokens that continue ``prime`` (Sutskever et al. 2011; Karpathy 2015).

        The prime is read once; then each new token is drawn from softmax(logits / temperature)
        and fed back with the carried recurrent state, one step per token, so a sample of n
        tokens costs O(P + n) steps (the prefix is never run again).

        Args:
            prime: (P,) token ids, or (P, B) for B independent samples at once; P >= 1.
            length: n >= 0, the number of new tokens.
            temperature: τ > 0; the logits are divided by τ (τ < 1 sharpens, τ > 1 flattens).
                For the most likely token at each step use ``greedy=True`` (or ``top_k=1``).
            top_k: keep only the k largest logits of each step (ties with the k-th kept too);
                None keeps all V.
            generator: the source of every random draw (torch's global RNG when None); it
                must live on the model's device.
            greedy: take the arg max at each step instead of sampling (no randomness;
                temperature and top_k are then irrelevant).

        Returns (n,) int64 for a (P,) prime, (n, B) for a (P, B) prime: the new tokens only.
        The model runs in eval mode (no dropout); its previous mode is restored after.
        """
        self._check_generate_args(prime, length, temperature, top_k, generator, greedy)
        device = self.embedding.weight.device
        tokens = prime.to(device=device, dtype=torch.long)
        single = tokens.dim() == 1
        if single:
            tokens = tokens.unsqueeze(1)  # (P, 1)
        modes = [(module, module.training) for module in self.modules()]
        self.eval()
        try:
            logits, state = self._logits(tokens, None, None)  # (P, B, V)
            step_logits = logits[-1]  # (B, V): scores of the token after the prime
            new = []
            for i in range(length):
                token = sample_logits(step_logits, temperature, top_k, generator, greedy=greedy)  # (B,)
                new.append(token)
                if i + 1 < length:
                    logits, state = self._logits(token.unsqueeze(0), None, state)  # (1, B, V)
                    step_logits = logits[0]
        finally:
            for module, mode in modes:
                module.training = mode
        out = torch.stack(new) if new else tokens.new_empty(0, tokens.shape[1])  # (n, B)
        return out.squeeze(1) if single else out

    def _check_generate_args(self, prime, length, temperature, top_k, generator, greedy) -> None:
        owner = "LanguageModel.generate"
        if not isinstance(prime, Tensor):
            raise TypeError(f"{owner}: prime must be a Tensor of token ids; got {type(prime).__name__}")
        if prime.dim() not in (1, 2) or prime.shape[0] == 0 or prime.numel() == 0:
            raise ValueError(f"{owner}: prime must have shape (P,) or (P, B) with P, B >= 1 (at least one token "
                             f"to start from); got {tuple(prime.shape)}")
        check_tokens(owner, prime if prime.dim() == 2 else prime.unsqueeze(1), self.vocab_size, name="prime")
        if isinstance(length, bool) or not isinstance(length, int) or length < 0:
            raise ValueError(f"{owner}: length must be an int >= 0 (new tokens to sample); got {length!r}")
        if (isinstance(temperature, bool) or not isinstance(temperature, numbers.Real)
                or not 0 < temperature < float("inf")):
            raise ValueError(f"{owner}: temperature must be a finite number > 0 (the logits are divided by it; "
                             f"for the most likely token at each step use greedy=True or top_k=1); "
                             f"got {temperature!r}")
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int)
                                  or not 1 <= top_k <= self.vocab_size):
            raise ValueError(f"{owner}: top_k must be None or an int in [1, vocab_size={self.vocab_size}]; "
                             f"got {top_k!r}")
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"{owner}: generator must be a torch.Generator or None; got {type(generator).__name__}")
        if not isinstance(greedy, bool):
            raise TypeError(f"{owner}: greedy must be a bool; got {greedy!r}")


def sample_logits(logits: Tensor, temperature: float, top_k: int | None, generator: torch.Generator | None, *,
                  greedy: bool = False) -> Tensor:
    """One token per row of ``logits`` (B, V) -> (B,) int64.

    Greedy: the arg max.  Otherwise a draw from softmax(logits / τ) restricted to the
    ``top_k`` largest logits (all when None), from ``generator``.
    """
    if greedy:
        return logits.argmax(dim=-1)
    scaled = logits / temperature  # (B, V)
    if top_k is not None and top_k < scaled.shape[-1]:
        kth = scaled.topk(top_k, dim=-1).values[:, -1:]  # (B, 1): the k-th largest of each row
        scaled = scaled.masked_fill(scaled < kth, float("-inf"))
    probs = torch.softmax(scaled, dim=-1)  # (B, V)
    return torch.multinomial(probs, 1, generator=generator).squeeze(1)  # (B,)
