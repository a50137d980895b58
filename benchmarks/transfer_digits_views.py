"""Why 60-label learning of the digits 5-9 lost accuracy with scaled inputs.

The tasks are those of ``benchmarks/transfer_digits.py`` (identity of the digits
5-9, 60 labelled images of half B per seed 0-4, scored on the rest of half B;
the source is fitted on the digits 0-4 of half A). Each row of the table changes
one thing: how the source's input object turns the pixels (scaled to [0, 1])
into the network's columns. FineTuner reads X through its source's input, so the
cold and the hot start both read the source's columns; a MultiTaskClassifier
fitted on the 60 images alone (no source: ``n_bags=1``, ``linear_blend=False``,
batch size "auto" as FineTuner) fits its own input on them.

Readings compared (the library's private functions are replaced for the
duration of one row; nothing else changes):

- the pixels as given (the reading before numeric X was quantile-scaled);
- the quantile view alone (``linear_view=False``), the two views (default);
- the quantile view twice or the linear view twice (128 columns: the width of
  the two views without one of them);
- both views fitted on all of half A (digits 0-9) instead of the digits 0-4;
- the linear view with a scale of 1 for the columns whose IQR is 0;
- the quantile view with a tied extreme mapped to the middle of its run: where
  many training rows share a column's smallest (largest) value, e.g. the zero of
  a pixel, that value maps to ``Phi^-1(p / 2)`` (``Phi^-1(1 - p / 2)``), p the
  share of rows at it, instead of about -5.2 (5.2);
- the two views at smaller learning rates (3e-3, 5e-3; the default table uses
  the benchmark's 1e-2).

Run: ``python benchmarks/transfer_digits_views.py [--quick] [--out FILE]``.
"""

import contextlib
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy.special import ndtri
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import sk_mtl._data._inputs as inputs_module
import sk_mtl.multitask._shared_network as network_module
from benchmarks.transfer_digits import LR, draw, fit_source, halves, script_main
from sk_mtl import FineTuner, MultiTaskClassifier
from sk_mtl._data._inputs import NumericInput
from sk_mtl._data._quantiles import QuantileScaling
from sk_mtl._data._robust import fit_robust, robust_clip, two_views

BUDGETS = (10, 20, 50)
# Bound of the tied-extreme variant's probabilities (the quantile map's own).
_EPS = 1e-7


class TiedExtremes:
    """Quantile view in which a column's training minimum (maximum) maps to the
    middle of its run of quantiles, ``Phi^-1(p / 2)``, p the share of training
    rows at it; other values as :class:`QuantileScaling`."""

    def __init__(self, X):
        X = np.asarray(X, dtype=np.float64)
        self.scaling = QuantileScaling.fit(X)
        self.low, self.high = X.min(axis=0), X.max(axis=0)
        at_low, at_high = (X == self.low).mean(axis=0), (X == self.high).mean(axis=0)
        constant = self.low == self.high
        self.low_value = np.where(constant, 0.0, ndtri(np.clip(at_low / 2, _EPS, 0.5)))
        self.high_value = np.where(
            constant, 0.0, ndtri(np.clip(1 - at_high / 2, 0.5, 1 - _EPS))
        )

    @classmethod
    def fit(cls, X):
        return cls(X)

    def transform(self, X, out=None):
        z = self.scaling.transform(X)
        z = np.where(X == self.low, self.low_value, z)
        z = np.where(X == self.high, self.high_value, z)
        if out is None:
            return z.astype(np.float32)
        out[...] = z
        return out


def _same_view_twice(view):
    def views(X, scaling, center, scale):
        n = X.shape[1]
        out = np.empty((X.shape[0], 2 * n), dtype=np.float32)
        for block in (out[:, :n], out[:, n:]):
            view(X, scaling, center, scale, block)
        return out

    return views


def _quantile_into(X, scaling, center, scale, out):
    scaling.transform(X, out=out)


def _robust_into(X, scaling, center, scale, out):
    robust_clip(X, center, scale, out=out)


def _zero_iqr_scale_1(X):
    center, scale = fit_robust(X)
    q1, q3 = np.nanquantile(np.asarray(X, dtype=np.float64), [0.25, 0.75], axis=0)
    return center, np.where(q3 > q1, scale, 1.0)


def readings(X, half_a):
    """(label, replacements of the library's functions, linear_view, lr)."""
    robust_a = fit_robust(X[half_a])

    class QuantilesOfHalfA:
        @staticmethod
        def fit(_):
            return QuantileScaling.fit(X[half_a])

    as_given = {"make_input": lambda *a, **k: NumericInput(scale=False)}
    return [
        ("pixels as given", as_given, True, LR),
        ("quantile view alone", {}, False, LR),
        ("two views (default)", {}, True, LR),
        ("two views, lr 5e-3", {}, True, 5e-3),
        ("two views, lr 3e-3", {}, True, 3e-3),
        (
            "quantile view twice",
            {"two_views": _same_view_twice(_quantile_into)},
            True,
            LR,
        ),
        ("linear view twice", {"two_views": _same_view_twice(_robust_into)}, True, LR),
        (
            "quantile view alone, fitted on 0-9",
            {"QuantileScaling": QuantilesOfHalfA},
            False,
            LR,
        ),
        (
            "two views, fitted on 0-9",
            {"QuantileScaling": QuantilesOfHalfA, "fit_robust": lambda _: robust_a},
            True,
            LR,
        ),
        ("two views, zero-IQR scale 1", {"fit_robust": _zero_iqr_scale_1}, True, LR),
        (
            "quantile view alone, tied extremes mid-run",
            {"QuantileScaling": TiedExtremes},
            False,
            LR,
        ),
        (
            "two views, tied extremes mid-run",
            {"QuantileScaling": TiedExtremes},
            True,
            LR,
        ),
    ]


@contextlib.contextmanager
def replaced(functions):
    """The library's input functions replaced by ``functions`` (name: object)."""
    modules = {"make_input": network_module}
    saved = {}
    for name, new in functions.items():
        module = modules.get(name, inputs_module)
        saved[name] = (module, getattr(module, name))
        setattr(module, name, new)
    try:
        yield
    finally:
        for name, (module, old) in saved.items():
            setattr(module, name, old)


def scores(X, y, half_a, pool, seeds, functions, linear_view, lr):
    """Mean accuracies: FineTuner cold and hot, MultiTaskClassifier on the 60."""
    low = half_a[y[half_a] < 5]
    with replaced(functions):
        source = fit_source(X, y, low, 80, linear_view=linear_view)
        cells = {"cold": [], "hot": [], "alone": []}
        for epochs in BUDGETS:
            acc = {key: [] for key in cells}
            for seed in seeds:
                labelled, test = draw(pool, seed)
                for start in ("cold", "hot"):
                    ft = FineTuner(
                        source, start=start, max_epochs=epochs, lr=lr, random_state=seed
                    ).fit(X[labelled], y[labelled])
                    acc[start].append(ft.score(X[test], y[test]))
                alone = MultiTaskClassifier(
                    (64,),
                    max_epochs=epochs,
                    lr=lr,
                    batch_size="auto",
                    n_bags=1,
                    linear_blend=False,
                    linear_view=linear_view,
                    random_state=seed,
                ).fit(X[labelled], y[labelled])
                acc["alone"].append(alone.score(X[test], y[test]))
            for key in cells:
                cells[key].append(np.mean(acc[key]))
        width = source.input_.width
    return width, [a for key in cells for a in cells[key]]


def saturation(X, y, half_a, pool, seeds):
    """Lines on the quantile view's extremes and a linear model on each view."""
    low = half_a[y[half_a] < 5]
    scaling, robust = QuantileScaling.fit(X[low]), fit_robust(X[low])
    lines = ["Views fitted on the source's images (digits 0-4 of half A):", ""]
    for rows, what in ((low, "the source's images (0-4)"), (pool, "the digits 5-9")):
        share = np.mean(np.abs(scaling.transform(X[rows])) > 5)
        lines.append(f"- quantile view of {what}: {share:.0%} of the values beyond ±5")
    views = {
        "pixels": lambda Z: Z,
        "quantile view": scaling.transform,
        "linear view": lambda Z: robust_clip(Z, *robust),
        "two views": lambda Z: two_views(Z, scaling, *robust),
    }
    for name, view in views.items():
        acc = []
        for seed in seeds:
            labelled, test = draw(pool, seed)
            model = LogisticRegression(max_iter=2000).fit(
                view(X[labelled]), y[labelled]
            )
            acc.append(model.score(view(X[test]), y[test]))
        lines.append(f"- LogisticRegression on the {name}: {np.mean(acc):.3f}")
    return lines


def report(quick=False):
    torch.set_num_threads(1)
    seeds = range(2) if quick else range(5)
    start, load_before = time.time(), os.getloadavg()[0]
    X, y, half_a, half_b = halves()
    pool = half_b[y[half_b] >= 5]
    epochs = " | ".join(f"{e} ep" for e in BUDGETS)
    lines = [
        "## Digits 5-9 from 60 labels: how the input reads the pixels",
        "",
        "Produced by `benchmarks/transfer_digits_views.py`; see its docstring. Mean "
        f"accuracy over seeds {list(seeds)} on the rest of half B.",
        "",
        f"| reading | width | cold {epochs} | hot {epochs} | "
        f"MultiTaskClassifier on the 60, {epochs} |",
        "|---|---" + "|---" * 3 * len(BUDGETS) + "|",
    ]
    for label, functions, linear_view, lr in readings(X, half_a):
        width, accs = scores(X, y, half_a, pool, seeds, functions, linear_view, lr)
        cells = " | ".join(f"{a:.3f}" for a in accs)
        lines.append(f"| {label} | {width} | {cells} |")
    lines += ["", *saturation(X, y, half_a, pool, seeds), ""]
    lines.append(
        f"1 torch thread per model; load average {load_before:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end. Wall time: {time.time() - start:.0f} s."
    )
    return "\n".join(lines) + "\n"


def main(argv=None):
    script_main(argv, __doc__, "transfer_digits_views", report, "2 seeds")


if __name__ == "__main__":
    main()
