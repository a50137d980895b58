"""Where the data files are, and the checks every loader shares."""

import gzip
import numbers
import os
from pathlib import Path

import numpy as np

DATA_HOME_ENV_VAR = "SK_MTL_DATA"

_PROTOCOL = "benchmarks/PROTOCOL.md"

_POINT_AT_DATA = (
    f"Pass data_home='/path/to/data' or set {DATA_HOME_ENV_VAR}=/path/to/data, the "
    "folder that holds census_income_kdd/, trec/, sentence_polarity/, imbalanced/, "
    f"...; {_PROTOCOL} says where to get each data set."
)

# What the files of each data folder are, for the message when one is missing
# (the sources in full: benchmarks/PROTOCOL.md, section 1).
_SOURCES = {
    "census_income_kdd": "the UCI Census-Income (KDD) test file, census-income.test "
    "from the UCI Machine Learning Repository, gzipped",
    "trec": "the TREC question classification files of Li & Roth (train_5500.label, "
    "TREC_10.label, from the Cognitive Computation Group, University of Illinois), "
    "gzipped",
    "sentence_polarity": "the CR (Hu & Liu 2004) and MR / Subj (Pang & Lee 2004-2005, "
    "Cornell's movie-review data page) sentence files, one sentence per line, "
    "gzipped",
    "imbalanced": "a set of imbalanced-learn's fetch_datasets (Zenodo record 61452) "
    "as a CSV with a header and the label in the last column, gzipped",
}


def get_data_home(data_home=None):
    """Return the folder that holds the benchmark data.

    The folder is, in this order of preference: ``data_home`` when given, the
    ``SK_MTL_DATA`` environment variable when set, and ``../shared/data`` relative
    to the current working directory when that folder exists.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The folder. ``None`` looks at ``SK_MTL_DATA`` and then ``../shared/data``.

    Returns
    -------
    data_home : pathlib.Path
        The absolute path of the folder.

    Raises
    ------
    FileNotFoundError
        If the chosen folder does not exist, or when no folder was given, the
        environment variable is not set and ``../shared/data`` does not exist.

    Examples
    --------
    >>> from benchmarks.datasets import get_data_home
    >>> get_data_home("/data/sk_mtl")  # doctest: +SKIP
    PosixPath('/data/sk_mtl')
    """
    if data_home is not None:
        path, source = Path(data_home).expanduser(), "the data_home argument"
    elif os.environ.get(DATA_HOME_ENV_VAR):
        path = Path(os.environ[DATA_HOME_ENV_VAR]).expanduser()
        source = f"the {DATA_HOME_ENV_VAR} environment variable"
    else:
        path = Path.cwd() / ".." / "shared" / "data"
        if not path.is_dir():
            raise FileNotFoundError(
                "Cannot find the sk_mtl benchmark data folder: data_home is None, "
                f"the {DATA_HOME_ENV_VAR} environment variable is not set and "
                f"{path.resolve()} does not exist. {_POINT_AT_DATA}"
            )
        return path.resolve()
    if not path.is_dir():
        raise FileNotFoundError(
            f"The data folder {path}, given by {source}, does not exist or is not "
            f"a folder. {_POINT_AT_DATA}"
        )
    return path.resolve()


def _data_file(data_home, *parts):
    path = get_data_home(data_home).joinpath(*parts)
    if not path.is_file():
        source = _SOURCES.get(parts[0], "a benchmark data file")
        raise FileNotFoundError(
            f"Data file {path} not found. It is {source}; {_PROTOCOL} (section 1) "
            "says where to get it. Point data_home (or the "
            f"{DATA_HOME_ENV_VAR} environment variable) at the folder that holds "
            f"'{'/'.join(parts)}'."
        )
    return path


def _import_pandas():
    try:
        import pandas as pd
    except ImportError as exc:  # pragma: no cover - pandas is in the test extras
        raise ImportError(
            "This benchmarks.datasets loader needs pandas; install it with "
            "`pip install pandas` (or `pip install sk_mtl[bench]`)."
        ) from exc
    return pd


def _check_choice(value, valid, what):
    if not isinstance(value, str) or value not in valid:
        raise ValueError(
            f"Unknown {what} {value!r}; valid {what}s are: "
            + ", ".join(repr(v) for v in valid)
            + "."
        )
    return value


def _read_text_lines(path, encoding):
    """Lines of a gzip'd text file, split on "\\n" only.

    ``str.splitlines`` would also split latin-1 text on characters such as
    ``\\x85``, which occur inside sentences.
    """
    with gzip.open(path, "rt", encoding=encoding, newline="") as f:
        text = f.read()
    return [line.rstrip("\r") for line in text.split("\n")]


def _check_labels(series, valid, column, path):
    bad = ~series.isin(valid)
    if bad.any():
        raise ValueError(
            f"{path}: column {column!r} has unexpected values "
            f"{sorted(series[bad].astype(str).unique())[:5]}; expected one of "
            f"{sorted(valid)}."
        )


def _check_seed(seed):
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or seed < 0:
        raise TypeError(f"seed must be a non-negative int, got {seed!r}.")
    return int(seed)


def _check_1d(y, name):
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {y.shape}.")
    return y
