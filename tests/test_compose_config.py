"""How a run's configuration is composed (runs.compose_config): package defaults < the task's
recommendations for the model < --config < --set < flags; `rnnlab train --print-config` shows each
value's source; config.py and models/ import no task."""

import ast
import json
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from rnnlab import cli, runs, tasks
from rnnlab.config import ConfigError, build_config

GATES = {"forget_bias": 5.0, "input_bias": -3.0}
SRC = Path(__file__).resolve().parents[1] / "src" / "rnnlab"


def test_the_task_recommends_per_model_and_every_later_layer_wins(tmp_path):
    config, sources = runs.compose_config("adding", model="lstm")
    assert config.model.options == GATES and sources["model.options"] == "recommended by task adding"
    assert config.train.steps == 5000 and config.train.stop_when == "accuracy >= 0.99"
    assert sources["train.lr"] == "default" and sources["model.name"] == "--model"
    gru, _ = runs.compose_config("adding", model="gru")
    assert gru.model.options == {} and gru.train.steps == 5000  # the LSTM's gates are the LSTM's only
    file = tmp_path / "run.toml"
    file.write_text("[train]\nsteps = 7\nlr = 0.01\n")
    layered, sources = runs.compose_config("adding", config_file=file, overrides=["train.lr=0.02"], seed=4)
    assert (layered.train.steps, layered.train.lr, layered.train.seed) == (7, 0.02, 4)
    assert (sources["train.steps"], sources["train.lr"], sources["train.seed"]) == \
           (f"config file {file}", "--set", "--seed")
    named, _ = runs.compose_config("adding", overrides=["model.name=gru"])  # the model named in --set counts
    assert named.model.options == {}


def test_a_task_may_recommend_per_variant_of_its_settings():
    rows = tasks.get("seq_image").recommendations("lstm", {"by": "rows"})
    pixels = tasks.get("seq_image").recommendations("lstm", {})
    assert rows["train.batch_size"] == 128 and "task.normalise" not in rows
    assert pixels["train.lr"] == 3e-4 and pixels["model.options"] == {"forget_bias": 1.0}


def test_every_recommendation_is_a_valid_setting_of_its_task():
    for name in tasks.available():
        for model in ("lstm", "gru", "elman_tanh", "ntm"):
            for settings in ({}, {"by": "rows"}):
                recommended = tasks.get(name).recommendations(model, settings)
                build_config(name, model=model, recommended=lambda *_: recommended)  # checked, or ConfigError


def test_print_config_shows_each_source_writes_nothing_and_reads_back(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["train", "copy", "--model", "ntm", "--set", "train.lr=3e-4", "--print-config"]) == 0
    text = capsys.readouterr().out
    assert "hidden_size = 100  # recommended by task copy" in text
    assert 'stop_when = "bit_errors_per_sequence <= 0.01"  # recommended by task copy' in text
    assert "lr = 0.0003  # --set" in text and "batch_size = 32  # default" in text
    assert "# tbptt = none  # default" in text
    assert list(tmp_path.iterdir()) == []  # nothing written
    (tmp_path / "printed.toml").write_text(text)
    tomllib.loads(text)
    again = build_config("copy", config_file=tmp_path / "printed.toml")
    assert again == runs.compose_config("copy", model="ntm", overrides=["train.lr=3e-4"])[0]


def test_print_config_of_a_resumed_run_is_its_record(tmp_path, capsys):
    run = tmp_path / "run"
    argv = ["train", "adding", "--model", "gru", "--set", "task.length=20", "--set", "model.hidden_size=8",
            "--set", "train.eval_size=20", "--set", "train.eval_every=2", "--out", str(run)]
    assert cli.main([*argv, "--steps", "2"]) == 0
    capsys.readouterr()
    assert cli.main([*argv, "--steps", "9", "--resume", "--print-config"]) == 0
    printed = tomllib.loads(capsys.readouterr().out)
    assert printed["train"]["steps"] == 9 and printed["task"]["length"] == 20
    assert json.loads((run / "config.json").read_text())["train"]["steps"] == 2  # nothing written


def test_a_bad_recommendation_is_reported_as_such():
    with pytest.raises(ConfigError, match="unknown key train.stepz"):
        build_config("adding", recommended=lambda *_: {"train.stepz": 3})


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            found.add("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_config_and_the_models_import_no_task():
    assert not any("tasks" in name for name in _imports(SRC / "config.py"))
    for path in (SRC / "models").glob("*.py"):
        assert not any("tasks" in name for name in _imports(path)), path.name
