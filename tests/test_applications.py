"""Issue 4's acceptance points for the application tasks, through the command line and ``runs``.

1. the same command runs every task with every classic cell (gru, gru1, gru2, gru3, elman_tanh, lstm)
   and writes the run directory; ``rnnlab eval --json`` repeats summary.json's keys;
2. ``rnnlab sample`` on a character language model run: the prime, then --length characters,
   reproducible by --seed; a prime outside the vocabulary and a run that is no language model are
   one-line errors;
3. bad data files (missing, wrong format, empty) are one line naming the file (and the line), exit 2,
   and nothing is written;
4. a small-budget learning check per task: a fixed seed, a few seconds on one core, a held-out metric
   clearly better than chance.

Every data file is tiny and written here, in the task's real format.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import numpy as np
import pytest

from rnnlab import cli, runs, tasks
from rnnlab.config import build_config
from rnnlab.training import trainer as trainer_module

CELLS = ["gru", "gru1", "gru2", "gru3", "elman_tanh", "lstm"]
# issue 4's tasks (issue 3's are tested in tests/test_runs.py, the NTM's in tests/test_ntm_tasks.py)
APPLICATION_TASKS = ["char_lm", "word_lm", "sentiment", "seq_image", "reverse", "addition", "number_words",
                     "elman_xor", "elman_words"]

# ---- tiny data files in the tasks' real formats --------------------------------------------------

CORPUS = "the cat sat on the mat.\nthe dog sat on the log.\n" * 6  # 288 characters, 15 distinct


def write_corpus(directory: Path, text: str = CORPUS, name: str = "corpus.txt") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def write_sentences(directory: Path, n: int = 40, name: str = "reviews.txt") -> Path:
    """n ``sentence<TAB>label`` lines of four shared filler words and one word that tells the class,
    "good" (label 1) or "bad" (label 0), at a place that varies from sentence to sentence."""
    fillers = ["the", "movie", "phone", "food", "service", "place", "was", "today"]
    lines = []
    for k in range(n):  # sentences 2m and 2m + 1 share their fillers: only "good" / "bad" tells them apart
        words = [fillers[((k // 2) * 3 + i) % len(fillers)] for i in range(4)]
        words.insert(k % 5, "good" if k % 2 else "bad")
        lines.append(f"{' '.join(words)}\t{k % 2}")
    path = directory / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


IMAGES_MAGIC, LABELS_MAGIC = 0x00000803, 0x00000801
IDX_NAMES = {("train", "images"): "train-images-idx3-ubyte", ("train", "labels"): "train-labels-idx1-ubyte",
             ("test", "images"): "t10k-images-idx3-ubyte", ("test", "labels"): "t10k-labels-idx1-ubyte"}


def idx_bytes(array: np.ndarray, magic: int) -> bytes:
    """An IDX file: the 4-byte magic number, one 4-byte big-endian size per dimension, the uint8 data."""
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", n) for n in array.shape) + \
        array.astype(np.uint8).tobytes()


def bright_row_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n 28×28 images of faint noise whose class c (0..9) is the one bright row, row 2c + 4."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    images = rng.integers(0, 40, (n, 28, 28))
    images[np.arange(n), 2 * labels + 4, :] = 255
    return images, labels


def write_idx_directory(directory: Path, n_train: int = 40, n_test: int = 20) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for split, n, seed in (("train", n_train, 0), ("test", n_test, 1)):
        images, labels = bright_row_images(n, seed)
        (directory / IDX_NAMES[split, "images"]).write_bytes(idx_bytes(images, IMAGES_MAGIC))
        (directory / IDX_NAMES[split, "labels"]).write_bytes(idx_bytes(labels, LABELS_MAGIC))
    return directory


def tiny_settings(task: str, data: Path) -> list[str]:
    """``--set`` overrides that make ``task`` tiny; file tasks read files written into ``data``."""
    settings = {
        "char_lm": lambda: [f"task.path={write_corpus(data)}", "task.seq_length=8", "task.validation_fraction=0.2"],
        "word_lm": lambda: [f"task.path={write_corpus(data)}", "task.seq_length=5", "task.validation_fraction=0.3"],
        "sentiment": lambda: [f"task.path={write_sentences(data)}"],
        "seq_image": lambda: [f"task.path={write_idx_directory(data / 'images')}", "task.by=rows"],
        "reverse": lambda: ["task.symbols=4", "task.min_length=2", "task.max_length=4"],
        "addition": lambda: ["task.max_digits=1"],
        "number_words": lambda: ["task.max_number=20"],
        "elman_xor": lambda: ["task.length=12"],
        "elman_words": lambda: ["task.length=20"],
    }[task]()
    return [arg for setting in settings for arg in ("--set", setting)]


SMALL = ["--set", "model.hidden_size=8", "--set", "train.batch_size=4", "--set", "train.eval_size=8",
         "--set", "train.log_every=1", "--set", "train.eval_every=2", "--set", "train.checkpoint_every=2"]


QUIET = ["train.eval_every=100000", "train.checkpoint_every=100000", "train.log_every=100000"]  # no curves


def train_cli(task: str, out: Path, data: Path, *extra: str, model: str = "gru", steps: int = 2) -> int:
    return cli.main(["train", task, "--model", model, "--steps", str(steps), "--out", str(out),
                     *SMALL, *tiny_settings(task, data), *extra])


def last_json(text: str) -> dict:
    return json.loads(text.strip().splitlines()[-1])


# ---- 1. every task with every classic cell -------------------------------------------------------

# Drawing the three learning curves is nine tenths of a tiny run's time (matplotlib), and the same
# code for every cell: each task draws them for real with one cell, each cell for at least one task;
# the other runs check that the trainer asks for them, with the task's main metric.
PLOTTED_WITH = {task: CELLS[i % len(CELLS)] for i, task in enumerate(APPLICATION_TASKS)}


def test_the_application_tasks_are_registered_and_every_cell_draws_plots_once():
    assert set(APPLICATION_TASKS) <= set(tasks.available())
    assert set(PLOTTED_WITH.values()) == set(CELLS)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("task", APPLICATION_TASKS)
def test_every_task_trains_with_every_cell_and_eval_repeats_the_summary(tmp_path, capsys, monkeypatch, task, cell):
    drawn = []
    if cell != PLOTTED_WITH[task]:
        monkeypatch.setattr(trainer_module, "plot_learning_curves",
                            lambda run_dir, main_metric: drawn.append((Path(run_dir), main_metric)) or [])
    run = tmp_path / "run"
    assert train_cli(task, run, tmp_path, model=cell) == 0
    printed = last_json(capsys.readouterr().out)

    config = json.loads((run / "config.json").read_text())
    assert config["task"]["name"] == task and config["model"]["name"] == cell and config["train"]["steps"] == 2
    assert config["model"]["hidden_size"] == 8
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2]
    main_metric = tasks.get(task).main_metric
    assert f"train_{main_metric}" in records[0] and f"eval_{main_metric}" in records[1]
    summary = json.loads((run / "summary.json").read_text())
    assert summary == printed and summary["step"] == 2 and summary["skipped_steps"] == 0
    assert main_metric in summary and math.isfinite(summary[main_metric])
    assert sorted(p.name for p in (run / "checkpoints").iterdir() if p.name.startswith("step-")) == ["step-00000002"]

    plots = {p.name for p in (run / "plots").iterdir()} if (run / "plots").is_dir() else set()
    if cell == PLOTTED_WITH[task]:
        assert {"loss.png", f"{main_metric}.png", "grad_norm.png"} <= plots
    else:
        assert drawn == [(run, main_metric)]
    if task == "elman_words":
        assert "elman_words_errors.png" in plots  # the task's own picture (Elman 1990, Figure 6)
    assert all((run / "plots" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for name in plots)

    assert cli.main(["eval", str(run), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert set(evaluated) == set(summary)
    assert evaluated[main_metric] == pytest.approx(summary[main_metric])


def test_a_run_shorter_than_log_every_still_has_its_learning_curves(tmp_path):
    run = tmp_path / "run"
    assert cli.main(["train", "reverse", "--steps", "2", "--out", str(run), "--set", "model.hidden_size=8",
                     "--set", "train.batch_size=4", "--set", "train.eval_size=8"]) == 0  # log_every = 100
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert records and records[-1]["step"] == 2
    assert (run / "plots" / "loss.png").is_file()


# ---- 2. rnnlab sample -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lm_runs(tmp_path_factory):
    """A char_lm, a word_lm and a reverse run of a few steps each."""
    root = tmp_path_factory.mktemp("sample")
    made = {}
    for task in ("char_lm", "word_lm", "reverse"):
        overrides = [s for s in SMALL + tiny_settings(task, root) if s != "--set"] + QUIET
        config = build_config(task, model="lstm", steps=5, overrides=overrides)
        runs.train(config, root / task, log=lambda _: None)
        made[task] = root / task
    return made


def sample_cli(capsys, run: Path, *args: str) -> tuple[int, str, str]:
    try:
        code = cli.main(["sample", str(run), *args])
    except SystemExit as exit_info:
        code = exit_info.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_sample_prints_the_prime_then_length_characters_and_the_seed_fixes_them(lm_runs, capsys):
    args = ["--prime", "the ", "--length", "20", "--temperature", "0.8"]
    code, out, _ = sample_cli(capsys, lm_runs["char_lm"], *args)
    assert code == 0 and out.endswith("\n")
    text = out[:-1]  # print's line end; the text itself may hold line ends
    assert text.startswith("the ") and len(text) == len("the ") + 20
    assert set(text) <= set(CORPUS)  # characters of the vocabulary only
    assert sample_cli(capsys, lm_runs["char_lm"], *args)[1] == out  # --seed 0 by default
    assert sample_cli(capsys, lm_runs["char_lm"], *args, "--seed", "0")[1] == out
    assert sample_cli(capsys, lm_runs["char_lm"], *args, "--seed", "1")[1] != out


def test_sample_of_a_word_language_model_starts_with_its_prime(lm_runs, capsys):
    code, out, _ = sample_cli(capsys, lm_runs["word_lm"], "--prime", "the cat", "--length", "6", "--seed", "3")
    assert code == 0 and out.startswith("the cat")
    assert len(out.split()) <= 2 + 6  # line ends (<eos>) are not words


BAD_PRIME = ("rnnlab sample: error: --prime: char_lm task: cannot encode: the character 'é' (at position 2) is not "
            "in the vocabulary of 15 characters; the vocabulary holds the characters of the task's text files")


def test_a_prime_outside_the_vocabulary_is_an_error_naming_the_character(lm_runs, capsys):
    code, out, err = sample_cli(capsys, lm_runs["char_lm"], "--prime", "thé", "--length", "20")
    assert code == 2 and out == "" and "Traceback" not in err
    assert err.splitlines()[-1] == BAD_PRIME


def test_a_prime_outside_the_vocabulary_is_one_line_on_stderr(lm_runs, capsys):
    code, _, err = sample_cli(capsys, lm_runs["char_lm"], "--prime", "thé", "--length", "20")
    assert code == 2 and err == BAD_PRIME + "\n"


def test_sample_of_a_run_that_is_no_language_model_is_one_line(lm_runs, capsys):
    run = lm_runs["reverse"]
    code, out, err = sample_cli(capsys, run, "--prime", "the", "--length", "20")
    assert code == 2 and out == ""
    assert err == (f"rnnlab sample: error: {run} is a run of reverse, not of a language model "
                   f"(char_lm, word_lm)\n")


# ---- 3. bad data files: one line naming the file, exit 2, nothing written ------------------------

def _missing_corpus(d):
    return "char_lm", [f"task.path={d / 'nowhere.txt'}"], f"{d / 'nowhere.txt'}: no such file"


def _missing_validation_corpus(d):
    return ("char_lm", [f"task.path={write_corpus(d)}", f"task.validation_path={d / 'valid.txt'}"],
            f"{d / 'valid.txt'}: no such file")


def _empty_char_corpus(d):
    path = write_corpus(d, "")
    return "char_lm", [f"task.path={path}"], f"{path}: is empty"


def _empty_word_corpus(d):
    path = write_corpus(d, "")
    return "word_lm", [f"task.path={path}"], f"{path}: is empty"


def _corpus_not_utf8(d):
    path = d / "latin1.txt"
    path.write_bytes("the cat\ncaf\xe9\n".encode("latin-1"))
    return ("char_lm", [f"task.path={path}"],
            f"{path}, line 2, byte 11: is not UTF-8: byte 0xe9 (invalid continuation byte); re-encode the file "
            f"as UTF-8")


def _missing_sentences(d):
    return "sentiment", [f"task.path={d / 'reviews.txt'}"], f"{d / 'reviews.txt'}: no such file"


def _a_line_without_a_tab(d):
    path = d / "reviews.txt"
    path.write_text("good movie\t1\nbad movie 0\n")
    return ("sentiment", [f"task.path={path}"],
            f"{path}, line 2: no tab between sentence and label in 'bad movie 0'; expected sentence<TAB>label")


def _a_label_that_is_no_integer(d):
    path = d / "reviews.txt"
    path.write_text("good movie\t1\n\nbad movie\tnegative\n")  # the blank line counts in the line numbers
    return ("sentiment", [f"task.path={path}"],
            f"{path}, line 3: the label 'negative' is not an integer >= 0 (after the last tab of "
            f"'bad movie\\tnegative')")


def _a_negative_label(d):
    path = d / "reviews.txt"
    path.write_text("good movie\t1\nbad movie\t-1\n")
    return ("sentiment", [f"task.path={path}"],
            f"{path}, line 2: the label '-1' is not an integer >= 0 (after the last tab of 'bad movie\\t-1')")


def _the_second_of_two_files(d):
    first, second = write_sentences(d), d / "more.txt"
    second.write_text("fine\t1\nno label here\n")
    return ("sentiment", [f'task.path=["{first}", "{second}"]'],
            f"{second}, line 2: no tab between sentence and label in 'no label here'; expected sentence<TAB>label")


def _only_blank_lines(d):
    path = d / "reviews.txt"
    path.write_text("\n  \n\n")
    return ("sentiment", [f"task.path={path}"],
            f"{path}: holds no labelled line (only blank lines); expected sentence<TAB>label lines")


def _empty_sentences(d):
    path = d / "reviews.txt"
    path.write_text("")
    return "sentiment", [f"task.path={path}"], f"{path}: is empty"


def _images(d, **replace):
    directory = write_idx_directory(d / "images")
    for name, content in replace.items():
        path = directory / IDX_NAMES[tuple(name.split("_"))]
        path.unlink()
        if content is not None:
            path.write_bytes(content)
    return directory


def _image_magic_of_labels(d):
    directory = _images(d, train_images=idx_bytes(np.zeros((3, 28, 28)), LABELS_MAGIC))
    return ("seq_image", [f"task.path={directory}", "task.by=rows"],
            f"{directory / 'train-images-idx3-ubyte'}, byte 0: bad magic number 0x00000801: expected 0x00000803 "
            f"(IDX images: unsigned bytes, 3 dimensions)")


def _label_magic_of_images(d):
    directory = _images(d, test_labels=idx_bytes(np.zeros((1, 1, 20)), IMAGES_MAGIC))
    return ("seq_image", [f"task.path={directory}", "task.by=rows"],
            f"{directory / 't10k-labels-idx1-ubyte'}, byte 0: bad magic number 0x00000803: expected 0x00000801 "
            f"(IDX labels: unsigned bytes, 1 dimension)")


def _truncated_images(d):
    directory = _images(d, test_images=idx_bytes(np.zeros((20, 28, 28)), IMAGES_MAGIC)[:-5])
    return ("seq_image", [f"task.path={directory}", "task.by=rows"],
            f"{directory / 't10k-images-idx3-ubyte'}: is truncated: its header announces 20×28×28 values of "
            f"1 byte(s), 15696 bytes in all, but the file holds 15691 bytes")


def _fewer_labels_than_images(d):
    directory = _images(d, train_labels=idx_bytes(np.zeros(39), LABELS_MAGIC))
    return ("seq_image", [f"task.path={directory}", "task.by=rows"],
            f"{directory / 'train-labels-idx1-ubyte'}: holds 39 labels, but "
            f"{directory / 'train-images-idx3-ubyte'} holds 40 images")


def _a_missing_idx_file(d):
    directory = _images(d, test_labels=None)
    return ("seq_image", [f"task.path={directory}", "task.by=rows"],
            f"{directory}: holds neither t10k-labels-idx1-ubyte nor t10k-labels-idx1-ubyte.gz (the test labels of "
            f"an MNIST-family data set)")


def _a_missing_idx_directory(d):
    return ("seq_image", [f"task.path={d / 'mnist'}", "task.by=rows"],
            f"{d / 'mnist'}: does not exist; expected a directory holding the MNIST-family IDX files "
            f"(train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, "
            f"each may end in .gz)")


BAD_FILES = [_missing_corpus, _missing_validation_corpus, _empty_char_corpus, _empty_word_corpus, _corpus_not_utf8,
             _missing_sentences, _a_line_without_a_tab, _a_label_that_is_no_integer, _a_negative_label,
             _the_second_of_two_files, _only_blank_lines, _empty_sentences, _image_magic_of_labels,
             _label_magic_of_images, _truncated_images, _fewer_labels_than_images, _a_missing_idx_file,
             _a_missing_idx_directory]


def assert_refused(tmp_path, monkeypatch, capsys, task, settings, message):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "run"
    argv = ["train", task, "--steps", "2", "--out", str(out)]
    for setting in settings:
        argv += ["--set", setting]
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"rnnlab train: error: {message}\n"  # one line, no traceback
    assert not out.exists() and not (tmp_path / "runs").exists()  # nothing written


@pytest.mark.parametrize("bad", BAD_FILES, ids=lambda f: f.__name__.strip("_"))
def test_a_bad_data_file_is_one_line_naming_it_and_nothing_is_written(tmp_path, monkeypatch, capsys, bad):
    assert_refused(tmp_path, monkeypatch, capsys, *bad(tmp_path))


def test_a_word_corpus_of_white_space_only_is_an_empty_corpus_naming_the_file(tmp_path, monkeypatch, capsys):
    path = write_corpus(tmp_path, "\n   \n\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "word_lm", "--steps", "2", "--out", str(tmp_path / "run"), "--set", f"task.path={path}"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1 and not (tmp_path / "run").exists()
    assert err.startswith(f"rnnlab train: error: {path}: ")


# ---- 4. small-budget learning checks ---------------------------------------------------------------
#
# One seed each, at most two seconds on one core (measured on two cores shared with other training
# runs).  The thresholds are far from chance and well below what was seen; the values seen, with the
# test's seed 0 and with seeds 1, 2, 3 for robustness, are in the comments.


def learn(tmp_path: Path, task: str, model: str, steps: int, *settings: str, seed: int = 0) -> dict:
    config = build_config(task, model=model, steps=steps, seed=seed, overrides=[*QUIET, *settings])
    return runs.train(config, tmp_path / "run", log=lambda _: None)


def test_reverse_learns_to_reverse_short_strings(tmp_path):
    summary = learn(tmp_path, "reverse", "lstm", 150, "task.symbols=4", "task.min_length=2", "task.max_length=4",
                    "model.hidden_size=32", "train.batch_size=32", "train.lr=0.01", "train.eval_size=500")
    # guessing: about 0.03 (4**-length, lengths 2..4); seen 1.000 (seeds 1-3: 0.998, 0.996, 1.000)
    assert summary["exact_match"] >= 0.8


def test_addition_learns_one_digit_sums(tmp_path):
    summary = learn(tmp_path, "addition", "lstm", 300, "task.max_digits=1", "model.hidden_size=32",
                    "train.batch_size=32", "train.lr=0.01", "train.eval_size=500")
    # the domain is 100 problems, drawn afresh for the held-out set; seen 0.988 (seeds 1-3: 1.000, 0.992, 0.990)
    assert summary["exact_match"] >= 0.8


def test_number_words_spells_the_whole_domain(tmp_path):
    summary = learn(tmp_path, "number_words", "lstm", 200, "task.max_number=20", "model.hidden_size=32",
                    "train.batch_size=32", "train.lr=0.01", "train.eval_size=500")
    # eval_size >= 21: the held-out set is every number 0..20 once; seen 1.000 (seeds 1-3: 1.000)
    assert summary["exact_match"] >= 0.9


def test_elman_xor_predicts_the_xor_bit_and_only_it(tmp_path):
    summary = learn(tmp_path, "elman_xor", "elman_tanh", 300, "task.length=30", "model.hidden_size=16",
                    "train.batch_size=16", "train.lr=0.03", "train.eval_size=100")
    # Elman's simple recurrent network; chance is 0.25.  Seen: phase 2 0.0029 (seeds 1-3: 0.0029, 0.0035,
    # 0.0022); phases 0 and 1 0.249, 0.254
    assert summary["error_phase_2"] < 0.05
    assert summary["error_phase_0"] > 0.2 and summary["error_phase_1"] > 0.2  # random bits stay unpredictable


def test_elman_words_error_peaks_at_word_onsets(tmp_path):
    summary = learn(tmp_path, "elman_words", "elman_tanh", 120, "task.length=100", "model.hidden_size=32",
                    "train.batch_size=16", "train.lr=0.01", "train.eval_size=100")
    # untrained: onset_ratio 1.08; seen 4.30 (seeds 1-3: 4.24, 4.25, 4.50)
    assert summary["onset_ratio"] > 1.5
    assert summary["inside_error"] < summary["onset_error"]


def test_char_lm_learns_a_repetitive_text(tmp_path):
    summary = learn(tmp_path, "char_lm", "lstm", 200, f"task.path={write_corpus(tmp_path)}", "task.seq_length=24",
                    "task.validation_fraction=0.2", "model.hidden_size=32", "train.batch_size=16",
                    "train.lr=0.01", "train.eval_size=100")
    chance = math.log2(len(set(CORPUS)))  # 3.91 bits for 15 characters
    # seen 0.17 bits per character (seeds 1-3: 0.16, 0.21, 0.19; 0.34 after 100 steps)
    assert summary["bits_per_char"] < 1.0 < chance / 3


def test_word_lm_learns_a_repetitive_text(tmp_path):
    summary = learn(tmp_path, "word_lm", "lstm", 200, f"task.path={write_corpus(tmp_path)}", "task.seq_length=10",
                    "task.validation_fraction=0.3", "model.hidden_size=32", "train.batch_size=16",
                    "train.lr=0.01", "train.eval_size=100")
    # chance: the vocabulary, 9 words with <eos> and <unk>; seen perplexity 1.12 (seeds 1-3: 1.23, 1.17, 1.07)
    assert summary["perplexity"] < 2.0


def test_sentiment_separates_good_from_bad_sentences(tmp_path):
    summary = learn(tmp_path, "sentiment", "lstm", 150, f"task.path={write_sentences(tmp_path, n=200)}",
                    "model.hidden_size=32", "train.batch_size=16", "train.lr=0.01", "train.eval_size=100")
    # 40 held-out sentences, chance 0.5; seen 1.00 (seeds 1-3: 1.00).  With 100 sentences and 16 units,
    # seed 0 kept one held-out sentence wrong ("... good" last) whatever the budget: 0.95, too close.
    assert summary["accuracy"] >= 0.9


def test_seq_image_reads_the_bright_row_row_by_row(tmp_path):
    images = write_idx_directory(tmp_path / "images", n_train=200, n_test=100)
    summary = learn(tmp_path, "seq_image", "lstm", 200, f"task.path={images}", "task.by=rows",
                    "model.hidden_size=16", "train.batch_size=16", "train.lr=0.01", "train.eval_size=100")
    # the 100 test images, chance 0.1; seen 1.00 (seeds 1-3: 1.00; 0.92 after 100 steps)
    assert summary["accuracy"] >= 0.9
