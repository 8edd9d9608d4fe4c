"""Writing a matplotlib figure to a PNG: the one ending every picture of rnnlab shares."""

from __future__ import annotations

from pathlib import Path


def save_figure(figure, path: str | Path, *, dpi: int = 110) -> Path:
    """Lay ``figure`` out tightly, write it to ``path`` (PNG; parent directories made), close it; returns the
    path."""
    import matplotlib.pyplot as plt

    path = Path(path)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=dpi)
    plt.close(figure)
    return path
