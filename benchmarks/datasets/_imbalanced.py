"""Binary imbalanced sets (Ding's collection) and their noisy-label split."""

import numbers
import re

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils import Bunch

from ._common import _check_1d, _check_choice, _check_seed, _data_file, _import_pandas

IMBALANCED_DATASETS = (
    "abalone_19",
    "abalone_binarized",
    "car_eval_binarized",
    "coil_2000",
    "letter_img",
    "mammography",
    "optical_digits",
    "ozone_level",
    "pen_digits",
    "satimage",
    "sick_euthyroid",
    "solar_flare",
    "thyroid_disease",
    "us_crime",
    "wine_quality",
)


IMBALANCED_BENCHMARK = (
    "mammography",
    "letter_img",
    "satimage",
    "abalone_19",
    "ozone_level",
)


_DESCR = {
    "imbalanced": """\
Binary imbalanced benchmark set {name!r} (Ding's collection, as in
imbalanced-learn's fetch_datasets): {n} rows, {p} features after one-hot
encoding, {pos} minority rows ({rate:.2%}).
target: 1 = the minority class (original label {minority!r}), 0 = the rest.
Categorical columns are one-hot encoded ("column=value"); a missing category
gives all zeros, a missing number stays NaN.""",
}


_BYTES_REPR = re.compile(r"^b'(.*)'$|^b\"(.*)\"$", re.DOTALL)


def _strip_bytes_repr(series):
    """Turn the ``b'sick'`` spellings some files use into ``sick``."""
    return series.str.replace(
        _BYTES_REPR, lambda m: m.group(1) or m.group(2) or "", regex=True
    )


def load_imbalanced(name, data_home=None):
    """Load a binary imbalanced benchmark set (Ding's collection).

    The label is the last column; its values vary by file (-1/1, 0/1,
    ``b'sick'``/``b'negative'``, ``b'2'``/``b'1'``). The least frequent value
    becomes 1 and every other value 0. Non-numeric feature columns (``Sex`` of
    ``abalone_19``, the ``b'f'``/``b't'`` flags and ``referral_source`` of
    ``thyroid_disease``) are one-hot encoded in place, one column per value in
    sorted order, named ``"column=value"``; ``"?"`` or an empty field counts as a
    missing category and gives all zeros. Missing numbers stay NaN
    (``thyroid_disease`` has some, and its ``TBG`` column is entirely NaN), so
    impute them before an estimator that does not accept NaN.

    Parameters
    ----------
    name : str
        One of :data:`IMBALANCED_DATASETS`. The five sets of the reference
        baselines are :data:`IMBALANCED_BENCHMARK`.
    data_home : str or path-like, default=None
        Folder holding ``imbalanced/<name>.csv.gz``; see :func:`get_data_home`.

    Returns
    -------
    bunch : sklearn.utils.Bunch
        With keys ``data`` (float ndarray of shape (n_samples, n_features)),
        ``target`` (int ndarray, 1 = minority), ``feature_names``,
        ``categorical_columns`` (the original columns that were one-hot encoded),
        ``minority_label`` (the original label of the minority class, as str) and
        ``DESCR``.

    Raises
    ------
    FileNotFoundError
        If the file is missing.
    ValueError
        If ``name`` is unknown, or the label column has fewer than two values or
        no single least frequent value.

    See Also
    --------
    imbalanced_split : The split and label noise of the reference baselines.

    Examples
    --------
    >>> from benchmarks.datasets import load_imbalanced, imbalanced_split
    >>> mammo = load_imbalanced("mammography", "/data/sk_mtl")  # doctest: +SKIP
    >>> mammo.data.shape, int(mammo.target.sum())  # doctest: +SKIP
    ((11183, 6), 260)
    >>> train, test, y_train = imbalanced_split(mammo.target, seed=0, noise_rate=0.1)
    ... # doctest: +SKIP
    """
    pd = _import_pandas()
    _check_choice(name, IMBALANCED_DATASETS, "name")
    path = _data_file(data_home, "imbalanced", f"{name}.csv.gz")
    df = pd.read_csv(path)
    if df.shape[1] < 2:
        raise ValueError(f"{path}: expected feature columns and a label column.")
    label = df.iloc[:, -1]
    if label.isna().any():
        raise ValueError(
            f"{path}: the label column {df.columns[-1]!r} has missing values."
        )
    label = _strip_bytes_repr(label.astype(str).str.strip())
    counts = label.value_counts()
    if len(counts) < 2 or (counts == counts.min()).sum() > 1:
        raise ValueError(
            f"{path}: cannot pick a minority class from the label counts "
            f"{counts.to_dict()}; need at least two values and one least frequent."
        )
    minority = counts.idxmin()
    target = (label == minority).to_numpy().astype(np.int64)

    blocks, feature_names, categorical = [], [], []
    for col in df.columns[:-1]:
        values = df[col]
        if not pd.api.types.is_numeric_dtype(values):
            values = _strip_bytes_repr(values.astype("string").str.strip())
            values = values.mask(values.isin(["?", ""]))
            as_number = pd.to_numeric(values, errors="coerce")
            if as_number.notna().sum() == values.notna().sum():
                values = as_number
        if pd.api.types.is_numeric_dtype(values):
            blocks.append(values.to_numpy(dtype=np.float64, na_value=np.nan)[:, None])
            feature_names.append(str(col))
            continue
        categorical.append(str(col))
        for level in sorted(values.dropna().unique()):
            blocks.append(
                (values == level).fillna(False).to_numpy(dtype=np.float64)[:, None]
            )
            feature_names.append(f"{col}={level}")
    data = np.hstack(blocks)
    descr = _DESCR["imbalanced"].format(
        name=name,
        n=data.shape[0],
        p=data.shape[1],
        pos=int(target.sum()),
        rate=target.mean(),
        minority=minority,
    )
    return Bunch(
        data=data,
        target=target,
        feature_names=feature_names,
        categorical_columns=categorical,
        minority_label=minority,
        DESCR=descr,
    )


def imbalanced_split(y, seed, noise_rate=0.0):
    """Split and label noise of the imbalanced reference baselines.

    For a seed ``s`` and a noise rate ``r``::

        train_idx, test_idx = train_test_split(arange(n), test_size=0.3,
                                               stratify=y, random_state=s)
        flip = np.random.default_rng(s).permutation(n_train)[:round(r * n_train)]
        y_train = y[train_idx]; y_train[flip] = 1 - y_train[flip]

    The flipped rows for a larger ``r`` include those for a smaller one, and the
    test labels stay clean.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        The 0/1 labels of :func:`load_imbalanced`.
    seed : int
        The seed ``s``; the baselines use 0 to 4.
    noise_rate : float, default=0.0
        The fraction ``r`` of training labels to flip, in [0, 1]; the baselines use
        0, 0.1 and 0.2.

    Returns
    -------
    train_idx : ndarray of int
        Training rows (70 %).
    test_idx : ndarray of int
        Test rows (30 %).
    y_train : ndarray of int
        The training labels ``y[train_idx]`` with the noise applied.

    Raises
    ------
    ValueError
        If ``y`` is not 0/1 or ``noise_rate`` is outside [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from benchmarks.datasets import imbalanced_split
    >>> y = np.array([0] * 90 + [1] * 10)
    >>> train, test, y_train = imbalanced_split(y, seed=0, noise_rate=0.1)
    >>> len(train), len(test), int((y_train != y[train]).sum())
    (70, 30, 7)
    """
    y = _check_1d(y, "y")
    if not np.isin(y, (0, 1)).all():
        raise ValueError(
            f"y must hold 0/1 labels, got values {np.unique(y)[:5].tolist()}."
        )
    y = y.astype(np.int64)
    seed = _check_seed(seed)
    if not isinstance(noise_rate, numbers.Real) or not 0 <= noise_rate <= 1:
        raise ValueError(f"noise_rate must be a number in [0, 1], got {noise_rate!r}.")
    train_idx, test_idx = train_test_split(
        np.arange(len(y)), test_size=0.3, stratify=y, random_state=seed
    )
    y_train = y[train_idx].copy()
    n_flip = round(noise_rate * len(train_idx))
    flip = np.random.default_rng(seed).permutation(len(train_idx))[:n_flip]
    y_train[flip] = 1 - y_train[flip]
    return train_idx, test_idx, y_train
