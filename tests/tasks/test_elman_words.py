"""Letter-in-word prediction (Elman 1990, "Discovering the notion 'word'"): letter codes, every stream made of
lexicon words with its onset flags, the worked example, onset/inside errors on a hand-built case, the Figure 6
plot, bad settings."""

from __future__ import annotations

import re

import pytest
import torch

import rnnlab.tasks.elman_words
from rnnlab.tasks.base import Batch
from rnnlab.tasks.elman_words import ELMAN_LEXICON, ElmanWordsTask, letter_codes, plot_errors
from rnnlab.tasks.registry import describe, get

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def sample(batch_size=8, seed=0, **config):
    config.setdefault("length", 200)
    task = ElmanWordsTask(ElmanWordsTask.Config(**config))
    return task, task.sample(batch_size, torch.Generator().manual_seed(seed))


def streams(task: ElmanWordsTask, batch: Batch) -> list[tuple[str, list[bool]]]:
    """Each stream's T + 1 letters and, for letters 1..T, whether it starts a word: read back from the batch."""
    bits = task.config.letter_bits
    result = []
    for b in range(batch.inputs.shape[1]):
        letters = task.decode(batch.inputs[:1, b]) + task.decode(batch.targets[:, b, :bits])
        result.append((letters, [flag == 1.0 for flag in batch.targets[:, b, bits].tolist()]))
    return result


def check_rules(task: ElmanWordsTask, batch: Batch) -> None:
    """Inputs are the targets' letters one step earlier; cut at the flagged onsets (and at 0), every piece is a
    lexicon word, except the last, which may be a word's beginning."""
    T, B, bits = batch.inputs.shape
    assert bits == task.config.letter_bits and batch.targets.shape == (T, B, bits + 1) and batch.lengths is None
    assert batch.inputs.dtype == batch.targets.dtype == torch.float32
    assert torch.equal(batch.inputs[1:], batch.targets[:-1, :, :bits])
    assert ((batch.targets[..., bits] == 0) | (batch.targets[..., bits] == 1)).all()
    lexicon = set(task.config.lexicon)
    for letters, onsets in streams(task, batch):
        cuts = [0] + [t + 1 for t, onset in enumerate(onsets) if onset] + [len(letters)]
        pieces = [letters[i:j] for i, j in zip(cuts, cuts[1:])]
        assert all(piece in lexicon for piece in pieces[:-1]), pieces
        assert any(word.startswith(pieces[-1]) for word in lexicon), pieces[-1]


def test_class_attributes():
    task = ElmanWordsTask()
    assert get("elman_words") is ElmanWordsTask and task.output_kind == "every"
    assert "Elman 1990" in describe("elman_words")
    assert (task.input_size, task.output_size) == (5, 5)
    assert task.config.lexicon == ELMAN_LEXICON and len(ELMAN_LEXICON) == 14
    assert " ".join(ELMAN_LEXICON) == "many years ago a boy and girl lived by the sea they played happily"
    assert task.config.length == 4963 and task.config.letter_bits == 5 and task.config.loss == "squared_error"
    assert task.letters == "abdeghilmnoprstvy"


def test_letter_codes_are_distinct_nonzero_and_fixed_by_their_seed():
    task = ElmanWordsTask()
    codes = task.codes
    assert codes.shape == (17, 5) and ((codes == 0) | (codes == 1)).all()
    assert len({tuple(row) for row in codes.tolist()}) == 17 and (codes.sum(1) > 0).all()
    assert torch.equal(codes, ElmanWordsTask().codes)  # no global RNG involved
    torch.manual_seed(123)
    assert torch.equal(codes, letter_codes(17, 5, 1990))
    other = ElmanWordsTask(ElmanWordsTask.Config(code_seed=7)).codes
    assert not torch.equal(codes, other)
    assert torch.equal(task.code("m"), codes[task.letters.index("m")])
    assert len({tuple(row) for row in letter_codes(31, 5, 0).tolist()}) == 31  # every non-zero code once


@pytest.mark.parametrize("config", [{}, {"length": 1}, {"lexicon": ("ab", "ba", "abba"), "letter_bits": 2},
                                    {"lexicon": ("x",), "length": 5}])
def test_every_stream_is_made_of_lexicon_words(config):
    task, batch = sample(16, **config)
    check_rules(task, batch)


def test_default_length_and_word_frequencies():
    """Words are drawn uniformly: each of the 14 words starts about 1/14 of the words."""
    task, batch = sample(4, length=4963)
    check_rules(task, batch)
    counts = dict.fromkeys(ELMAN_LEXICON, 0)
    for letters, onsets in streams(task, batch):
        cuts = [0] + [t + 1 for t, onset in enumerate(onsets) if onset]
        for i, j in zip(cuts, cuts[1:]):
            counts[letters[i:j]] += 1
    total = sum(counts.values())
    assert all(abs(n / total - 1 / 14) < 0.015 for n in counts.values()), counts


def test_streams_come_from_the_generator_and_codes_do_not():
    task, a = sample(seed=4)
    _, b = sample(seed=4)
    _, c = sample(seed=5)
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets)
    assert not torch.equal(a.inputs, c.inputs)
    recoded = ElmanWordsTask(ElmanWordsTask.Config(length=200, code_seed=3))
    d = recoded.sample(8, torch.Generator().manual_seed(4))
    assert [s for s, _ in streams(recoded, d)] == [s for s, _ in streams(task, a)]  # same letters, other codes
    assert not torch.equal(a.inputs, d.inputs)


def test_the_docstrings_worked_example():
    rows = {}
    for line in rnnlab.tasks.elman_words.__doc__.splitlines():
        name, _, rest = line.strip().partition(" ")
        if line.startswith("    ") and name in ("input", "target", "onset"):
            rows[name] = rest.split()[:15]
    task = ElmanWordsTask()
    stream = "manyyearsagoaboy"
    onsets = torch.tensor([i in (0, 4, 9, 12, 13) for i in range(16)]).unsqueeze(1)  # many|years|ago|a|boy
    letters = torch.tensor([task.letters.index(ch) for ch in stream]).unsqueeze(1)  # (16, 1)
    batch = task.make_batch(letters, onsets)
    assert "".join(rows["input"]) == stream[:-1] and "".join(rows["target"]) == stream[1:]
    assert batch.targets[:, 0, 5].int().tolist() == [int(v) for v in rows["onset"]]
    assert task.decode(batch.inputs[:, 0]) == stream[:-1]
    check_rules(task, batch)


# ---- loss and metrics ---------------------------------------------------------------------------

def hand_batch():
    """Four steps of one stream: target letters "a", "n", "y", "y"; onsets flagged at steps 0 and 2."""
    task = ElmanWordsTask()
    codes = torch.stack([task.code(ch) for ch in "anyy"])  # (4, 5)
    flags = torch.tensor([[1.0], [0.0], [1.0], [0.0]])
    targets = torch.cat([codes, flags], dim=1).unsqueeze(1)  # (4, 1, 6)
    return task, Batch(inputs=torch.zeros(4, 1, 5), targets=targets, lengths=None)


def test_onset_and_inside_errors_on_a_hand_built_case():
    """Step 0: p = 1/2 on every bit, error 5/4.  Step 1: right (≈ 0).  Step 2: right but one bit flipped
    with confidence, error ≈ 1.  Step 3: p = 1/2, error 5/4.  Onsets 0, 2: (5/4 + 1)/2 = 9/8; inside
    1, 3: (0 + 5/4)/2 = 5/8; ratio 9/5."""
    task, batch = hand_batch()
    confident = (batch.targets[:, :, :5] * 2 - 1) * 40.0  # (4, 1, 5) logits ±40: p = the target bits
    outputs = confident.clone()
    outputs[0] = 0.0
    outputs[2, 0, 0] = -outputs[2, 0, 0]
    outputs[3] = 0.0
    got = task.metrics(outputs, batch)
    assert got.keys() == {"loss", "error", "onset_error", "inside_error", "onset_ratio", "count"}
    assert got["onset_error"] == pytest.approx(9 / 8) and got["inside_error"] == pytest.approx(5 / 8)
    assert got["onset_ratio"] == pytest.approx(9 / 5)
    assert got["error"] == pytest.approx((5 / 4 + 0 + 1 + 5 / 4) / 4) and got["loss"] == got["error"]
    assert got["count"] == 1
    assert task.loss(outputs, batch).item() == pytest.approx(got["error"])


def test_cross_entropy_loss_sums_the_bits():
    task, batch = hand_batch()
    task = ElmanWordsTask(ElmanWordsTask.Config(loss="cross_entropy"))
    assert task.loss(torch.zeros(4, 1, 5), batch).item() == pytest.approx(5 * 0.6931472)
    assert task.metrics(torch.zeros(4, 1, 5), batch)["error"] == pytest.approx(5 / 4)


def test_a_batch_without_onsets_has_no_ratio():
    task, batch = hand_batch()
    batch.targets[:, :, 5] = 0.0
    got = task.metrics(torch.zeros(4, 1, 5), batch)
    assert got["onset_error"] != got["onset_error"] and got["onset_ratio"] != got["onset_ratio"]  # nan
    assert got["inside_error"] == pytest.approx(5 / 4)


@pytest.mark.parametrize("shape", [(4, 1, 6), (4, 5), (3, 1, 5)])
def test_outputs_of_the_wrong_shape_are_refused(shape):
    task, batch = hand_batch()
    message = re.escape(f"task 'elman_words' expects outputs of shape (T, B, 5) = (4, 1, 5), one readout per step; "
                        f"got {shape}")
    with pytest.raises(ValueError, match=message):
        task.loss(torch.zeros(shape), batch)
    with pytest.raises(ValueError, match=message):
        task.metrics(torch.zeros(shape), batch)


def test_decode_refuses_what_is_not_a_code():
    task = ElmanWordsTask()
    with pytest.raises(ValueError, match="decode takes exact letter codes; row 1 is not one"):
        task.decode(torch.stack([task.code("a"), torch.full((5,), 0.5)]))
    with pytest.raises(ValueError, match=re.escape("'c' is not a letter of the lexicon (abdeghilmnoprstvy)")):
        task.code("c")


# ---- figures ------------------------------------------------------------------------------------

def test_figures_write_the_error_along_the_first_stream(tmp_path):
    task, batch = sample(3, length=100)
    outputs = torch.randn(100, 3, 5, generator=torch.Generator().manual_seed(0))
    paths = task.figures(outputs, batch, tmp_path / "plots")
    assert paths == [tmp_path / "plots" / "elman_words_errors.png"]
    assert paths[0].read_bytes()[:8] == PNG_MAGIC


def test_plot_errors(tmp_path):
    path = plot_errors(torch.tensor([1.0, 0.5, 0.1]), torch.tensor([True, False, False]), "boy", tmp_path / "e.png")
    assert path.read_bytes()[:8] == PNG_MAGIC
    with pytest.raises(ValueError, match="plot_errors takes errors, onsets and letters of one length T >= 1; got "
                                         "3, 3 and 2"):
        plot_errors(torch.zeros(3), torch.zeros(3, dtype=torch.bool), "by", tmp_path / "f.png")


# ---- settings -----------------------------------------------------------------------------------

@pytest.mark.parametrize("config, message", [
    ({"lexicon": ()}, "lexicon must be a non-empty tuple of words (non-empty strings without spaces); got ()"),
    ({"lexicon": ("a", "")}, "lexicon must be a non-empty tuple of words"),
    ({"lexicon": ("a boy",)}, "lexicon must be a non-empty tuple of words"),
    ({"lexicon": "many"}, "lexicon must be a non-empty tuple of words"),
    ({"lexicon": ("the", "sea", "the")}, "lexicon must not repeat a word; the repeated"),
    ({"letter_bits": 4}, "letter_bits must be at most 16 and give the 17 letters of the lexicon distinct non-zero "
                         "codes (2**letter_bits - 1 >= 17); got 4"),
    ({"letter_bits": 0}, "letter_bits must be an int >= 1; got 0"),
    ({"length": 0}, "length must be an int >= 1; got 0"),
    ({"code_seed": -1}, "code_seed must be an int >= 0; got -1"),
    ({"loss": "mse"}, "loss must be one of 'squared_error', 'cross_entropy'; got 'mse'"),
])
def test_bad_settings_name_the_field_and_the_value(config, message):
    with pytest.raises(ValueError, match=re.escape(f"elman_words task: {message}")):
        ElmanWordsTask(ElmanWordsTask.Config(**config))
