"""The application tasks of the four topologies, on CPU with fixed seeds (issue 4; formerly
benchmarks/applications.py).

Each run is ``rnnlab train TASK --model CELL`` with the settings of RUNS; the table gives the
held-out figure of the final checkpoint beside its target.  ``{data}`` (``--data``) holds
tinyshakespeare.txt and sentiment/*.txt, ``{fashion}`` (``--fashion``) the Fashion-MNIST IDX
files (Debian's dataset-fashion-mnist installs them in /usr/share/datasets/fashion-mnist).

Quick mode keeps every model as it is and trains a few hundred steps with smaller evaluation
sets; it changes two tasks, where the full setting would show nothing in a few hundred steps:
char_lm reads 50 characters a sequence instead of 100 (twice the steps in the same time), and
addition adds numbers of up to two digits instead of three (with three, 500 steps end at
exact_match 0.02; with two, at 0.45).  seq_image_pixels, 784 steps a sequence, gets about 50
steps in half a minute, barely past chance; it is a reported run only.
"""

from __future__ import annotations

from .runner import Experiment, Run

# Each run lists only what differs from `rnnlab train TASK --model MODEL`, that is from the task's
# recommended settings (Task.recommended in tasks/*.py) and the package defaults (seed 0, an
# evaluation every 500 steps): mostly the data's path.
QUICK = ["train.log_every=20", "train.eval_every=100", "train.max_minutes=0.5"]
SENTIMENT_FILES = ("{data}/sentiment/amazon_cells_labelled.txt", "{data}/sentiment/imdb_labelled.txt",
                   "{data}/sentiment/yelp_labelled.txt")
FASHION_FILES = ("{fashion}/train-images-idx3-ubyte", "{fashion}/train-labels-idx1-ubyte",
                 "{fashion}/t10k-images-idx3-ubyte", "{fashion}/t10k-labels-idx1-ubyte")  # or .gz

RUNS = [
    Run("char_lm", "char_lm", "lstm",
        ["task.path={data}/tinyshakespeare.txt", "train.steps=100000", "train.max_minutes=30"],  # 30 minutes
        "nats_per_char", ("<=", 1.55),
        quick=[*QUICK, "task.seq_length=50", "train.steps=150", "train.eval_every=50", "train.eval_size=50",
               "train.max_minutes=0.75"],
        needs=["{data}/tinyshakespeare.txt"],
        # the unigram entropy is 3.31 nats (uniform over 65 characters: 4.17); measured 2.12 (150 steps),
        # 2.32 with half the minutes on a loaded machine (96 steps)
        quick_target=("<=", 2.6)),
    Run("sentiment", "sentiment", "lstm",
        ['task.path=["{data}/sentiment/amazon_cells_labelled.txt", "{data}/sentiment/imdb_labelled.txt", '
         '"{data}/sentiment/yelp_labelled.txt"]'],
        "accuracy", (">=", 0.78),
        quick=[*QUICK, "train.steps=500"],
        needs=SENTIMENT_FILES,
        quick_target=(">=", 0.68)),  # chance: 0.5 (500 + 500 a file); measured 0.758 (0.705 at step 200)
    Run("seq_image_rows", "seq_image", "lstm",
        ["task.path={fashion}", "task.by=rows"],
        "accuracy", (">=", 0.88),
        quick=[*QUICK, "train.steps=500", "train.eval_size=1000"],
        needs=FASHION_FILES,
        quick_target=(">=", 0.5)),  # chance: 0.1 (ten classes); not measured (no Fashion-MNIST here): a wide margin
    Run("seq_image_pixels", "seq_image", "lstm",
        ["task.path={fashion}", "task.by=pixels", "train.steps=100000", "train.max_minutes=20"],  # 20 minutes
        "accuracy", None,
        quick=[*QUICK, "train.steps=60", "train.eval_every=20", "train.log_every=5", "train.eval_size=200"],
        needs=FASHION_FILES),  # no quick target: about 50 steps of 784-step sequences, barely past chance (0.1)
    Run("reverse", "reverse", "lstm",
        [],
        "exact_match", (">=", 0.95),
        quick=[*QUICK, "train.steps=400", "train.eval_size=500"],
        quick_target=(">=", 0.6)),  # chance: 10^-length, about 0; measured 0.984 (0.832 at step 300)
    Run("addition", "addition", "lstm",
        [],
        "exact_match", (">=", 0.95),
        quick=[*QUICK, "task.max_digits=2", "train.steps=500", "train.eval_size=500"],
        quick_target=(">=", 0.2)),  # the likeliest sum is right 1% of the time; measured 0.45 (0.244 at step 300)
    Run("number_words", "number_words", "lstm",
        [],
        "exact_match", (">=", 0.95),
        quick=[*QUICK, "train.steps=1500", "train.eval_every=250", "train.eval_size=500", "train.max_minutes=0.75"],
        # chance: 0.001 (one number of 1,000); measured 0.426, 0.106 with half the minutes (802 steps)
        quick_target=(">=", 0.05)),
    Run("elman_words", "elman_words", "elman_tanh",
        ["task.length=500", "train.eval_size=100"],  # a stream of 500 words, not Elman's 4,963: 4 times faster
        "onset_ratio", (">=", 2.0),
        quick=[*QUICK, "train.steps=500"],
        quick_target=(">=", 2.0)),  # no structure learnt: 1 (no peak at onsets); measured 5.88 (2.52 at step 200)
]

EXPERIMENT = Experiment(
    name="applications",
    title="Applications of the four topologies",
    description=(
        "One task per classic application, each `rnnlab train TASK --model CELL` with the settings below: "
        "a character language model of Shakespeare (N→N; Karpathy's char-rnn, nats per character), sentence "
        "sentiment (N→1; the labelled sentences of Kotzias et al. 2015 from Amazon, IMDb and Yelp), "
        "Fashion-MNIST read row by row and pixel by pixel (N→1; Le, Jaitly & Hinton 2015), reversal of "
        "strings and addition of numbers written as text (N→M, encoder-decoder with attention; Sutskever et "
        "al. 2014, Zaremba & Sutskever 2014), numbers spelled out in words (1→N), and Elman's (1990) letter "
        "prediction in a stream of words, whose error peaks at word onsets (`onset_ratio`: mean error at "
        "onsets over mean error inside words). Seed 0; `exact_match` counts outputs right in every token."),
    runs=RUNS,
    quick_note=("Quick mode changes two tasks, where the full setting shows nothing in a few hundred steps: "
                "char_lm reads 50 characters a sequence instead of 100, and addition adds numbers of up to two "
                "digits instead of three. seq_image_pixels (784 steps a sequence) gets about 50 steps in its half "
                "minute, barely past chance; it is reported only."),
)
