"""train.algorithm = "guess": random weight guessing (Hochreiter & Schmidhuber 1996), batched, counted, resumable."""

import json

import pytest
import torch

from rnnlab import cli, config, runs
from rnnlab.training.trainer import Trainer, TrainingError

BASE = ["task.length=12", "train.algorithm=guess", "train.eval_size=32", "train.guess_range=1.0", "train.log_every=1"]


def _trainer(tmp_path, *overrides, name="run"):
    run = config.build_config("adding", model="elman_tanh", overrides=[*BASE, *overrides])
    task = runs.build_task(run)
    torch.manual_seed(0)
    return Trainer(runs.build_model(run, task), task, run.train, tmp_path / name, progress_bar=False)


def _held_out_mse(trainer) -> float:
    return trainer.evaluate()["mse"]


def test_batched_scores_equal_one_draw_at_a_time(tmp_path):
    trainer = _trainer(tmp_path, 'train.stop_when="mse < 0.01"', "train.guesses=6")
    algorithm = trainer.algorithm
    trainer.model.recurrent.fast_paths = False
    generator = torch.Generator().manual_seed(3)
    draws = {n: torch.rand(6, *p.shape, generator=generator) * 2 - 1 for n, p in trainer.model.named_parameters()}
    batched = algorithm._held_out_metrics(trainer.model, draws)["mse"]
    trainer.model.recurrent.fast_paths = True
    for index in range(6):
        with torch.no_grad():
            for name, p in trainer.model.named_parameters():
                p.copy_(draws[name][index])
        assert batched[index] == pytest.approx(_held_out_mse(trainer), rel=1e-5)


def test_the_first_draw_that_solves_is_kept_and_the_trials_counted(tmp_path):
    """A threshold only the highest-scoring draw passes ("mse >": any metric and direction is a criterion; on
    the adding problem, draws in [−1, 1] score far worse than the initial weights): it is loaded, the trials
    stop there."""
    probe = _trainer(tmp_path, 'train.stop_when="mse < 0.01"', "train.guesses=20", name="probe")
    probe.model.recurrent.fast_paths = False
    generator = torch.Generator().manual_seed(0)  # the draws of step 0 with train.seed = 0
    draws = {n: ((torch.rand(20, *p.shape, generator=generator, dtype=torch.float64) * 2 - 1) * 1.0).to(p.dtype)
             for n, p in probe.model.named_parameters()}
    scores = probe.algorithm._held_out_metrics(probe.model, draws)["mse"]
    initial = _held_out_mse(_trainer(tmp_path, 'train.stop_when="mse < 0.01"', name="initial"))
    threshold = float(scores.max()) * 0.9999
    assert initial < threshold
    first = int((scores > threshold).nonzero()[0])
    trainer = _trainer(tmp_path, f'train.stop_when="mse > {threshold!r}"', "train.guesses=20", "train.eval_every=1",
                       "train.steps=5")
    summary = trainer.fit()
    assert summary["stopped"] == "target" and summary["step"] == 1
    assert trainer.algorithm.trials == first + 1
    assert summary["mse"] == pytest.approx(float(scores[first]), rel=1e-5)
    record = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[-1])
    assert record["trials"] == first + 1


def test_unsolved_runs_count_every_draw_and_resume_the_count(tmp_path, capsys):
    args = ["train", "adding", "--model", "elman_tanh", "--out", str(tmp_path / "run"),
            *[x for o in [*BASE, 'train.stop_when="mse < 0.0000001"', "train.guesses=7", "train.eval_every=2"]
              for x in ("--set", o)]]
    assert cli.main([*args, "--steps", "2"]) == 0
    assert cli.main([*args, "--steps", "3", "--resume"]) == 0
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["trials"] for r in records] == [7, 14, 21]


@pytest.mark.parametrize("overrides, message", [
    ([], "needs train.stop_when"),
    (['train.stop_when="mse < 0.1"', "train.tbptt=3"], "train.tbptt and train.carry_state do not apply"),
])
def test_settings_that_make_no_sense_are_refused(tmp_path, overrides, message):
    with pytest.raises(TrainingError, match=message):
        _trainer(tmp_path, *overrides)
