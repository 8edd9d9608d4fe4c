"""What every task gives the trainer: batches of data, a loss and metrics (``Task``, ``Batch``).

A task never builds a model or an optimizer.  The trainer asks it for training
batches (``sample``), a fixed held-out set (``eval_set``), the loss to minimise
(``loss``) and the figures to log (``metrics``); it learns from the class
attributes what the model must read and produce (``input_size``,
``output_size``, ``output_kind``) and which metric decides (``main_metric``,
``main_metric_goal``).

Shapes: T steps (the longest sequence of the batch), B sequences, I = ``input_size``
features per step, O = ``output_size`` readouts.  Data are time-major, like
torch.nn's recurrent layers without ``batch_first``.

The topology a task needs (``output_kind``) and what its batches hold:

    output_kind  model (rnnlab.models)         inputs                 targets
    "last"       SequenceClassifier (N→1)      (T, B, I) or (T, B)*   (B, O) float or (B,) int64 class
    "every"      SequenceTagger (N→N),         (T, B, I) or (T, B)*   (T, B, O) float or (T, B) int64 class
                 LanguageModel if language_model
    "sequence"   Seq2Seq (N→M)                 (T, B, I) or (T, B)*   (T_out, B) int64 tokens
    "generate"   SequenceGenerator (1→N)       (B, I) one vector      (T_out, B) int64 tokens

    * (T, B) int64 token ids when ``input_vocab`` is set: the model embeds them.

Token targets ("sequence", "generate") use the output vocabulary of ``output_size``
symbols whose first three are ``PAD``, ``BOS`` and ``EOS``: each target sequence ends
with EOS, is padded with PAD after it, and ``Batch.target_lengths`` counts its tokens
with the EOS.  Decoders start from BOS.  Padded steps of "every" targets are past
``Batch.lengths`` and never scored.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

import torch
from torch import Tensor

from ..vocabulary import BOS, EOS, PAD  # noqa: F401  (the first three symbols of every token output vocabulary)

EVAL_BATCH_SIZE = 500  # eval_set yields batches of at most this many sequences

# eval_set(size, seed) seeds its generator with seed + _EVAL_SEED_OFFSET (mod 2**64), so that a
# trainer that seeds its training generator with the same number does not train on the held-out set.
_EVAL_SEED_OFFSET = 0x5EED_0F_E7A1_5E7
_SEED_MODULUS = 2**64


@dataclass
class Batch:
    """A batch of sequences and their targets."""

    inputs: Tensor  # (T, B, I) float32, zeros past each sequence's length; see the table above
    targets: Tensor  # by output_kind, see the table above
    lengths: Tensor | None  # (B,) int64 true input lengths, or None when every sequence has all T steps
    target_lengths: Tensor | None = None  # (B,) int64 tokens of each target with its EOS ("sequence", "generate")
    # The sequences' structure, for models that read one (``reads_structure = True``, e.g. the recursive nets
    # read the parse trees of ListOps); other models read the inputs alone.  Any object with ``narrow(begin,
    # end)`` and ``to(device)``, e.g. trees.TreeBatch.
    structure: Any = None

    def narrow(self, begin: int, end: int, output_kind: str = "last") -> Batch:
        """Sequences ``begin:end`` of the batch (a process's share under data parallelism)."""
        inputs = self.inputs[begin:end] if output_kind == "generate" else self.inputs[:, begin:end]
        targets = self.targets[begin:end] if output_kind == "last" else self.targets[:, begin:end]
        cut = lambda t: None if t is None else t[begin:end]  # noqa: E731
        structure = None if self.structure is None else self.structure.narrow(begin, end)
        return Batch(inputs, targets, cut(self.lengths), cut(self.target_lengths), structure)

    def steps(self, begin: int, end: int) -> Batch:
        """Time steps ``begin:end`` of a batch whose inputs and targets are both per step (output kind
        "every", sequences of equal length): a chunk of truncated BPTT."""
        if self.lengths is not None:
            raise ValueError("a padded batch cannot be cut into chunks of time steps")
        if self.structure is not None:
            raise ValueError("a batch with a structure (e.g. parse trees) cannot be cut into chunks of time steps")
        return Batch(self.inputs[begin:end], self.targets[begin:end], None)

    def to(self, device: torch.device | str) -> Batch:
        """The same batch on ``device`` (the lengths stay where they are: packing wants them on the CPU)."""
        structure = None if self.structure is None else self.structure.to(device)
        return dataclasses.replace(self, inputs=self.inputs.to(device), targets=self.targets.to(device),
                                   structure=structure)


class Task:
    """Base class.  Subclasses set the class attributes and implement ``sample``, ``loss`` and ``metrics``.

    The first line of a subclass's docstring is its one-line description (``tasks.describe``).
    """

    name: ClassVar[str]  # registry name, e.g. "adding"
    Config: ClassVar[type]  # a @dataclass of the task's settings; every default is the paper's setting
    output_kind: ClassVar[str] = "last"  # the topology: "last", "every", "sequence" or "generate" (table above)
    input_vocab: int | None = None  # inputs are token ids below this when set (the model embeds them)
    language_model: ClassVar[bool] = False  # "every" task whose model is a LanguageModel (rnnlab sample)
    stream: ClassVar[bool] = False  # serves consecutive pieces of parallel streams (``stream_batch``)
    has_trees: ClassVar[bool] = False  # batches carry parse trees (Batch.structure, trees.TreeBatch): tree models
    main_metric: ClassVar[str]  # e.g. "mse" or "accuracy"
    main_metric_goal: ClassVar[str]  # "min" or "max"
    input_size: int  # I: features per step
    output_size: int  # O: size of the readout the model must produce
    # The settings under which the task's published figure is reached, by model name ("*": every model),
    # as {"section.key": value}: e.g. {"*": {"train.steps": 3000}, "lstm": {"model.options": {...}}}.
    # `rnnlab train TASK --model M` starts from them (runs.compose_config): the package defaults, then
    # these, then --config, then --set.  A task whose variants need different settings overrides
    # ``recommendations`` instead.
    recommended: ClassVar[Mapping[str, Mapping[str, Any]]] = {}

    def __init__(self, config: Any = None) -> None:
        """``config``: an instance of ``self.Config``; None gives the paper's settings."""
        if config is None:
            config = self.Config()
        elif not isinstance(config, self.Config):
            raise TypeError(f"task {self.name!r} takes a {type(self).__name__}.Config; got {config!r}")
        self.validate(config)
        self.config = config

    @classmethod
    def recommendations(cls, model: str, settings: Mapping[str, Any]) -> dict[str, Any]:
        """The recommended settings for ``model``, those for every model first; ``settings`` are the
        task settings the user gives (``task.by = "rows"``), for tasks whose variants differ."""
        return {**cls.recommended.get("*", {}), **cls.recommended.get(model, {})}

    # ---- to implement ------------------------------------------------------------------------

    def validate(self, config: Any) -> None:
        """Raise ValueError, naming the field and its value, if ``config`` is not a usable setting."""

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        """A fresh random training batch of ``batch_size`` sequences; every random draw from ``generator``."""
        raise NotImplementedError

    def loss(self, outputs: Tensor, batch: Batch) -> Tensor:
        """Scalar mean loss of ``outputs`` (B, O), the model's raw readouts (logits for classification)."""
        raise NotImplementedError

    def metrics(self, outputs: Tensor, batch: Batch) -> dict[str, float]:
        """Batch means of the task's metrics, with ``"loss"``, and ``"count"``: B (to weight batches)."""
        raise NotImplementedError

    def stream_batch(self, batch_size: int, index: int, seed: int) -> Batch:
        """Only for tasks with ``stream = True`` (``train.carry_state``): piece ``index`` of
        ``batch_size`` parallel streams, so that sequence b of piece i + 1 continues sequence b of
        piece i; a function of (batch_size, index, seed) alone, so a resumed run reads on exactly."""
        raise NotImplementedError(f"task {self.name!r} has no stream to carry the state along")

    # ---- shared ------------------------------------------------------------------------------

    def eval_set(self, size: int, seed: int) -> list[Batch]:
        """A fixed held-out set of ``size`` sequences, in batches of at most 500.

        Built from its own generator, seeded from ``seed`` alone: the same (size, seed) gives the
        same set, whatever the global RNG or the training generator did before.  The generator's
        seed is offset from ``seed`` so that training with ``torch.Generator().manual_seed(seed)``
        does not replay the held-out set.
        """
        _check_int("size", size, minimum=1)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int; got {seed!r}")
        generator = torch.Generator().manual_seed((seed + _EVAL_SEED_OFFSET) % _SEED_MODULUS)
        full, rest = divmod(size, EVAL_BATCH_SIZE)
        sizes = [EVAL_BATCH_SIZE] * full + ([rest] if rest else [])
        return [self.sample(n, generator) for n in sizes]

    def settings(self) -> dict[str, Any]:
        """The task's configuration as a plain dict (every default written out)."""
        return dataclasses.asdict(self.config)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.settings().items())
        return f"{type(self).__name__}({fields})"

    # ---- helpers for subclasses --------------------------------------------------------------

    def check_sample_args(self, batch_size: int, generator: torch.Generator) -> None:
        """Refuse a batch size that is not a positive int and a generator that is not a torch.Generator."""
        _check_int("batch_size", batch_size, minimum=1)
        if not isinstance(generator, torch.Generator):
            raise TypeError(f"task {self.name!r} samples from a torch.Generator (no global RNG); got {generator!r}")

    def check_outputs(self, outputs: Tensor, batch: Batch) -> None:
        """Refuse outputs that are not (B, output_size) for ``batch`` (tasks whose output_kind is "last")."""
        expected = (batch.inputs.shape[1], self.output_size)
        if not isinstance(outputs, Tensor) or tuple(outputs.shape) != expected:
            got = tuple(outputs.shape) if isinstance(outputs, Tensor) else type(outputs).__name__
            raise ValueError(f"task {self.name!r} expects outputs of shape (B, {self.output_size}) = {expected}; "
                             f"got {got}")


def _check_int(field: str, value: Any, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{field} must be an int >= {minimum}; got {value!r}")


def check_config_int(task: str, field: str, value: Any, *, minimum: int, why: str = "") -> None:
    """ValueError naming the task, the field and the value unless ``value`` is an int >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        reason = f" ({why})" if why else ""
        raise ValueError(f"{task} task: {field} must be an int >= {minimum}{reason}; got {value!r}")


def check_step_outputs(task: str, outputs: Any, steps: tuple[int, int], size: int, holding: str = "") -> None:
    """Refuse outputs that are not (T, B, ``size``) for ``steps`` = (T, B), an output at every step: ValueError
    naming the task, the shape expected and the one given; ``holding`` says what the outputs hold."""
    expected = (*steps, size)
    if not isinstance(outputs, Tensor) or tuple(outputs.shape) != expected:
        got = tuple(outputs.shape) if isinstance(outputs, Tensor) else type(outputs).__name__
        raise ValueError(f"task {task!r} expects outputs of shape (T, B, {size}) = {expected}"
                         f"{', ' + holding if holding else ''}; got {got}")


def lengths_mask(lengths: Tensor, steps: int) -> Tensor:
    """(T, B) bool, True at the real steps of each sequence: t < lengths[b]."""
    return torch.arange(steps).unsqueeze(1) < lengths.unsqueeze(0)  # (T, B)
