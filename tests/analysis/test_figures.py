"""save_figure: the PNG is written where asked (parents made) and the figure closed."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from rnnlab.analysis.figures import save_figure  # noqa: E402


def test_the_png_is_written_in_new_directories_and_the_figure_closed(tmp_path):
    figure, axes = plt.subplots()
    axes.plot([0, 1], [1, 0])
    path = save_figure(figure, tmp_path / "a" / "b" / "line.png")
    assert path == tmp_path / "a" / "b" / "line.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not plt.fignum_exists(figure.number)
