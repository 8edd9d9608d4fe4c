"""The task registry, and the interface every registered task gives the trainer: class attributes,
reproducible sampling from the given generator only, the held-out set, refused arguments."""

from __future__ import annotations

import doctest
import re

import pytest
import torch

import rnnlab.tasks as tasks
from rnnlab.tasks import AddingTask, Batch, Task, TemporalOrderTask

ALL_TASKS = ["adding", "temporal_order", "char_lm", "word_lm", "sentiment", "seq_image", "reverse", "addition",
             "number_words", "elman_xor", "elman_words", "copy", "repeat_copy", "associative_recall", "ngrams",
             "priority_sort", "two_sequence", "latch", "parity", "delayed_recall", "reber", "long_lag",
             "multiplication", "delayed_xor", "listops", "expression_trees", "chunk_lag", "number_translation",
             "date_translation"]
# generated from a seed with the paper's settings as defaults (the file tasks need a path; number_words'
# held-out set is its whole domain; the Elman streams are long): the interface tests below run on these
GENERATED = ["adding", "temporal_order", "reverse", "addition", "copy", "repeat_copy", "associative_recall",
             "ngrams", "priority_sort", "two_sequence", "latch", "parity", "delayed_recall", "reber", "long_lag",
             "multiplication", "delayed_xor", "listops", "expression_trees", "chunk_lag"]


def test_registry_lists_every_task_in_order():
    assert tasks.available() == ALL_TASKS
    assert tasks.get("adding") is AddingTask and tasks.get("temporal_order") is TemporalOrderTask


@pytest.mark.parametrize("name", ["additions", "", None])
def test_unknown_task_lists_the_available_ones(name):
    message = re.escape(f"unknown task {name!r}; available tasks: {', '.join(ALL_TASKS)}")
    for call in (tasks.get, tasks.create, tasks.describe):
        with pytest.raises(ValueError, match=message):
            call(name)


@pytest.mark.parametrize("name, words", [("adding", ["Adding problem", "1997", "Experiment 4"]),
                                         ("temporal_order", ["Temporal order", "1997", "Task 6a", "6b"]),
                                         ("multiplication", ["Multiplication problem", "1997", "Experiment 5"]),
                                         ("delayed_xor", ["delayed XOR", "1997", "section 6"]),
                                         ("reber", ["Reber grammar", "1997", "Experiment 1", "Gers et al. 2000"]),
                                         ("long_lag", ["Long time lags", "1997", "Experiment 2", "2a-2c"])])
def test_describe_is_one_line_naming_the_source(name, words):
    line = tasks.describe(name)
    assert "\n" not in line
    for word in words:
        assert word in line


def test_create_passes_the_config():
    task = tasks.create("adding", AddingTask.Config(length=500))
    assert isinstance(task, AddingTask) and task.config.length == 500
    assert tasks.create("temporal_order").config == TemporalOrderTask.Config()


def test_a_config_of_another_task_is_refused():
    with pytest.raises(TypeError, match=r"task 'adding' takes a AddingTask.Config; got TemporalOrderTask.Config\("):
        tasks.create("adding", TemporalOrderTask.Config())
    with pytest.raises(TypeError, match=r"task 'temporal_order' takes a TemporalOrderTask.Config; got \{'min_length'"):
        tasks.create("temporal_order", {"min_length": 100})


def test_register_refuses_duplicates_and_non_tasks():
    with pytest.raises(ValueError, match="task name 'adding' is registered already"):
        tasks.register(AddingTask)
    with pytest.raises(TypeError, match="only Task subclasses can be registered; got <class 'int'>"):
        tasks.register(int)

    class Nameless(Task):
        """A task without a name."""

    with pytest.raises(ValueError, match="Nameless needs a class attribute name"):
        tasks.register(Nameless)
    assert tasks.available() == ALL_TASKS


def test_package_docstring_runs():
    assert doctest.testmod(tasks, raise_on_error=False).failed == 0


# ---- the interface of every task ----------------------------------------------------------------

@pytest.mark.parametrize("name, main_metric, goal, sizes, target_dtype",
                         [("adding", "mse", "min", (2, 1), torch.float32),
                          ("temporal_order", "accuracy", "max", (8, 4), torch.int64),
                          ("two_sequence", "accuracy", "max", (1, 1), torch.float32),
                          ("latch", "accuracy", "max", (1, 1), torch.float32),
                          ("parity", "accuracy", "max", (1, 1), torch.float32),
                          ("multiplication", "mse", "min", (2, 1), torch.float32),
                          ("delayed_xor", "accuracy", "max", (2, 1), torch.float32)])
def test_class_attributes(name, main_metric, goal, sizes, target_dtype):
    task = tasks.create(name)
    assert (task.name, task.output_kind, task.main_metric, task.main_metric_goal) == (name, "last", main_metric, goal)
    assert (task.input_size, task.output_size) == sizes
    batch = task.sample(3, torch.Generator().manual_seed(0))
    assert batch.inputs.shape[1:] == (3, sizes[0]) and batch.targets.dtype == target_dtype
    outputs = torch.zeros(3, sizes[1])
    assert task.main_metric in task.metrics(outputs, batch)
    assert task.loss(outputs, batch).shape == ()


@pytest.mark.parametrize("name", GENERATED)
def test_sampling_draws_only_from_the_given_generator(name):
    task = tasks.create(name)
    torch.manual_seed(1)
    state = torch.get_rng_state()
    first = task.sample(16, torch.Generator().manual_seed(3))
    assert torch.equal(torch.get_rng_state(), state), "the global RNG was used"
    torch.manual_seed(2)  # another global state changes nothing
    again = task.sample(16, torch.Generator().manual_seed(3))
    assert torch.equal(first.inputs, again.inputs) and torch.equal(first.targets, again.targets)


@pytest.mark.parametrize("name", GENERATED)
def test_consecutive_batches_from_one_generator_differ(name):
    task, generator = tasks.create(name), torch.Generator().manual_seed(0)
    a, b = task.sample(16, generator), task.sample(16, generator)
    assert not torch.equal(a.targets.float(), b.targets.float()) or not torch.equal(a.inputs[:100], b.inputs[:100])


def _same(a: list[Batch], b: list[Batch]) -> bool:
    return len(a) == len(b) and all(torch.equal(x.inputs, y.inputs) and torch.equal(x.targets, y.targets)
                                    for x, y in zip(a, b))


@pytest.mark.parametrize("name", GENERATED)
def test_eval_set_is_fixed_by_its_seed_in_batches_of_at_most_500(name):
    task = tasks.create(name)
    first = task.eval_set(1234, seed=9)
    task.sample(7, torch.Generator().manual_seed(9))  # training in between changes nothing
    torch.manual_seed(123)
    assert _same(first, task.eval_set(1234, seed=9))
    assert [batch.inputs.shape[1] for batch in first] == [500, 500, 234]
    assert [batch.inputs.shape[1] for batch in task.eval_set(1000, seed=9)] == [500, 500]
    assert [batch.inputs.shape[1] for batch in task.eval_set(1, seed=9)] == [1]
    assert not _same(first, task.eval_set(1234, seed=10))


@pytest.mark.parametrize("name", GENERATED)
def test_eval_set_is_not_the_training_stream_of_the_same_seed(name):
    """A trainer seeding its training generator with the eval seed must not train on the held-out set."""
    task = tasks.create(name)
    held_out = task.eval_set(500, seed=4)[0]
    training = task.sample(500, torch.Generator().manual_seed(4))
    assert not torch.equal(held_out.inputs[:100], training.inputs[:100])


@pytest.mark.parametrize("name", GENERATED)
def test_bad_sampling_arguments_are_refused(name):
    task = tasks.create(name)
    for size in (0, -1, 2.0, True):
        with pytest.raises(ValueError, match=re.escape(f"batch_size must be an int >= 1; got {size!r}")):
            task.sample(size, torch.Generator())
        with pytest.raises(ValueError, match=re.escape(f"size must be an int >= 1; got {size!r}")):
            task.eval_set(size, seed=0)
    with pytest.raises(TypeError, match=f"task '{name}' samples from a torch.Generator \\(no global RNG\\); got 0"):
        task.sample(4, 0)
    with pytest.raises(TypeError, match="seed must be an int; got '0'"):
        task.eval_set(4, seed="0")


def test_batch_to_moves_inputs_and_targets():
    batch = tasks.create("adding").sample(4, torch.Generator().manual_seed(0))
    moved = batch.to(torch.device("cpu"))
    assert torch.equal(moved.inputs, batch.inputs) and moved.lengths is batch.lengths
