"""Learning curves of a run, drawn from its metrics.jsonl into RUN_DIR/plots/*.png."""

from __future__ import annotations

import json
from pathlib import Path


def plot_learning_curves(run_dir: str | Path, main_metric: str) -> list[Path]:
    """loss.png (training and held-out loss), <main_metric>.png and grad_norm.png (log scale, the norm
    before clipping: where gradients explode or vanish).  Returns the files written."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    run_dir = Path(run_dir)
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    if not records:
        return []
    out = run_dir / "plots"
    out.mkdir(exist_ok=True)
    panels = {
        "loss.png": [("loss", "training batch"), ("eval_loss", "held-out")],
        f"{main_metric}.png": [(f"train_{main_metric}", "training batch"), (f"eval_{main_metric}", "held-out")],
        "grad_norm.png": [("grad_norm", "before clipping")],
    }
    written = []
    for name, series in panels.items():
        if not any(key in r for key, _ in series for r in records):
            continue  # nothing logged (e.g. no gradient norm: guessing takes no gradient steps)
        fig, ax = plt.subplots(figsize=(6, 3.5))
        for key, label in series:
            points = [(r["step"], r[key]) for r in records if key in r]
            if points:
                steps, values = zip(*points)
                ax.plot(steps, values, marker="o" if key.startswith("eval_") else None, markersize=3, label=label)
        ax.set_xlabel("step")
        ax.set_ylabel(name[:-4])
        if name == "grad_norm.png" or name == "loss.png":
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / name, dpi=100)
        plt.close(fig)
        written.append(out / name)
    return written
