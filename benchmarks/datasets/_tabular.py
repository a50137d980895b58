"""Census-Income (KDD) as a multi-task tabular set, and its 60/20/20 split."""

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils import Bunch

from ._common import (
    _check_1d,
    _check_choice,
    _check_labels,
    _check_seed,
    _data_file,
    _import_pandas,
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
}


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
    >>> from benchmarks.datasets import load_census_income, census_income_split
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
    >>> from benchmarks.datasets import census_income_split
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
