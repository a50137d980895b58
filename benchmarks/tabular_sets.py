"""Data sets and splits of the tabular defaults study (``benchmarks/tabular_study.py``).

- **Adult** (UCI, ``<data>/adult/adult.{data,test}.gz``): the official 32,561-row
  training file and 16,281-row test file, as a DataFrame (categoricals as
  ``category`` dtype, ``?`` as missing). Two tasks: ``income`` (>50K) and
  ``never_married`` (marital-status == Never-married); ``marital-status`` is dropped
  from the inputs, as the census benchmarks drop ``marital_stat``.
- **Imbalanced** sets of the anchors (``benchmarks/PROTOCOL.md``), noise rate 0:
  70/30 stratified split per seed, minority = 1.
- scikit-learn's bundled **small** sets: breast cancer, digits (digit + parity),
  wine, with a 30 % test split per seed.
"""

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.model_selection import train_test_split

from .datasets import get_data_home, imbalanced_split, load_imbalanced

ADULT_COLUMNS = (
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education-num",
    "marital-status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital-gain",
    "capital-loss",
    "hours-per-week",
    "native-country",
    "income",
)
ADULT_TASKS = ("income", "never_married")
IMBALANCED_SETS = ("mammography", "letter_img", "satimage", "abalone_19", "ozone_level")


def _read_adult(path):
    df = pd.read_csv(
        path,
        header=None,
        names=list(ADULT_COLUMNS),
        skipinitialspace=True,
        na_values="?",
        comment="|",
    )
    return df.dropna(subset=["income"]).reset_index(drop=True)


def load_adult(data_home, n_train=None):
    """``(X_train, Y_train, X_test, Y_test)``: DataFrames, Y with 0/1 task columns.

    ``n_train``: keep a random subset of that many training rows (quick runs).

    Categorical columns get the same ``category`` dtype (categories of the
    training file) in both splits, so HistGradientBoosting and sk_mtl read the
    test file with the training codes.
    """
    folder = get_data_home(data_home) / "adult"
    frames = [_read_adult(folder / f"adult.{part}.gz") for part in ("data", "test")]
    out = []
    cats = None
    for df in frames:
        income = df["income"].str.rstrip(".").str.strip()
        if not set(income) <= {">50K", "<=50K"}:
            raise ValueError(f"Unexpected Adult income labels {sorted(set(income))}.")
        Y = pd.DataFrame(
            {
                "income": (income == ">50K").astype(int),
                "never_married": (df["marital-status"] == "Never-married").astype(int),
            }
        )
        X = df.drop(columns=["income", "marital-status"])
        if cats is None:
            cats = {
                c: pd.CategoricalDtype(sorted(X[c].dropna().unique()))
                for c in X.columns
                if not pd.api.types.is_numeric_dtype(X[c])
            }
        for c, dtype in cats.items():  # unseen test categories become missing
            X[c] = X[c].where(X[c].isin(dtype.categories)).astype(dtype)
        numeric = [c for c in X.columns if c not in cats]
        X[numeric] = X[numeric].astype(float)
        out += [X, Y]
    if n_train is not None and n_train < len(out[0]):
        keep = np.sort(np.random.default_rng(0).permutation(len(out[0]))[:n_train])
        out[:2] = [part.iloc[keep].reset_index(drop=True) for part in out[:2]]
    return tuple(out)


def adult_columns(X):
    """``(categorical, numeric)`` column names of an Adult DataFrame."""
    cat = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    return cat, [c for c in X.columns if c not in cat]


def imbalanced(name, data_home, seed):
    """``(X_train, y_train, X_test, y_test)`` of the anchors' protocol (r = 0)."""
    bunch = load_imbalanced(name, data_home)
    X, y = bunch.data, bunch.target
    train, test, y_train = imbalanced_split(y, seed, noise_rate=0.0)
    return X[train], y_train, X[test], y[test]


def small_sets():
    """``(name, X, Y)`` of scikit-learn's bundled sets (digits: digit + parity)."""
    X, y = load_breast_cancer(return_X_y=True)
    yield "breast cancer", X, y
    X, y = load_digits(return_X_y=True)
    yield "digits (2 tasks)", X, np.column_stack([y, y % 2])
    X, y = load_wine(return_X_y=True)
    yield "wine", X, y


def small_split(y, seed):
    """30 % test split of a small set (stratified on the first task)."""
    first = y if y.ndim == 1 else y[:, 0]
    return train_test_split(
        np.arange(len(y)), test_size=0.3, stratify=first, random_state=seed
    )


def validation_split(y, seed, fraction=0.2):
    """Positions of a stratified train/validation split inside a training set."""
    y = np.asarray(y)
    first = y if y.ndim == 1 else y[:, 0]
    return train_test_split(
        np.arange(len(y)), test_size=fraction, stratify=first, random_state=seed
    )
