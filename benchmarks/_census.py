"""Census-income (KDD) pieces shared by the census benchmarks.

Data, split and preprocessing follow ``benchmarks/PROTOCOL.md``: the 99,762 rows
of the UCI test file, split 60/20/20 per seed with
:func:`benchmarks.datasets.census_income_split`; categoricals one-hot
(``handle_unknown="ignore"``), numerics standardised, in a Pipeline.
"""

import warnings
from functools import lru_cache

import numpy as np
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    KBinsDiscretizer,
    OneHotEncoder,
    StandardScaler,
)

from sk_mtl import MultiTaskClassifier

from ._common import timer
from .datasets import census_income_split, load_census_income

# Heavy-tailed money columns (mostly zeros, a few very large values).
SKEWED = ("wage_per_hour", "capital_gains", "capital_losses", "stock_dividends")

# The network configuration chosen on the validation split (seed 0) by
# ``python -m benchmarks.run --only census_tuning``; see results/census_tuning.md.
CONFIG = {
    "numerics": "standard",
    "hidden_units": (256, 128, 64),
    "dropout": 0.1,
    "lr": 1e-3,
    "batch_size": 512,
    "weight_decay": 1e-5,
    "optimizer": "adam",
    "max_epochs": 100,
    "n_iter_no_change": 5,
}
# MMoE: 4 experts of (128, 64) units, about 1.7x the parameters of the trunk above
# (not tuned separately).
MMOE = {"n_experts": 4, "hidden_units": (128, 64)}


@lru_cache(maxsize=4)
def load(data_home, tasks=("income", "marital")):
    """``(X DataFrame, Y DataFrame of 0/1 tasks, categorical cols, numeric cols)``."""
    bunch = load_census_income(data_home, tasks=tasks)
    return bunch.data, bunch.target, bunch.categorical_columns, bunch.numeric_columns


def split(data_home, seed):
    """Train / val / test row indices of the anchors' protocol for ``seed``."""
    _, Y, _, _ = load(data_home)
    return census_income_split(Y["income"].to_numpy(), seed)


def _log1p_signed(X):
    X = np.asarray(X, dtype=np.float64)
    return np.sign(X) * np.log1p(np.abs(X))


def preprocessor(categorical, numeric, numerics="standard"):
    """One-hot categoricals and standardised numerics (dense output).

    ``numerics="log"`` first applies ``log1p`` to the heavy-tailed money columns
    (:data:`SKEWED`); ``numerics="bins"`` adds a one-hot of each numeric's
    quantile bin (16 bins) to the standardised values.
    """
    one_hot = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    if numerics == "standard":
        return make_column_transformer(
            (one_hot, categorical), (StandardScaler(), numeric)
        )
    if numerics == "bins":
        # Standardised values plus a one-hot of their quantile bin, a cheap
        # piecewise encoding of the numerics for an MLP. Columns that are mostly
        # zero get fewer bins (sklearn drops the empty ones, with a warning).
        warnings.filterwarnings("ignore", message="Bins whose width are too small")
        return make_column_transformer(
            (one_hot, categorical),
            (StandardScaler(), numeric),
            (
                KBinsDiscretizer(
                    n_bins=16,
                    encode="onehot-dense",
                    strategy="quantile",
                    quantile_method="averaged_inverted_cdf",
                ),
                numeric,
            ),
        )
    if numerics != "log":
        raise ValueError(f"Unknown numerics {numerics!r}.")
    skewed = [c for c in numeric if c in SKEWED]
    plain = [c for c in numeric if c not in SKEWED]
    return make_column_transformer(
        (one_hot, categorical),
        (StandardScaler(), plain),
        (
            make_pipeline(
                FunctionTransformer(_log1p_signed, feature_names_out="one-to-one"),
                StandardScaler(),
            ),
            skewed,
        ),
    )


def network(config=None, *, seed=0, **overrides):
    """A MultiTaskClassifier with built-in early stopping and ``config``."""
    cfg = {**CONFIG, **(config or {}), **overrides}
    cfg.pop("numerics", None)
    cfg["hidden_units"] = tuple(cfg["hidden_units"])
    return MultiTaskClassifier(early_stopping=True, random_state=seed, **cfg)


def network_pipeline(data_home, config=None, *, seed=0, tasks=None, **overrides):
    """``Pipeline(preprocessor, MultiTaskClassifier)`` for ``config``."""
    X, _, cat, num = load(data_home, tasks or ("income", "marital"))
    cfg = {**CONFIG, **(config or {}), **overrides}
    return make_pipeline(
        preprocessor(cat, num, cfg["numerics"]), network(cfg, seed=seed)
    )


def hgb_pipeline(data_home, *, seed=0, native=False, tasks=None):
    """HistGradientBoosting with early stopping: one-hot (anchors) or native cats."""
    _, _, cat, num = load(data_home, tasks or ("income", "marital"))
    if native:
        return HistGradientBoostingClassifier(
            early_stopping=True, categorical_features="from_dtype", random_state=seed
        )
    return make_pipeline(
        preprocessor(cat, num),
        HistGradientBoostingClassifier(early_stopping=True, random_state=seed),
    )


def task_aucs(model, X, Y):
    """ROC AUC of each column of ``Y`` (a DataFrame) from ``model.predict_proba``."""
    proba = model.predict_proba(X)
    if not isinstance(proba, list):
        proba = [proba]
    return [float(roc_auc_score(Y.iloc[:, t], p[:, 1])) for t, p in enumerate(proba)]


def fit_timed(model, X, y):
    """Fit and return ``(model, seconds)``."""
    with timer() as elapsed:
        model.fit(X, y)
    return model, elapsed()


def n_epochs(model):
    """Epochs run by the network at the end of a pipeline (None for HGB)."""
    clf = model.steps[-1][1] if hasattr(model, "steps") else model
    return (
        getattr(clf, "n_iter_", None)
        if isinstance(clf, MultiTaskClassifier)
        else (None)
    )
