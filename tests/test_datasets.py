"""Tests of benchmarks.datasets on tiny files written in the real formats.

The loaders are benchmark infrastructure, not part of the installed package; the
tests import them from the repository root (``python -m pytest``). The real data
folder is never read here.
"""

import gzip
import re

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from benchmarks import datasets
from benchmarks.datasets import _tabular

pd = pytest.importorskip("pandas")


def write_gz(path, text, encoding="utf-8"):
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb") as f:
        f.write(text.encode(encoding))


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv(datasets.DATA_HOME_ENV_VAR, raising=False)


# ---------------------------------------------------------------------------
# get_data_home and missing files
# ---------------------------------------------------------------------------


def test_get_data_home_argument_env_and_fallback(tmp_path, monkeypatch):
    explicit = tmp_path / "explicit"
    explicit.mkdir()
    assert datasets.get_data_home(explicit) == explicit.resolve()
    assert datasets.get_data_home(str(explicit)) == explicit.resolve()

    from_env = tmp_path / "from_env"
    from_env.mkdir()
    monkeypatch.setenv("SK_MTL_DATA", str(from_env))
    assert datasets.get_data_home() == from_env.resolve()
    # The argument wins over the environment variable.
    assert datasets.get_data_home(explicit) == explicit.resolve()

    monkeypatch.delenv("SK_MTL_DATA")
    (tmp_path / "shared" / "data").mkdir(parents=True)
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    assert datasets.get_data_home() == (tmp_path / "shared" / "data").resolve()


def test_get_data_home_errors(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="SK_MTL_DATA.*is not set"):
        datasets.get_data_home()
    with pytest.raises(FileNotFoundError, match="data_home argument.*SK_MTL_DATA"):
        datasets.get_data_home(tmp_path / "nope")
    monkeypatch.setenv("SK_MTL_DATA", str(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match="SK_MTL_DATA environment variable"):
        datasets.get_data_home()


@pytest.mark.parametrize(
    "load, relpath",
    [
        (datasets.load_census_income, "census_income_kdd/census-income.test.gz"),
        (datasets.load_trec, "trec/train_5500.label.gz"),
        (lambda h: datasets.load_sentence_polarity("mr", h), "rt-polarity.pos.gz"),
        (lambda h: datasets.load_imbalanced("mammography", h), "mammography.csv.gz"),
    ],
)
def test_missing_file_names_path_and_env_var(tmp_path, load, relpath):
    with pytest.raises(FileNotFoundError) as info:
        load(tmp_path)
    message = str(info.value)
    assert str(tmp_path) in message and relpath in message
    assert "SK_MTL_DATA" in message


# ---------------------------------------------------------------------------
# Census-Income (KDD)
# ---------------------------------------------------------------------------

CENSUS_EDU = {
    "bach": "Bachelors degree(BA AB BS)",
    "some": "Some college but no degree",
    "hs": "High school graduate",
    "child": "Children",
}


def census_row(age, education, marital, income, hisp="All other", weight=1000.5):
    values = dict.fromkeys(_tabular._CENSUS_COLUMNS, "Not in universe")
    values.update(
        age=age,
        det_ind_code=33,
        det_occ_code=2,
        education=education,
        wage_per_hour=0,
        marital_stat=marital,
        hisp_origin=hisp,
        sex="Female",
        capital_gains=0,
        capital_losses=0,
        stock_dividends=10,
        instance_weight=weight,
        mig_chg_msa="?",
        num_emp=2,
        own_or_self=0,
        vet_benefits=2,
        weeks_worked=52,
        year=95,
        income_50k=income,
    )
    return ", ".join(str(values[c]) for c in _tabular._CENSUS_COLUMNS)


@pytest.fixture
def census_home(tmp_path):
    rows = [
        census_row(38, CENSUS_EDU["hs"], "Married-civilian spouse present", "- 50000."),
        census_row(44, CENSUS_EDU["bach"], "Never married", "50000+.", hisp="NA"),
        census_row(9, CENSUS_EDU["child"], "Never married", "- 50000."),
        census_row(52, CENSUS_EDU["some"], "Divorced", "50000+.", weight=3.25),
    ]
    write_gz(
        tmp_path / "census_income_kdd" / "census-income.test.gz", "\n".join(rows) + "\n"
    )
    return tmp_path


def test_census_income_parsing_and_tasks(census_home):
    census = datasets.load_census_income(census_home)
    assert census.task_names == ["income", "marital"]
    assert list(census.target.columns) == ["income", "marital"]
    assert census.target["income"].tolist() == [0, 1, 0, 1]
    assert census.target["marital"].tolist() == [0, 1, 1, 0]
    assert census.target.dtypes.eq(np.int64).all()

    data = census.data
    assert data.shape == (4, 39)
    for dropped in ("marital_stat", "income_50k", "instance_weight"):
        assert dropped not in data.columns
    assert "education" in data.columns
    assert census.numeric_columns == list(_tabular._CENSUS_NUMERIC)
    assert set(census.categorical_columns) | set(census.numeric_columns) == set(
        data.columns
    )
    assert census.feature_names == list(data.columns)
    # Values lose their leading space; "NA" and "?" are categories, not NaN.
    assert data["hisp_origin"].tolist() == ["All other", "NA", "All other", "All other"]
    assert data["mig_chg_msa"].eq("?").all()
    assert not data.isna().any().any()
    assert data["age"].tolist() == [38, 44, 9, 52]
    # Numeric codes are categorical.
    assert isinstance(data["det_ind_code"].dtype, pd.CategoricalDtype)
    assert "det_ind_code" in census.categorical_columns
    np.testing.assert_allclose(census.instance_weight, [1000.5, 1000.5, 1000.5, 3.25])
    assert "Census-Income" in census.DESCR


def test_census_income_education_task_and_numpy_output(census_home):
    census = datasets.load_census_income(
        census_home, tasks=("education", "income"), as_frame=False
    )
    assert census.task_names == ["education", "income"]
    # Some college and Bachelors count as "at least college"; children do not.
    np.testing.assert_array_equal(census.target, [[0, 0], [1, 1], [0, 0], [1, 1]])
    assert census.data.shape == (4, 38)
    assert "education" not in census.feature_names
    assert "marital_stat" not in census.feature_names


def test_census_income_bad_input(census_home, tmp_path):
    with pytest.raises(ValueError, match="'income', 'marital', 'education'"):
        datasets.load_census_income(census_home, tasks=("income", "age"))
    with pytest.raises(ValueError, match="empty"):
        datasets.load_census_income(census_home, tasks=())
    with pytest.raises(ValueError, match="duplicates"):
        datasets.load_census_income(census_home, tasks=("income", "income"))

    bad = tmp_path / "bad"
    write_gz(bad / "census_income_kdd" / "census-income.test.gz", "1, 2, 3\n4, 5, 6\n")
    with pytest.raises(ValueError, match="expected 42 comma-separated columns"):
        datasets.load_census_income(bad)
    row = census_row(38, CENSUS_EDU["hs"], "Never married", "maybe")
    write_gz(bad / "census_income_kdd" / "census-income.test.gz", row + "\n")
    with pytest.raises(ValueError, match="'income_50k' has unexpected values"):
        datasets.load_census_income(bad)


def test_census_income_split_protocol():
    y = np.array([1] * 10 + [0] * 90)
    train, val, test = datasets.census_income_split(y, seed=3)
    assert (len(train), len(val), len(test)) == (60, 20, 20)
    assert np.bincount(y[train]).tolist() == [54, 6]
    assert np.bincount(y[val]).tolist() == [18, 2]
    assert np.bincount(y[test]).tolist() == [18, 2]
    everything = np.concatenate([train, val, test])
    np.testing.assert_array_equal(np.sort(everything), np.arange(100))

    trval, ref_test = train_test_split(
        np.arange(100), test_size=0.2, stratify=y, random_state=3
    )
    ref_train, ref_val = train_test_split(
        trval, test_size=0.25, stratify=y[trval], random_state=3
    )
    np.testing.assert_array_equal(train, ref_train)
    np.testing.assert_array_equal(val, ref_val)
    np.testing.assert_array_equal(test, ref_test)

    again = datasets.census_income_split(list(y), seed=3)
    for a, b in zip(again, (train, val, test)):
        np.testing.assert_array_equal(a, b)
    other = datasets.census_income_split(y, seed=4)
    assert not np.array_equal(other[2], test)
    with pytest.raises(TypeError, match="seed"):
        datasets.census_income_split(y, seed=0.5)


# ---------------------------------------------------------------------------
# TREC
# ---------------------------------------------------------------------------


def test_trec_parsing(tmp_path):
    train = (
        "DESC:manner How did serfdom develop in and then leave Russia ?\n"
        "ENTY:cremat What films featured the character Popeye Doyle ?\n"
        "HUM:ind Who was Caf\xe9 Society 's star ?\n"
    )
    test = "NUM:dist How far is it from Denver to Aspen ?\r\n\n"
    write_gz(tmp_path / "trec" / "train_5500.label.gz", train, "latin-1")
    write_gz(tmp_path / "trec" / "TREC_10.label.gz", test, "latin-1")
    trec = datasets.load_trec(tmp_path)
    assert trec.data_train[2] == "Who was Caf\xe9 Society 's star ?"
    assert trec.target_train["coarse"].tolist() == ["DESC", "ENTY", "HUM"]
    assert trec.target_train["fine"].tolist() == [
        "DESC:manner",
        "ENTY:cremat",
        "HUM:ind",
    ]
    assert trec.data_test == ["How far is it from Denver to Aspen ?"]
    assert trec.target_test.to_dict("list") == {"coarse": ["NUM"], "fine": ["NUM:dist"]}
    assert trec.task_names == ["coarse", "fine"]

    write_gz(tmp_path / "trec" / "TREC_10.label.gz", "NUM How far ?\n")
    with pytest.raises(ValueError, match="line 1: expected 'COARSE:fine question'"):
        datasets.load_trec(tmp_path)


# ---------------------------------------------------------------------------
# Sentence polarity and the few-shot protocol
# ---------------------------------------------------------------------------


def test_sentence_polarity_order_blank_lines_and_encoding(tmp_path):
    folder = tmp_path / "sentence_polarity"
    # "\x85" is a line break for str.splitlines but is text in these latin-1 files.
    write_gz(
        folder / "custrev.pos.gz", "great phone .\n\n  it\x85s fine . \n", "latin-1"
    )
    write_gz(folder / "custrev.neg.gz", "battery died .\n \n", "latin-1")
    cr = datasets.load_sentence_polarity("cr", tmp_path)
    assert cr.data == ["great phone .", "it\x85s fine .", "battery died ."]
    np.testing.assert_array_equal(cr.target, [1, 1, 0])

    write_gz(folder / "subj.subjective.gz", "i loved it .\n")
    write_gz(
        folder / "subj.objective.gz", "the film is set in 1950 .\nit runs 90 min .\n"
    )
    subj = datasets.load_sentence_polarity("subj", tmp_path)
    assert subj.data[0] == "i loved it ."
    np.testing.assert_array_equal(subj.target, [1, 0, 0])

    with pytest.raises(ValueError, match="'cr', 'mr', 'subj'"):
        datasets.load_sentence_polarity("sst2", tmp_path)


def test_few_shot_split_protocol():
    y = np.array([1] * 30 + [0] * 20)
    train, test = datasets.few_shot_split(y, n_per_class=4, seed=7)
    ref_train, ref_test = train_test_split(
        np.arange(50), test_size=0.3, stratify=y, random_state=0
    )
    np.testing.assert_array_equal(test, ref_test)
    rng = np.random.default_rng(7)
    expected = [
        rng.choice(ref_train[y[ref_train] == c], 4, replace=False) for c in (0, 1)
    ]
    np.testing.assert_array_equal(train, np.concatenate(expected))
    assert y[train].tolist() == [0] * 4 + [1] * 4
    assert not set(train) & set(test)

    # The test split does not move with the seed; the sample does.
    train2, test2 = datasets.few_shot_split(y, n_per_class=4, seed=8)
    np.testing.assert_array_equal(test2, test)
    assert not np.array_equal(train2, train)
    again, _ = datasets.few_shot_split(y, n_per_class=4, seed=7)
    np.testing.assert_array_equal(again, train)

    full, test3 = datasets.few_shot_split(y, n_per_class=None, seed=0)
    np.testing.assert_array_equal(full, ref_train)
    np.testing.assert_array_equal(test3, ref_test)

    with pytest.raises(ValueError, match="has only 14 training rows"):
        datasets.few_shot_split(y, n_per_class=15, seed=0)
    with pytest.raises(ValueError, match="positive int or None"):
        datasets.few_shot_split(y, n_per_class=0, seed=0)


# ---------------------------------------------------------------------------
# Imbalanced sets and their split protocol
# ---------------------------------------------------------------------------


def test_imbalanced_minority_mapping(tmp_path):
    folder = tmp_path / "imbalanced"
    write_gz(
        folder / "mammography.csv.gz", "0,1,target\n0.5,1.0,-1\n0.1,2.0,1\n0.3,3.0,-1\n"
    )
    mammo = datasets.load_imbalanced("mammography", tmp_path)
    np.testing.assert_array_equal(mammo.target, [0, 1, 0])
    assert mammo.data.dtype == np.float64 and mammo.data.shape == (3, 2)
    assert mammo.feature_names == ["0", "1"]
    assert mammo.minority_label == "1"

    # Minority decided by count, not by value: here 1 is the majority.
    write_gz(folder / "satimage.csv.gz", "a,target\n1,1\n2,1\n3,-1\n")
    np.testing.assert_array_equal(
        datasets.load_imbalanced("satimage", tmp_path).target, [0, 0, 1]
    )
    write_gz(folder / "ozone_level.csv.gz", "V1,Class\n1.0,b'1'\n2.0,b'2'\n3.0,b'1'\n")
    ozone = datasets.load_imbalanced("ozone_level", tmp_path)
    np.testing.assert_array_equal(ozone.target, [0, 1, 0])
    assert ozone.minority_label == "2"

    write_gz(folder / "letter_img.csv.gz", "a,target\n1,1\n2,-1\n")
    with pytest.raises(ValueError, match="minority"):
        datasets.load_imbalanced("letter_img", tmp_path)
    with pytest.raises(ValueError, match="'mammography'.*'ozone_level'"):
        datasets.load_imbalanced("iris", tmp_path)


def test_imbalanced_one_hot_and_missing_values(tmp_path):
    folder = tmp_path / "imbalanced"
    abalone = "Sex,Length,Class\nM,0.455,0\nF,0.53,0\nI,0.33,1\nM,0.44,0\n"
    write_gz(folder / "abalone_19.csv.gz", abalone)
    bunch = datasets.load_imbalanced("abalone_19", tmp_path)
    assert bunch.feature_names == ["Sex=F", "Sex=I", "Sex=M", "Length"]
    assert bunch.categorical_columns == ["Sex"]
    np.testing.assert_array_equal(
        bunch.data[:, :3], [[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]]
    )
    np.testing.assert_array_equal(bunch.target, [0, 0, 1, 0])

    thyroid = (
        "age,sex,on_thyroxine,TSH,TBG,referral_source,Class\n"
        "41.0,b'F',b'f',1.3,,b'SVHC',b'negative'\n"
        ",b'?',b't',,,b'other',b'sick'\n"
        "70.0,b'M',b'f',0.7,,b'other',b'negative'\n"
    )
    write_gz(folder / "thyroid_disease.csv.gz", thyroid)
    bunch = datasets.load_imbalanced("thyroid_disease", tmp_path)
    assert bunch.feature_names == [
        "age",
        "sex=F",
        "sex=M",
        "on_thyroxine=f",
        "on_thyroxine=t",
        "TSH",
        "TBG",
        "referral_source=SVHC",
        "referral_source=other",
    ]
    assert bunch.minority_label == "sick"
    np.testing.assert_array_equal(bunch.target, [0, 1, 0])
    row = bunch.data[1]
    assert np.isnan(row[0]) and np.isnan(row[5]) and np.isnan(bunch.data[:, 6]).all()
    # A missing category ("?") gives all zeros.
    np.testing.assert_array_equal(row[[1, 2, 3, 4, 7, 8]], [0, 0, 0, 1, 0, 1])


def test_imbalanced_constants():
    assert set(datasets.IMBALANCED_BENCHMARK) <= set(datasets.IMBALANCED_DATASETS)
    assert datasets.IMBALANCED_BENCHMARK == (
        "mammography",
        "letter_img",
        "satimage",
        "abalone_19",
        "ozone_level",
    )


def test_imbalanced_split_protocol():
    y = np.array([0] * 90 + [1] * 10)
    train, test, y_clean = datasets.imbalanced_split(y, seed=2)
    ref_train, ref_test = train_test_split(
        np.arange(100), test_size=0.3, stratify=y, random_state=2
    )
    np.testing.assert_array_equal(train, ref_train)
    np.testing.assert_array_equal(test, ref_test)
    np.testing.assert_array_equal(y_clean, y[train])
    assert (len(train), len(test), int(y[test].sum())) == (70, 30, 3)

    flipped = {}
    for rate in (0.1, 0.2, 0.25):
        train_r, test_r, y_noisy = datasets.imbalanced_split(y, seed=2, noise_rate=rate)
        np.testing.assert_array_equal(train_r, train)
        np.testing.assert_array_equal(test_r, test)
        flipped[rate] = set(np.flatnonzero(y_noisy != y[train]))
        assert len(flipped[rate]) == round(rate * 70)
    # 0.25 * 70 = 17.5 rounds half to even, as Python's round does.
    assert len(flipped[0.25]) == 18
    perm = np.random.default_rng(2).permutation(70)
    assert flipped[0.1] == set(perm[:7])
    assert flipped[0.1] <= flipped[0.2] <= flipped[0.25]

    again = datasets.imbalanced_split(y, seed=2, noise_rate=0.2)
    np.testing.assert_array_equal(again[2], datasets.imbalanced_split(y, 2, 0.2)[2])

    with pytest.raises(ValueError, match="0/1 labels"):
        datasets.imbalanced_split(np.where(y == 1, 1, -1), seed=0)
    with pytest.raises(
        ValueError, match=re.escape("noise_rate must be a number in [0, 1]")
    ):
        datasets.imbalanced_split(y, seed=0, noise_rate=1.5)
