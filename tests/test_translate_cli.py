"""`rnnlab translate RUN_DIR TEXT ... [--beam K]` (issue 15): one output a line, greedy or beam search, and the
messages for what it cannot translate."""

from __future__ import annotations

import json

import pytest
import torch

from rnnlab import cli, runs, tasks
from rnnlab.config import ConfigError
from rnnlab.reproduce.translation import load
from rnnlab.translate import encode, translate

TINY = ["--set", "task.max_number=99", "--set", "model.hidden_size=16", "--set", "model.embedding_size=8",
        "--set", "train.eval_every=20", "--set", "train.eval_size=5", "--set", "train.log_every=20", "--steps", "20"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A tiny en -> de number run with attention, 20 steps: it writes German-looking strings, not right ones."""
    out = tmp_path_factory.mktemp("translate") / "run"
    assert cli.main(["train", "number_translation", "--model", "gru", "--set", "model.attention=true", *TINY,
                     "--out", str(out)]) == 0
    return out


def lines(capsys) -> list[str]:
    return capsys.readouterr().out.splitlines()


def test_one_translation_a_line(run_dir, capsys):
    capsys.readouterr()
    assert cli.main(["translate", str(run_dir), "forty-two", "ninety-seven", "zero"]) == 0
    outputs = lines(capsys)
    assert len(outputs) == 3
    task = runs.build_task(runs.load_config(run_dir))
    allowed = set(task.output_symbols[3:])
    assert all(set(output) <= allowed for output in outputs)
    assert outputs == translate(run_dir, ["forty-two", "ninety-seven", "zero"], log=lambda line: None)


def test_each_text_is_translated_alone_whatever_the_batch(run_dir):
    together = translate(run_dir, ["forty-two", "one hundred and ninety-nine", "six"], log=lambda line: None)
    alone = [translate(run_dir, [text], log=lambda line: None)[0] for text in
             ("forty-two", "one hundred and ninety-nine", "six")]
    assert together == alone  # padding never changes a shorter text's output


def sequence_log_probability(model, task, text: str, output: str) -> float:
    """log p(output, EOS | text) under the model, by teacher forcing."""
    ids = {symbol: i for i, symbol in enumerate(task.output_symbols)}
    inputs = task.encode(text).unsqueeze(1)  # (S, 1)
    targets = torch.tensor([ids[ch] for ch in output] + [2]).unsqueeze(1)  # (T_out, 1), EOS last
    model.train()  # teacher forcing (no dropout in this model)
    with torch.no_grad():
        logits, _ = model(inputs, torch.tensor([inputs.shape[0]]), targets=targets)
    return float(torch.log_softmax(logits, -1).gather(2, targets.unsqueeze(2)).sum())


def test_beam_search_is_never_less_probable_than_greedy(run_dir, capsys):
    texts = ["forty-two", "seventy-one", "one hundred and three"]
    capsys.readouterr()
    assert cli.main(["translate", str(run_dir), *texts, "--beam", "4"]) == 0
    beam = lines(capsys)
    greedy = translate(run_dir, texts, log=lambda line: None)
    assert len(beam) == 3
    model, task = load(run_dir)
    for text, b, g in zip(texts, beam, greedy):
        assert sequence_log_probability(model, task, text, b) >= sequence_log_probability(model, task, text, g) - 1e-4


def test_the_best_checkpoint_can_be_read(run_dir, capsys):
    capsys.readouterr()
    assert cli.main(["translate", str(run_dir), "six", "--checkpoint", "best"]) == 0
    assert len(lines(capsys)) == 1


@pytest.mark.parametrize("args, message", [
    (["forty-two!"], "'forty-two!' holds characters outside the input vocabulary: '!' (it has ' -adefghilnorstuvwxyz')"),
    (["Forty", "Two!"], "'Forty' holds characters outside the input vocabulary: 'F'"),
    (["six", "--beam", "0"], "--beam must be an int >= 1; got 0"),
])
def test_bad_input_is_refused_with_a_message(run_dir, capsys, args, message):
    with pytest.raises(SystemExit) as stop:
        cli.main(["translate", str(run_dir), *args])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("rnnlab translate: error:")


def test_a_text_is_required(run_dir, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["translate", str(run_dir)])
    assert stop.value.code == 2 and "TEXT" in capsys.readouterr().err


def test_a_directory_without_a_run_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["translate", str(tmp_path), "six"])
    assert stop.value.code == 2 and f"{tmp_path} holds no run (no config.json)" in capsys.readouterr().err


def test_a_run_that_is_not_sequence_to_sequence_is_refused(tmp_path, capsys):
    out = tmp_path / "adding"
    assert cli.main(["train", "adding", "--set", "task.length=20", "--set", "model.hidden_size=4", "--steps", "1",
                     "--set", "train.eval_size=4", "--out", str(out)]) == 0
    capsys.readouterr()
    with pytest.raises(SystemExit):
        cli.main(["translate", str(out), "six"])
    assert "is a run of adding, which does not map token sequences to token sequences" in capsys.readouterr().err


def test_tasks_without_encode_read_their_input_symbols_as_characters():
    task = tasks.create("addition")
    assert encode(task, "12+3").tolist() == [2, 3, 11, 4]
    with pytest.raises(ConfigError, match="'1a' holds characters outside task addition's input vocabulary: 'a' "
                                          "\\(it has '0123456789\\+'\\)"):
        encode(task, "1a")


def test_the_run_directory_is_left_as_it_was(run_dir):
    before = {p.relative_to(run_dir): p.stat().st_mtime for p in run_dir.rglob("*") if p.is_file()}
    translate(run_dir, ["six"], log=lambda line: None)
    after = {p.relative_to(run_dir): p.stat().st_mtime for p in run_dir.rglob("*") if p.is_file()}
    assert before == after
    assert json.loads((run_dir / "summary.json").read_text())["step"] == 20
