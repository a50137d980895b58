"""Loaders for the benchmark data sets used by sk_mtl's benchmarks.

The files are not shipped with the package and nothing is downloaded. Every loader
takes the folder that holds them (``data_home``) as an argument; see
:func:`get_data_home` for how it is found when the argument is left out. The folder
layout is the one of the team's shared data folder::

    census_income_kdd/census-income.test.gz
    adult/adult.data.gz, adult/adult.test.gz
    trec/train_5500.label.gz, trec/TREC_10.label.gz
    sst2/train.tsv.gz, sst2/dev.tsv.gz, sst2/test.tsv.gz
    sentence_polarity/{custrev,rt-polarity}.{pos,neg}.gz,
    sentence_polarity/subj.{subjective,objective}.gz
    sms_spam/SMSSpamCollection.gz
    imbalanced/<name>.csv.gz

The split helpers (:func:`census_income_split`, :func:`few_shot_split`,
:func:`imbalanced_split`) reproduce the protocols of the reference baselines
exactly, so results can be compared row for row with them.

pandas is needed by the tabular and TSV loaders; it is imported when they are
called.
"""

import gzip
import numbers
import os
import re
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils import Bunch

__all__ = [
    "CENSUS_COLLEGE_EDUCATION",
    "DATA_HOME_ENV_VAR",
    "IMBALANCED_BENCHMARK",
    "IMBALANCED_DATASETS",
    "census_income_split",
    "few_shot_split",
    "get_data_home",
    "imbalanced_split",
    "load_adult",
    "load_census_income",
    "load_imbalanced",
    "load_sentence_polarity",
    "load_sms_spam",
    "load_sst2",
    "load_trec",
]

DATA_HOME_ENV_VAR = "SK_MTL_DATA"

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

# Values of the census ``education`` column that count as "at least college" for the
# optional education task: every level from "Some college" upwards.
CENSUS_COLLEGE_EDUCATION = (
    "Some college but no degree",
    "Associates degree-occup /vocational",
    "Associates degree-academic program",
    "Bachelors degree(BA AB BS)",
    "Masters degree(MA MS MEng MEd MSW MBA)",
    "Prof school degree (MD DDS DVM LLB JD)",
    "Doctorate degree(PhD EdD)",
)

_CENSUS_COLUMNS = (
    "age",
    "class_worker",
    "det_ind_code",
    "det_occ_code",
    "education",
    "wage_per_hour",
    "hs_college",
    "marital_stat",
    "major_ind_code",
    "major_occ_code",
    "race",
    "hisp_origin",
    "sex",
    "union_member",
    "unemp_reason",
    "full_or_part_emp",
    "capital_gains",
    "capital_losses",
    "stock_dividends",
    "tax_filer_stat",
    "region_prev_res",
    "state_prev_res",
    "det_hh_fam_stat",
    "det_hh_summ",
    "instance_weight",
    "mig_chg_msa",
    "mig_chg_reg",
    "mig_move_reg",
    "mig_same",
    "mig_prev_sunbelt",
    "num_emp",
    "fam_under_18",
    "country_father",
    "country_mother",
    "country_self",
    "citizenship",
    "own_or_self",
    "vet_question",
    "vet_benefits",
    "weeks_worked",
    "year",
    "income_50k",
)
# The 7 attributes census-income.names calls continuous (instance_weight aside);
# the numeric codes (det_ind_code, year, ...) are nominal.
_CENSUS_NUMERIC = (
    "age",
    "wage_per_hour",
    "capital_gains",
    "capital_losses",
    "stock_dividends",
    "num_emp",
    "weeks_worked",
)
_CENSUS_TASK_COLUMNS = {
    "income": "income_50k",
    "marital": "marital_stat",
    "education": "education",
}

_ADULT_COLUMNS = (
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education_num",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
    "native_country",
    "income",
)
_ADULT_NUMERIC = (
    "age",
    "fnlwgt",
    "education_num",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
)
_ADULT_TASK_COLUMNS = {"income": "income", "marital": "marital_status", "sex": "sex"}

_POLARITY_FILES = {
    "cr": ("custrev.pos.gz", "custrev.neg.gz"),
    "mr": ("rt-polarity.pos.gz", "rt-polarity.neg.gz"),
    "subj": ("subj.subjective.gz", "subj.objective.gz"),
}

_DESCR = {
    "census_income": """\
UCI Census-Income (KDD), the test file only (99,762 rows, 1994-95 Current
Population Surveys); the data set of the MMoE paper (Ma et al., KDD 2018).
Tasks: income = (income_50k == "50000+."), about 6.2 % positive;
marital = (marital_stat == "Never married"), about 43 % positive;
optional education = education in CENSUS_COLLEGE_EDUCATION ("Some college but
no degree" or higher), about 33 % positive.
Inputs: every other column except instance_weight (a survey weight, returned
separately as ``instance_weight``). "?" is kept as a category value (it marks the
1994 records that have no migration data). Categorical columns have the pandas
"category" dtype; numeric codes such as det_ind_code are categorical.
License: CC BY 4.0 (UCI).""",
    "adult": """\
UCI Adult (1994 census extract): 32,561 train and 16,281 test rows.
Tasks: income = income ">50K" (about 24 % positive); marital = marital_status
"Never-married" (about 33 %); sex = sex "Female" (about 33 %).
Inputs: the other columns; "?" is read as missing (NaN). fnlwgt (a sampling
weight) is kept as an input, as is usual for this data set.
License: CC BY 4.0 (UCI).""",
    "trec": """\
TREC question classification (Li & Roth 2002): 5,452 train and 500 test
questions, each with a coarse label (6 classes) and a fine label (50 classes,
written "COARSE:fine"), so it is also a two-task text set.""",
    "sst2": """\
GLUE SST-2 (Socher et al. 2013): train (67,349 phrases) and dev (872 sentences)
of the GLUE task; test (1,821 sentences) carries the original binary SST labels.
target: 1 = positive, 0 = negative.""",
    "cr": """\
CR customer reviews (Hu & Liu 2004): 2,405 positive then 1,366 negative
sentences (3,771 non-blank). target: 1 = positive, 0 = negative.""",
    "mr": """\
MR movie-review sentences (Pang & Lee 2005): 5,331 positive then 5,331
negative. target: 1 = positive, 0 = negative.""",
    "subj": """\
Subjectivity data set (Pang & Lee 2004): 5,000 subjective then 5,000 objective
sentences. target: 1 = subjective, 0 = objective.""",
    "sms_spam": """\
UCI SMS Spam Collection: 5,574 messages, 747 spam (13.4 %).
target: 1 = spam, 0 = ham. License: CC BY 4.0 (UCI).""",
    "imbalanced": """\
Binary imbalanced benchmark set {name!r} (Ding's collection, as in
imbalanced-learn's fetch_datasets): {n} rows, {p} features after one-hot
encoding, {pos} minority rows ({rate:.2%}).
target: 1 = the minority class (original label {minority!r}), 0 = the rest.
Categorical columns are one-hot encoded ("column=value"); a missing category
gives all zeros, a missing number stays NaN.""",
}


# ---------------------------------------------------------------------------
# Locating files
# ---------------------------------------------------------------------------


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
    >>> from sk_mtl.datasets import get_data_home
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
                f"{path.resolve()} does not exist. Pass data_home='/path/to/data' "
                f"or set {DATA_HOME_ENV_VAR}=/path/to/data, the folder that holds "
                "census_income_kdd/, adult/, trec/, imbalanced/, ..."
            )
        return path.resolve()
    if not path.is_dir():
        raise FileNotFoundError(
            f"The data folder {path}, given by {source}, does not exist or is not "
            "a folder. Pass data_home='/path/to/data' or set "
            f"{DATA_HOME_ENV_VAR}=/path/to/data, the folder that holds "
            "census_income_kdd/, adult/, trec/, imbalanced/, ..."
        )
    return path.resolve()


def _data_file(data_home, *parts):
    path = get_data_home(data_home).joinpath(*parts)
    if not path.is_file():
        raise FileNotFoundError(
            f"Data file {path} not found. Point data_home (or the "
            f"{DATA_HOME_ENV_VAR} environment variable) at the folder that holds "
            f"'{'/'.join(parts)}'."
        )
    return path


def _import_pandas():
    try:
        import pandas as pd
    except ImportError as exc:  # pragma: no cover - pandas is in the test extras
        raise ImportError(
            "This sk_mtl.datasets loader needs pandas; install it with "
            "`pip install pandas` (or `pip install sk_mtl[pandas]`)."
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


# ---------------------------------------------------------------------------
# Multi-task tabular
# ---------------------------------------------------------------------------


def _check_tasks(tasks, valid):
    if isinstance(tasks, str):
        tasks = (tasks,)
    tasks = tuple(tasks)
    if not tasks:
        raise ValueError(
            "tasks is empty; give at least one of: "
            + ", ".join(repr(v) for v in valid)
            + "."
        )
    for task in tasks:
        _check_choice(task, valid, "task")
    if len(set(tasks)) != len(tasks):
        raise ValueError(f"tasks has duplicates: {tasks!r}.")
    return tasks


def _as_category(series, pd):
    if pd.api.types.is_numeric_dtype(series):
        series = series.astype(str)
    return series.astype("category")


def _check_labels(series, valid, column, path):
    bad = ~series.isin(valid)
    if bad.any():
        raise ValueError(
            f"{path}: column {column!r} has unexpected values "
            f"{sorted(series[bad].astype(str).unique())[:5]}; expected one of "
            f"{sorted(valid)}."
        )


def _tabular_bunch(df, target, numeric, drop, tasks, as_frame, descr, **extra):
    data = df.drop(columns=list(drop))
    numeric_columns = [c for c in data.columns if c in numeric]
    categorical_columns = [c for c in data.columns if c not in numeric]
    feature_names = list(data.columns)
    if not as_frame:
        data = data.to_numpy(dtype=object)
        target = target.to_numpy()
    return Bunch(
        data=data,
        target=target,
        feature_names=feature_names,
        categorical_columns=categorical_columns,
        numeric_columns=numeric_columns,
        task_names=list(tasks),
        DESCR=descr,
        **extra,
    )


def load_census_income(data_home=None, *, tasks=("income", "marital"), as_frame=True):
    """Load the UCI Census-Income (KDD) data as a multi-task problem.

    Only the UCI test file (99,762 rows) is read. The tasks are those of the MMoE
    paper (Ma et al., KDD 2018):

    - ``"income"``: ``income_50k == "50000+."`` (about 6.2 % positive);
    - ``"marital"``: ``marital_stat == "Never married"`` (about 43 % positive);
    - ``"education"`` (optional): "education is at least college", defined here as
      ``education`` being one of :data:`CENSUS_COLLEGE_EDUCATION`, i.e. "Some
      college but no degree" or any higher level, associate degrees included
      (about 33 % positive). The paper does not define "college" exactly.

    ``marital_stat``, ``income_50k`` and ``instance_weight`` are never inputs;
    ``education`` is dropped from the inputs when the education task is asked for.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder holding ``census_income_kdd/census-income.test.gz``; see
        :func:`get_data_home`.
    tasks : sequence of str, default=("income", "marital")
        The tasks, in the order of the target columns; any of ``"income"``,
        ``"marital"`` and ``"education"``.
    as_frame : bool, default=True
        If True, ``data`` and ``target`` are DataFrames; categorical columns have
        the pandas ``category`` dtype. If False, ``data`` is an object ndarray and
        ``target`` an int ndarray of shape (n_samples, n_tasks).

    Returns
    -------
    bunch : sklearn.utils.Bunch
        With keys ``data`` (99,762 rows, 39 or 38 input columns), ``target`` (one
        int 0/1 column per task, named after the task), ``feature_names``,
        ``categorical_columns``, ``numeric_columns``, ``task_names``,
        ``instance_weight`` (the survey weight, a float ndarray; not an input) and
        ``DESCR``.

    Raises
    ------
    FileNotFoundError
        If the file is missing.
    ValueError
        If a task name is unknown or the file does not have the expected layout.

    See Also
    --------
    census_income_split : The 60/20/20 split of the reference baselines.

    Examples
    --------
    >>> from sklearn.compose import make_column_transformer
    >>> from sklearn.preprocessing import OneHotEncoder, StandardScaler
    >>> from sk_mtl.datasets import load_census_income, census_income_split
    >>> census = load_census_income("/data/sk_mtl")  # doctest: +SKIP
    >>> census.data.shape, census.target.shape  # doctest: +SKIP
    ((99762, 39), (99762, 2))
    >>> prep = make_column_transformer(
    ...     (OneHotEncoder(handle_unknown="ignore"), census.categorical_columns),
    ...     (StandardScaler(), census.numeric_columns),
    ... )  # doctest: +SKIP
    >>> train, val, test = census_income_split(census.target["income"], seed=0)
    ... # doctest: +SKIP
    """
    pd = _import_pandas()
    tasks = _check_tasks(tasks, tuple(_CENSUS_TASK_COLUMNS))
    path = _data_file(data_home, "census_income_kdd", "census-income.test.gz")
    # No NA parsing: "?" and "NA" (hisp_origin) are category values here.
    df = pd.read_csv(
        path, header=None, skipinitialspace=True, keep_default_na=False, na_filter=False
    )
    if df.shape[1] != len(_CENSUS_COLUMNS):
        raise ValueError(
            f"{path}: expected {len(_CENSUS_COLUMNS)} comma-separated columns, "
            f"found {df.shape[1]}."
        )
    df.columns = list(_CENSUS_COLUMNS)
    for col in (*_CENSUS_NUMERIC, "instance_weight"):
        if not pd.api.types.is_numeric_dtype(df[col]):
            raise ValueError(f"{path}: column {col!r} is not numeric.")
    income = df["income_50k"].str.rstrip(".")
    _check_labels(income, {"50000+", "- 50000"}, "income_50k", path)
    labels = {
        "income": income == "50000+",
        "marital": df["marital_stat"] == "Never married",
        "education": df["education"].isin(CENSUS_COLLEGE_EDUCATION),
    }
    target = pd.DataFrame({t: labels[t].astype(np.int64) for t in tasks})
    for col in df.columns:
        if col not in _CENSUS_NUMERIC and col != "instance_weight":
            df[col] = _as_category(df[col], pd)
    drop = ["marital_stat", "income_50k", "instance_weight"]
    drop += [
        _CENSUS_TASK_COLUMNS[t] for t in tasks if _CENSUS_TASK_COLUMNS[t] not in drop
    ]
    return _tabular_bunch(
        df,
        target,
        _CENSUS_NUMERIC,
        drop,
        tasks,
        as_frame,
        _DESCR["census_income"],
        instance_weight=df["instance_weight"].to_numpy(dtype=np.float64),
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


def census_income_split(y_income, seed):
    """Split the census rows 60/20/20 as the reference baselines do.

    The split, for a seed ``s``, is::

        trval, test = train_test_split(arange(n), test_size=0.2,
                                       stratify=y_income, random_state=s)
        train, val = train_test_split(trval, test_size=0.25,
                                      stratify=y_income[trval], random_state=s)

    Parameters
    ----------
    y_income : array-like of shape (n_samples,)
        The income labels, in file order (``load_census_income().target["income"]``).
    seed : int
        The seed ``s``; the baselines use 0 to 4.

    Returns
    -------
    train : ndarray of int
        Row indices of the training set (60 %).
    val : ndarray of int
        Row indices of the validation set (20 %).
    test : ndarray of int
        Row indices of the test set (20 %).

    Examples
    --------
    >>> import numpy as np
    >>> from sk_mtl.datasets import census_income_split
    >>> y = np.array([0, 1] * 50)
    >>> train, val, test = census_income_split(y, seed=0)
    >>> len(train), len(val), len(test)
    (60, 20, 20)
    """
    y = _check_1d(y_income, "y_income")
    seed = _check_seed(seed)
    trval, test = train_test_split(
        np.arange(len(y)), test_size=0.2, stratify=y, random_state=seed
    )
    train, val = train_test_split(
        trval, test_size=0.25, stratify=y[trval], random_state=seed
    )
    return train, val, test


def _read_adult(path, pd):
    # comment="|" skips the "|1x3 Cross validator" first line of the UCI test file.
    df = pd.read_csv(
        path,
        header=None,
        skipinitialspace=True,
        na_values=["?"],
        keep_default_na=False,
        comment="|",
    )
    if df.shape[1] != len(_ADULT_COLUMNS):
        raise ValueError(
            f"{path}: expected {len(_ADULT_COLUMNS)} comma-separated columns, "
            f"found {df.shape[1]}."
        )
    df.columns = list(_ADULT_COLUMNS)
    # The test file writes the labels "<=50K." and ">50K.".
    df["income"] = df["income"].str.rstrip(".")
    _check_labels(df["income"], {"<=50K", ">50K"}, "income", path)
    return df


def load_adult(
    data_home=None,
    *,
    subset="train",
    tasks=("income", "marital", "sex"),
    as_frame=True,
):
    """Load UCI Adult as a multi-task problem.

    Tasks:

    - ``"income"``: ``income == ">50K"`` (about 24 % positive);
    - ``"marital"``: ``marital_status == "Never-married"`` (about 33 %);
    - ``"sex"``: ``sex == "Female"`` (about 33 %).

    ``income`` and the columns of the requested tasks are dropped from the inputs
    (with ``tasks=("income",)``, ``marital_status`` and ``sex`` stay inputs).
    ``"?"`` is read as missing (NaN).

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder holding ``adult/adult.data.gz`` and ``adult/adult.test.gz``; see
        :func:`get_data_home`.
    subset : {"train", "test", "all"}, default="train"
        ``"train"`` (32,561 rows), ``"test"`` (16,281 rows), or ``"all"``: train
        rows then test rows, re-indexed from 0.
    tasks : sequence of str, default=("income", "marital", "sex")
        The tasks, in the order of the target columns.
    as_frame : bool, default=True
        If True, ``data`` and ``target`` are DataFrames; categorical columns have
        the pandas ``category`` dtype. If False, ``data`` is an object ndarray and
        ``target`` an int ndarray of shape (n_samples, n_tasks).

    Returns
    -------
    bunch : sklearn.utils.Bunch
        With keys ``data``, ``target`` (one int 0/1 column per task),
        ``feature_names``, ``categorical_columns``, ``numeric_columns``,
        ``task_names`` and ``DESCR``.

    Raises
    ------
    FileNotFoundError
        If a file is missing.
    ValueError
        If ``subset`` or a task name is unknown, or a file does not have the
        expected layout.

    Examples
    --------
    >>> from sk_mtl.datasets import load_adult
    >>> adult = load_adult("/data/sk_mtl", subset="test")  # doctest: +SKIP
    >>> adult.data.shape, adult.task_names  # doctest: +SKIP
    ((16281, 12), ['income', 'marital', 'sex'])
    """
    pd = _import_pandas()
    _check_choice(subset, ("train", "test", "all"), "subset")
    tasks = _check_tasks(tasks, tuple(_ADULT_TASK_COLUMNS))
    names = {"train": ["adult.data.gz"], "test": ["adult.test.gz"]}
    files = names.get(subset, names["train"] + names["test"])
    paths = [_data_file(data_home, "adult", f) for f in files]
    df = pd.concat([_read_adult(p, pd) for p in paths], ignore_index=True)
    labels = {
        "income": df["income"] == ">50K",
        "marital": df["marital_status"] == "Never-married",
        "sex": df["sex"] == "Female",
    }
    target = pd.DataFrame({t: labels[t].astype(np.int64) for t in tasks})
    for col in df.columns:
        if col not in _ADULT_NUMERIC:
            df[col] = _as_category(df[col], pd)
    drop = ["income"] + [_ADULT_TASK_COLUMNS[t] for t in tasks if t != "income"]
    return _tabular_bunch(
        df, target, _ADULT_NUMERIC, drop, tasks, as_frame, _DESCR["adult"]
    )


# ---------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------


def _read_trec(path, pd):
    questions, fine = [], []
    for lineno, line in enumerate(_read_text_lines(path, "latin-1"), start=1):
        if not line.strip():
            continue
        label, _, question = line.partition(" ")
        coarse, colon, detail = label.partition(":")
        if not (colon and coarse and detail and question.strip()):
            raise ValueError(
                f"{path}, line {lineno}: expected 'COARSE:fine question', "
                f"got {line[:60]!r}."
            )
        questions.append(question.strip())
        fine.append(label)
    fine = pd.Series(fine, dtype=str)
    coarse = fine.str.partition(":")[0]
    return questions, pd.DataFrame({"coarse": coarse, "fine": fine})


def load_trec(data_home=None):
    """Load TREC question classification as a two-task text set.

    Each line of the files reads ``COARSE:fine question`` (latin-1). The coarse
    label has 6 classes (ABBR, DESC, ENTY, HUM, LOC, NUM); the fine label has 50,
    written ``"COARSE:fine"`` (e.g. ``"DESC:manner"``) so it is unique on its own.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder holding ``trec/train_5500.label.gz`` and ``trec/TREC_10.label.gz``;
        see :func:`get_data_home`.

    Returns
    -------
    bunch : sklearn.utils.Bunch
        With keys ``data_train`` (list of 5,452 questions), ``data_test`` (list of
        500 questions), ``target_train`` and ``target_test`` (DataFrames with
        string columns ``coarse`` and ``fine``), ``task_names``
        (``["coarse", "fine"]``) and ``DESCR``.

    Raises
    ------
    FileNotFoundError
        If a file is missing.
    ValueError
        If a line does not read ``COARSE:fine question``.

    Examples
    --------
    >>> from sk_mtl.datasets import load_trec
    >>> trec = load_trec("/data/sk_mtl")  # doctest: +SKIP
    >>> trec.data_train[0], trec.target_train.iloc[0].tolist()  # doctest: +SKIP
    ('How did serfdom develop in and then leave Russia ?', ['DESC', 'DESC:manner'])
    """
    pd = _import_pandas()
    train = _read_trec(_data_file(data_home, "trec", "train_5500.label.gz"), pd)
    test = _read_trec(_data_file(data_home, "trec", "TREC_10.label.gz"), pd)
    return Bunch(
        data_train=train[0],
        data_test=test[0],
        target_train=train[1],
        target_test=test[1],
        task_names=["coarse", "fine"],
        DESCR=_DESCR["trec"],
    )


def load_sst2(data_home=None, *, subset="train"):
    """Load SST-2 (binary sentiment of phrases and sentences).

    The files are tab-separated with a header and the label in the **first**
    column; they are read without quote processing (``quoting=3``) and without NA
    parsing, so every sentence comes back verbatim.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder holding ``sst2/{train,dev,test}.tsv.gz``; see :func:`get_data_home`.
    subset : {"train", "dev", "test"}, default="train"
        ``"train"`` (67,349 phrases) and ``"dev"`` (872) are GLUE SST-2; ``"test"``
        (1,821) carries the original binary SST labels.

    Returns
    -------
    bunch : sklearn.utils.Bunch
        With keys ``data`` (list of str), ``target`` (int ndarray, 1 = positive)
        and ``DESCR``.

    Raises
    ------
    FileNotFoundError
        If the file is missing.
    ValueError
        If ``subset`` is unknown or the file does not have the expected layout.

    Examples
    --------
    >>> from sk_mtl.datasets import load_sst2
    >>> sst2 = load_sst2("/data/sk_mtl", subset="dev")  # doctest: +SKIP
    >>> len(sst2.data), sst2.target.mean().round(3)  # doctest: +SKIP
    (872, 0.509)
    """
    pd = _import_pandas()
    _check_choice(subset, ("train", "dev", "test"), "subset")
    path = _data_file(data_home, "sst2", f"{subset}.tsv.gz")
    df = pd.read_csv(
        path,
        sep="\t",
        quoting=3,
        header=0,
        dtype=str,
        keep_default_na=False,
        na_filter=False,
        encoding="utf-8",
    )
    if df.shape[1] != 2:
        raise ValueError(
            f"{path}: expected 2 tab-separated columns (label, sentence), "
            f"found {df.shape[1]}."
        )
    label = df.iloc[:, 0].str.strip()
    _check_labels(label, {"0", "1"}, df.columns[0], path)
    return Bunch(
        data=df.iloc[:, 1].tolist(),
        target=label.astype(np.int64).to_numpy(),
        DESCR=_DESCR["sst2"],
    )


def _nonblank_lines(path, encoding):
    return [line.strip() for line in _read_text_lines(path, encoding) if line.strip()]


def load_sentence_polarity(name, data_home=None):
    """Load a sentence-polarity set: CR, MR or Subj.

    The sentences come in the order of the reference baselines: the whole
    positive file, then the whole negative file (latin-1, blank lines dropped,
    surrounding whitespace stripped).

    Parameters
    ----------
    name : {"cr", "mr", "subj"}
        ``"cr"``: customer reviews (2,405 positive + 1,366 negative non-blank
        sentences = 3,771); ``"mr"``: movie reviews (5,331 + 5,331 = 10,662);
        ``"subj"``: 5,000 subjective + 5,000 objective sentences.
    data_home : str or path-like, default=None
        Folder holding ``sentence_polarity/``; see :func:`get_data_home`.

    Returns
    -------
    bunch : sklearn.utils.Bunch
        With keys ``data`` (list of str), ``target`` (int ndarray: 1 = positive,
        or 1 = subjective for ``"subj"``; 0 otherwise) and ``DESCR``.

    Raises
    ------
    FileNotFoundError
        If a file is missing.
    ValueError
        If ``name`` is unknown.

    See Also
    --------
    few_shot_split : The test split and few-shot samples of the reference baselines.

    Examples
    --------
    >>> from sk_mtl.datasets import load_sentence_polarity, few_shot_split
    >>> cr = load_sentence_polarity("cr", "/data/sk_mtl")  # doctest: +SKIP
    >>> len(cr.data)  # doctest: +SKIP
    3771
    >>> train, test = few_shot_split(cr.target, n_per_class=8, seed=0)
    ... # doctest: +SKIP
    """
    _check_choice(name, tuple(_POLARITY_FILES), "name")
    pos_file, neg_file = _POLARITY_FILES[name]
    pos = _nonblank_lines(
        _data_file(data_home, "sentence_polarity", pos_file), "latin-1"
    )
    neg = _nonblank_lines(
        _data_file(data_home, "sentence_polarity", neg_file), "latin-1"
    )
    target = np.concatenate(
        [np.ones(len(pos), dtype=np.int64), np.zeros(len(neg), dtype=np.int64)]
    )
    return Bunch(data=pos + neg, target=target, DESCR=_DESCR[name])


def few_shot_split(y, n_per_class, seed):
    """Test split and few-shot training sample of the reference baselines.

    The test split does not depend on ``seed``::

        train_idx, test_idx = train_test_split(arange(n), test_size=0.3,
                                               stratify=y, random_state=0)

    The few-shot sample for a seed ``s`` draws ``n_per_class`` training rows of
    each class, class 0 first, then class 1 (classes in sorted order)::

        rng = np.random.default_rng(s)
        rng.choice(train_idx[y[train_idx] == c], n_per_class, replace=False)

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        The labels, in the order of :func:`load_sentence_polarity`.
    n_per_class : int or None
        Training rows per class. ``None`` returns the whole training part
        (the "full train" column of the baselines).
    seed : int
        The seed ``s`` of the few-shot sample; the baselines use 0 to 4.

    Returns
    -------
    train_idx : ndarray of int
        The few-shot training rows: the class-0 draws, then the class-1 draws.
    test_idx : ndarray of int
        The test rows (30 %).

    Raises
    ------
    ValueError
        If a class has fewer than ``n_per_class`` training rows.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_mtl.datasets import few_shot_split
    >>> y = np.array([1] * 60 + [0] * 40)
    >>> train, test = few_shot_split(y, n_per_class=8, seed=0)
    >>> len(train), len(test), np.bincount(y[train]).tolist()
    (16, 30, [8, 8])
    """
    y = _check_1d(y, "y")
    seed = _check_seed(seed)
    train_idx, test_idx = train_test_split(
        np.arange(len(y)), test_size=0.3, stratify=y, random_state=0
    )
    if n_per_class is None:
        return train_idx, test_idx
    if (
        not isinstance(n_per_class, numbers.Integral)
        or isinstance(n_per_class, bool)
        or n_per_class < 1
    ):
        raise ValueError(
            f"n_per_class must be a positive int or None, got {n_per_class!r}."
        )
    rng = np.random.default_rng(seed)
    parts = []
    for c in np.unique(y):
        pool = train_idx[y[train_idx] == c]
        if len(pool) < n_per_class:
            raise ValueError(
                f"Class {c!r} has only {len(pool)} training rows; cannot draw "
                f"n_per_class={n_per_class}."
            )
        parts.append(rng.choice(pool, n_per_class, replace=False))
    return np.concatenate(parts), test_idx


def load_sms_spam(data_home=None):
    """Load the UCI SMS Spam Collection.

    Each line reads ``label<TAB>text`` with label ``ham`` or ``spam``.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder holding ``sms_spam/SMSSpamCollection.gz``; see
        :func:`get_data_home`.

    Returns
    -------
    bunch : sklearn.utils.Bunch
        With keys ``data`` (list of 5,574 messages), ``target`` (int ndarray,
        1 = spam) and ``DESCR``.

    Raises
    ------
    FileNotFoundError
        If the file is missing.
    ValueError
        If a line does not read ``ham<TAB>text`` or ``spam<TAB>text``.

    Examples
    --------
    >>> from sk_mtl.datasets import load_sms_spam
    >>> sms = load_sms_spam("/data/sk_mtl")  # doctest: +SKIP
    >>> len(sms.data), int(sms.target.sum())  # doctest: +SKIP
    (5574, 747)
    """
    path = _data_file(data_home, "sms_spam", "SMSSpamCollection.gz")
    data, target = [], []
    for lineno, line in enumerate(_read_text_lines(path, "utf-8"), start=1):
        if not line.strip():
            continue
        label, tab, text = line.partition("\t")
        if not tab or label not in ("ham", "spam"):
            raise ValueError(
                f"{path}, line {lineno}: expected 'ham<TAB>text' or "
                f"'spam<TAB>text', got {line[:60]!r}."
            )
        data.append(text)
        target.append(label == "spam")
    return Bunch(
        data=data, target=np.array(target, dtype=np.int64), DESCR=_DESCR["sms_spam"]
    )


# ---------------------------------------------------------------------------
# Imbalanced binary
# ---------------------------------------------------------------------------

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
    >>> from sk_mtl.datasets import load_imbalanced, imbalanced_split
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
    >>> from sk_mtl.datasets import imbalanced_split
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
