"""`rnnlab reproduce translation` (issue 15): the three ways of giving the decoder its context on one budget, the
scores of decoded strings, the alignment pictures on a tiny model, and the quick mode end to end."""

from __future__ import annotations

import json

import pytest
import torch

from rnnlab import reproduce, tasks
from rnnlab.models import Seq2Seq
from rnnlab.reproduce import runner, translation
from rnnlab.reproduce.translation_pictures import alignment, draw_alignments, source_words, word_weights


@pytest.fixture
def registered(monkeypatch):
    """The experiment in the registry (reproduce/__init__.py lists it once the lead registers it)."""
    monkeypatch.setitem(reproduce._MODULES, "translation", "translation")


@pytest.fixture(scope="module")
def task():
    return tasks.create("number_translation", tasks.get("number_translation").Config(max_number=99))


@pytest.fixture(scope="module")
def model(task):
    torch.manual_seed(0)
    return Seq2Seq("gru", task.input_size, task.output_size, 8, input_vocab=task.input_vocab, embedding_size=4,
                   bidirectional_encoder=True, attention=True).eval()


def test_the_experiment_and_its_acceptance(registered):
    experiment = reproduce.get("translation")
    assert experiment is translation.EXPERIMENT
    names = [run.name for run in experiment.runs]
    assert names[:3] == ["en→de numbers, context as initial state", "en→de numbers, context as input",
                         "en→de numbers, attention"]
    assert {run.task for run in experiment.runs} == {"number_translation", "date_translation"}
    assert translation.TARGETS[("en→de numbers, attention", "exact_match")][0] == (">=", 0.95)
    assert [run.name for run in experiment.runs if run.in_quick] == names[:3]


@pytest.mark.parametrize("quick", [False, True])
def test_the_three_contexts_share_data_and_budget(quick):
    configs = {run.name: runner._configure(run, run.settings(quick=quick), None).to_dict()
               for run in translation.RUNS[:3]}
    state, given, attended = configs.values()
    assert (state["model"]["context"], state["model"]["attention"]) == ("state", False)
    assert (given["model"]["context"], given["model"]["attention"]) == ("input", False)
    assert (attended["model"]["context"], attended["model"]["attention"]) == ("state", True)
    for config in configs.values():
        assert config["task"] == state["task"] and config["model"]["name"] == "gru"
        assert (config["task"]["source"], config["task"]["target"]) == ("en", "de")
        assert config["model"]["bidirectional"] and config["train"]["lr"] == 3e-3
        if not quick:
            assert config["train"]["steps"] == 2_000 and config["task"]["max_number"] == 9_999


def test_every_run_composes(quick=False):
    for run in translation.RUNS:
        for quick in (False, True):
            if run.in_quick or not quick:
                runner._configure(run, run.settings(quick=quick), None)


def test_score_counts_whole_strings_and_asks_sacrebleu(task):
    items = torch.tensor([42, 97, 7])
    outputs = ["zweiundvierzig", "siebenundneunzig", "acht"]
    scores = translation.score(task, items, outputs)
    assert scores["exact_match"] == pytest.approx(2 / 3)
    assert scores["bleu"] == pytest.approx(200 / 3) and 0 < scores["chrf"] < 100


def test_translate_items_decodes_every_item_greedy_and_beam(model, task):
    items = task.splits["test"]
    greedy = translation.translate_items(model, task, items, batch_size=3)
    assert len(greedy) == len(items) and greedy == translation.translate_items(model, task, items)
    beam = translation.translate_items(model, task, items, beam=3)
    assert len(beam) == len(items) and all(set(text) <= set(task.output_symbols[3:]) for text in beam)


def test_alignment_rows_are_the_attention_weights_of_greedy_decoding(model, task):
    output, symbols, weights = alignment(model, task, "forty-two")
    assert weights.shape == (len(symbols), len("forty-two"))
    assert torch.allclose(weights.sum(1), torch.ones(len(symbols)))  # eq. 6: a distribution over the source
    tokens, _ = model.decode(task.encode("forty-two").unsqueeze(1), torch.tensor([9]),
                             max_length=task.max_target_length)
    assert output == task.decode(tokens[:, 0])  # the same greedy decoding as Seq2Seq.decode
    assert len(symbols) == len(output) + (symbols[-1] == "<eos>")


def test_source_words_and_their_weights():
    assert source_words("forty-two") == [("forty", [0, 1, 2, 3, 4]), ("two", [6, 7, 8])]
    assert source_words("30 novembre 2026") == [("30", [0, 1]), ("novembre", [3, 4, 5, 6, 7, 8, 9, 10]),
                                                ("2026", [12, 13, 14, 15])]
    weights = torch.tensor([[0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0.1, 0.1, 0.1]])  # (1, 9): the hyphen holds 0.2
    words, summed = word_weights(weights, "forty-two")
    assert words == ["forty", "two"] and torch.allclose(summed, torch.tensor([[0.5, 0.3]]))


def test_the_picture_is_drawn(model, task, tmp_path):
    path = draw_alignments(model, task, ["forty-two", "seven"], tmp_path / "a" / "alignment.png", title="tiny")
    assert path.is_file() and path.stat().st_size > 5_000


def test_a_model_without_attention_has_no_alignment(task):
    plain = Seq2Seq("gru", task.input_size, task.output_size, 8, input_vocab=task.input_vocab)
    with pytest.raises(ValueError, match="the model has no attention"):
        alignment(plain, task, "six")


def test_quick_mode_end_to_end(registered, tmp_path):
    out = tmp_path / "out"
    reproduce.main(["translation"], out, quick=True, steps=3, log=lambda line: None)
    rows = json.loads((out / "translation" / "results.json").read_text())
    trained = [row for row in rows if not row.get("measured")]
    assert [row["run"] for row in trained] == [run.name for run in translation.RUNS[:3]]
    measured = [row for row in rows if row.get("measured")]
    assert len(measured) == 3 * (2 * 3 + 1 + 2)  # per run: greedy and beam × 3 metrics, the first evaluation,
    # the generalisation split × 2
    early = [row for row in measured if row["run"].endswith("· validation, after 3 steps")]
    assert len(early) == 3 and early[0]["pictures"] == ["quick/learning-curves-numbers-en-de.png"]
    assert {row["metric"] for row in measured} == {"exact_match", "bleu", "chrf"}
    attention = next(row for row in measured if row["run"] == "en→de numbers, attention · test, greedy")
    assert attention["target"] == [">=", 0.95] and len(attention["pictures"]) == 2
    assert all((out / "translation" / picture).is_file() for picture in attention["pictures"])
    table = (out / "translation" / "quick" / "table.md").read_text()
    assert table.count("\n") == 2 + 3 * 3 + 5 + 3 and "beam 5" in table
