import pickle

import numpy as np
import pytest
from sklearn import config_context
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.multioutput import MultiOutputClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.validation import validate_data

from sk_mtl.mining._hard_example_mining import HardExampleMiningClassifier


def _data(n_samples=200, seed=0, flip=0.0, class_sep=1.5):
    X, y = make_classification(
        n_samples=n_samples,
        n_features=5,
        n_informative=3,
        n_redundant=0,
        class_sep=class_sep,
        n_clusters_per_class=1,
        flip_y=0.0,
        random_state=seed,
    )
    rng = np.random.default_rng(seed)
    flipped = rng.permutation(n_samples)[: round(flip * n_samples)]
    y_noisy = y.copy()
    y_noisy[flipped] = 1 - y_noisy[flipped]
    return X, y, y_noisy, flipped


class Memorizer(ClassifierMixin, BaseEstimator):
    """Certain about the rows it was trained on, uniform on any other row."""

    def fit(self, X, y, sample_weight=None):
        X, y = validate_data(self, X, y)
        self.classes_ = np.unique(y)
        self.memory_ = {row.tobytes(): label for row, label in zip(X, y)}
        return self

    def predict_proba(self, X):
        X = validate_data(self, X, reset=False)
        proba = np.full((len(X), len(self.classes_)), 1 / len(self.classes_))
        for i, row in enumerate(X):
            if row.tobytes() in self.memory_:
                proba[i] = self.classes_ == self.memory_[row.tobytes()]
        return proba

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


class Recorder(LogisticRegression):
    """LogisticRegression that keeps what its fit received."""

    def fit(self, X, y, sample_weight=None, tag=None):
        if tag is not None:
            assert len(tag) == len(X), "per-sample metadata was not sliced"
        self.fit_sample_weight_ = sample_weight
        self.fit_tag_ = tag
        return super().fit(X, y, sample_weight=sample_weight)


class MaskedMultiOutput(ClassifierMixin, BaseEstimator):
    """One LogisticRegression per task on its labelled rows (NaN = missing)."""

    def fit(self, X, Y, sample_weight=None):
        Y = np.asarray(Y, dtype=float)
        sample_weight = np.ones(len(X)) if sample_weight is None else sample_weight
        self.estimators_ = []
        for t in range(Y.shape[1]):
            rows = ~np.isnan(Y[:, t])
            self.estimators_.append(
                LogisticRegression().fit(
                    X[rows], Y[rows, t], sample_weight=sample_weight[rows]
                )
            )
        self.classes_ = [est.classes_ for est in self.estimators_]
        return self

    def predict_proba(self, X):
        return [est.predict_proba(X) for est in self.estimators_]

    def predict(self, X):
        return np.column_stack([est.predict(X) for est in self.estimators_])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


def test_hardness_is_out_of_fold():
    # Trained on a row, the memorizer is certain of it (in-sample loss 0);
    # out of fold it knows nothing, so every hardness is log(2).
    X, y, _, _ = _data(60)
    hem = HardExampleMiningClassifier(
        Memorizer(), n_rounds=1, noise_handling=None, random_state=0
    ).fit(X, y)
    in_sample = hem.estimator_.predict_proba(X)[np.arange(len(y)), y]
    assert np.all(in_sample == 1.0)
    np.testing.assert_allclose(hem.hardness_, np.log(2))


def test_deep_tree_has_zero_in_sample_loss_but_informative_hardness():
    X, y, y_noisy, flipped = _data(200, flip=0.1)
    hem = HardExampleMiningClassifier(
        DecisionTreeClassifier(), n_rounds=1, random_state=0
    ).fit(X, y_noisy)
    # in sample, the tree fits every (even flipped) label: no loss at all
    assert DecisionTreeClassifier().fit(X, y_noisy).score(X, y_noisy) == 1.0
    is_flipped = np.isin(np.arange(len(y)), flipped)
    # out of fold, the flipped labels are the hard ones
    assert hem.hardness_[is_flipped].mean() > 2 * hem.hardness_[~is_flipped].mean()


@pytest.mark.parametrize("noise_handling", ["downweight", "drop", None])
def test_weights_are_bounded(noise_handling):
    X, _, y_noisy, _ = _data(200, flip=0.1)
    hem = HardExampleMiningClassifier(
        max_weight=2.5, noise_handling=noise_handling, random_state=0
    ).fit(X, y_noisy)
    w = hem.sample_weight_
    assert w.shape == (200,)
    assert np.all(w >= 0) and np.all(w <= 2.5 + 1e-9)
    assert w.max() > 1.5  # hard examples were up-weighted
    if noise_handling == "drop":
        assert np.all(w[hem.noise_mask_] == 0)
    elif noise_handling == "downweight":
        assert np.all(w[hem.noise_mask_] < 1)
    # without noise handling only the easy examples go below 1
    if noise_handling is None:
        assert w.min() > 0


def test_mining_keeps_class_totals_and_max_weight_one_is_noise_only():
    X, _, y_noisy, _ = _data(200, flip=0.1)
    hem = HardExampleMiningClassifier(noise_handling=None, random_state=0)
    hem.fit(X, y_noisy)
    for c in (0, 1):
        total = hem.sample_weight_[y_noisy == c].sum()
        np.testing.assert_allclose(total, (y_noisy == c).sum())
    hem.set_params(max_weight=1.0, noise_handling="drop").fit(X, y_noisy)
    np.testing.assert_array_equal(hem.sample_weight_, (~hem.noise_mask_).astype(float))


def test_flipped_labels_are_flagged():
    X, _, y_noisy, flipped = _data(400, flip=0.1, class_sep=2.0)
    hem = HardExampleMiningClassifier(random_state=0).fit(X, y_noisy)
    is_flipped = np.isin(np.arange(len(y_noisy)), flipped)
    flagged = hem.noise_mask_
    precision = (flagged & is_flipped).sum() / flagged.sum()
    recall = (flagged & is_flipped).sum() / is_flipped.sum()
    assert precision > 0.7
    assert recall > 0.5
    # the flagged examples are the hardest ones, and they were not up-weighted
    assert hem.hardness_[flagged].min() > np.median(hem.hardness_)
    assert hem.sample_weight_[flagged].max() < 1


@pytest.mark.parametrize(
    "estimator", [LogisticRegression(), DecisionTreeClassifier(min_samples_leaf=3)]
)
def test_not_worse_than_the_estimator_with_15_percent_flipped_labels(estimator):
    scores = {"alone": [], "mined": []}
    for seed in range(3):
        X, y, y_noisy, _ = _data(600, seed=seed, flip=0.15, class_sep=1.0)
        X_train, X_test = X[:400], X[400:]
        y_train, y_test = y_noisy[:400], y[400:]  # clean test labels
        est = clone(estimator).set_params(random_state=seed)
        scores["alone"].append(est.fit(X_train, y_train).score(X_test, y_test))
        hem = HardExampleMiningClassifier(clone(est), random_state=seed)
        scores["mined"].append(hem.fit(X_train, y_train).score(X_test, y_test))
    assert np.mean(scores["mined"]) >= np.mean(scores["alone"]) - 0.005


def test_estimator_without_sample_weight_raises():
    X, y, _, _ = _data(50)
    hem = HardExampleMiningClassifier(KNeighborsClassifier())
    with pytest.raises(TypeError, match="sample_weight"):
        hem.fit(X, y)


def test_user_sample_weight_is_multiplied_without_routing():
    X, y, _, _ = _data(100)
    user = np.where(np.arange(100) < 50, 2.0, 1.0)
    base = HardExampleMiningClassifier(
        Recorder(), max_weight=1.0, noise_handling=None, random_state=0
    )
    hem = clone(base).fit(X, y, sample_weight=user)
    np.testing.assert_allclose(hem.sample_weight_, user)
    np.testing.assert_allclose(hem.estimator_.fit_sample_weight_, user)
    # extra fit params need routing
    with pytest.raises(ValueError, match="enable_metadata_routing"):
        clone(base).fit(X, y, tag=np.arange(100))


def test_metadata_routing():
    X, y, _, _ = _data(100)
    user = np.where(np.arange(100) < 50, 2.0, 1.0)
    tag = np.arange(100)
    with config_context(enable_metadata_routing=True):
        inner = Recorder().set_fit_request(sample_weight=True, tag=True)
        hem = HardExampleMiningClassifier(inner, random_state=0)
        hem.fit(X, y, sample_weight=user, tag=tag)
        # mined weights times the user's weights reach the final estimator
        np.testing.assert_allclose(
            hem.estimator_.fit_sample_weight_, hem.sample_weight_
        )
        mined = hem.sample_weight_ / user
        assert not np.allclose(mined, 1.0)
        np.testing.assert_array_equal(hem.estimator_.fit_tag_, tag)

        # a parent routes sample_weight to the miner once it is requested
        search = GridSearchCV(
            HardExampleMiningClassifier(
                Recorder().set_fit_request(sample_weight=True), n_rounds=1, cv=3
            )
            .set_fit_request(sample_weight=True)
            .set_score_request(sample_weight=False),
            {"max_weight": [1.0, 2.0]},
            cv=2,
        )
        search.fit(X, y, sample_weight=user)
        assert search.best_estimator_.sample_weight_.shape == (100,)

        # an unrequested fit param is an error, as everywhere in sklearn
        with pytest.raises(Exception, match="tag"):
            HardExampleMiningClassifier(Recorder(), random_state=0).fit(X, y, tag=tag)


def test_available_if_follows_the_inner_estimator():
    X, y, _, _ = _data(60)
    lr = HardExampleMiningClassifier(LogisticRegression(), n_rounds=1)
    svm = HardExampleMiningClassifier(LinearSVC(), n_rounds=1)
    assert hasattr(lr, "predict_proba") and hasattr(lr, "predict_log_proba")
    assert not hasattr(svm, "predict_proba")
    assert not hasattr(svm, "predict_log_proba")
    assert hasattr(svm, "decision_function")
    svm.fit(X, y)  # scored through decision_function
    assert svm.decision_function(X).shape == (60,)
    assert np.isfinite(svm.hardness_).all()
    tree = HardExampleMiningClassifier(DecisionTreeClassifier(), n_rounds=1)
    assert not hasattr(tree, "decision_function")


def test_grid_search_over_inner_and_own_parameters():
    X, y, _, _ = _data(120)
    search = GridSearchCV(
        HardExampleMiningClassifier(
            LogisticRegression(), n_rounds=1, cv=3, random_state=0
        ),
        {"estimator__C": [0.01, 1.0], "max_weight": [1.0, 3.0]},
        cv=3,
    ).fit(X, y)
    assert search.best_params_["estimator__C"] in (0.01, 1.0)
    assert search.best_estimator_.estimator_.C == search.best_params_["estimator__C"]


def test_pipelines_and_dataframes():
    pd = pytest.importorskip("pandas")
    X, y, _, _ = _data(120)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    # a pipeline inside the miner gets the DataFrame as it is
    hem = HardExampleMiningClassifier(
        make_pipeline(StandardScaler(), LogisticRegression()), n_rounds=1
    ).fit(frame, y)
    assert list(hem.feature_names_in_) == list(frame.columns)
    assert hem.n_features_in_ == 5
    assert hem.predict(frame).shape == (120,)
    # the miner inside a pipeline, cross-validated
    scores = cross_val_score(
        make_pipeline(StandardScaler(), HardExampleMiningClassifier(n_rounds=1)),
        frame,
        y,
        cv=3,
    )
    assert scores.mean() > 0.7


def test_pickle_round_trip():
    X, y, _, _ = _data(100)
    hem = HardExampleMiningClassifier(n_rounds=2, random_state=0).fit(X, y)
    clone_ = pickle.loads(pickle.dumps(hem))
    np.testing.assert_array_equal(clone_.predict_proba(X), hem.predict_proba(X))
    np.testing.assert_array_equal(clone_.hardness_, hem.hardness_)


def test_same_random_state_same_result():
    X, _, y_noisy, _ = _data(150, flip=0.1)
    # a randomised inner estimator left unseeded is seeded by the miner
    inner = DecisionTreeClassifier(max_features=2, max_depth=4)
    a = HardExampleMiningClassifier(inner, random_state=3).fit(X, y_noisy)
    b = HardExampleMiningClassifier(inner, random_state=3).fit(X, y_noisy)
    np.testing.assert_array_equal(a.sample_weight_, b.sample_weight_)
    np.testing.assert_array_equal(a.hardness_, b.hardness_)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert inner.random_state is None  # the user's estimator is left alone
    c = HardExampleMiningClassifier(inner, random_state=4).fit(X, y_noisy)
    assert not np.array_equal(a.hardness_, c.hardness_)


def test_zero_weight_rows_are_left_out_of_the_folds():
    X, y, _, _ = _data(100)
    weight = np.ones(100)
    weight[::10] = 0
    keep = weight > 0
    hem = HardExampleMiningClassifier(random_state=0)
    full = clone(hem).fit(X, y, sample_weight=weight)
    part = clone(hem).fit(X[keep], y[keep])
    np.testing.assert_allclose(full.sample_weight_[keep], part.sample_weight_)
    assert np.all(full.sample_weight_[~keep] == 0)
    assert np.isfinite(full.hardness_).all()  # zero-weight rows are still scored


def test_margin_hardness():
    X, y, _, _ = _data(100)
    hem = HardExampleMiningClassifier(hardness="margin", random_state=0).fit(X, y)
    assert np.all((hem.hardness_ >= 0) & (hem.hardness_ <= 1))
    wrong = hem.hardness_ > 0.5
    assert 0 < wrong.sum() < 30  # the examples the OOF models misclassify


def test_multiclass():
    X, y = make_classification(
        n_samples=150, n_classes=3, n_informative=4, random_state=0
    )
    hem = HardExampleMiningClassifier(random_state=0).fit(X, y)
    assert hem.predict_proba(X).shape == (150, 3)
    assert len(hem.history_[-1]["thresholds"][0]) == 3


def test_multi_output():
    X, y, _, _ = _data(150)
    y2 = (X[:, 1] + 0.5 * X[:, 2] > 0).astype(int)
    Y = np.column_stack([y, y2])
    hem = HardExampleMiningClassifier(
        MultiOutputClassifier(LogisticRegression()), random_state=0
    ).fit(X, Y)
    assert hem.predict(X).shape == (150, 2)
    proba = hem.predict_proba(X)
    assert isinstance(proba, list) and [p.shape for p in proba] == [(150, 2)] * 2
    assert hem.noise_mask_.shape == (150, 2)
    assert len(hem.classes_) == 2
    assert np.isfinite(hem.hardness_).all()


def test_multi_output_skips_missing_labels_in_the_loss():
    X, y, _, _ = _data(150)
    y2 = (X[:, 1] + 0.5 * X[:, 2] > 0).astype(float)
    Y = np.column_stack([y.astype(float), y2])
    missing = np.arange(150) % 3 == 0
    Y[missing, 1] = np.nan
    params = dict(n_rounds=1, noise_handling=None, random_state=0)
    both = HardExampleMiningClassifier(MaskedMultiOutput(), **params).fit(X, Y)
    first = HardExampleMiningClassifier(LogisticRegression(), **params).fit(X, y)
    # same folds (stratified on task 0), same first-task models: rows without
    # a second label carry only the first task's loss, the others both.
    np.testing.assert_allclose(both.hardness_[missing], first.hardness_[missing])
    assert np.all(both.hardness_[~missing] > first.hardness_[~missing])
    assert not both.noise_mask_[missing, 1].any()
    # a row with no label at all has no hardness
    Y[0] = np.nan
    none = HardExampleMiningClassifier(MaskedMultiOutput(), **params).fit(X, Y)
    assert np.isnan(none.hardness_[0]) and np.isfinite(none.hardness_[1:]).all()


@pytest.mark.parametrize(
    "params, match",
    [
        ({"hardness": "focal"}, "hardness"),
        ({"max_weight": 0.5}, "max_weight"),
        ({"hard_fraction": 0.0}, "hard_fraction"),
        ({"n_rounds": 0}, "n_rounds"),
    ],
)
def test_invalid_parameters(params, match):
    X, y, _, _ = _data(40)
    with pytest.raises(ValueError, match=match):
        HardExampleMiningClassifier(**params).fit(X, y)


def test_too_few_samples_for_the_folds():
    X, y, _, _ = _data(40)
    rows = np.r_[np.flatnonzero(y == 0)[:2], np.flatnonzero(y == 1)[:2]]
    with pytest.raises(ValueError, match="n_samples=4"):
        HardExampleMiningClassifier(cv=5).fit(X[rows], y[rows])


def test_mines_around_multitask_classifier_with_missing_labels():
    from sk_mtl import MultiTaskClassifier

    rng = np.random.RandomState(0)
    X = rng.normal(size=(150, 4))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0]).astype(float)
    Y[::3, 1] = np.nan
    hem = HardExampleMiningClassifier(
        MultiTaskClassifier(
            hidden_units=(16,), max_epochs=20, batch_size=32, lr=1e-2, random_state=0
        ),
        n_rounds=2,
        cv=3,
        random_state=0,
    ).fit(X, Y)
    assert hem.sample_weight_.shape == (150,)
    assert np.all(np.isfinite(hem.hardness_))
    assert hem.predict(X).shape == (150, 2)
    assert hem.estimator_.score(X, Y) > 0.85


def test_multi_output_estimator_on_a_single_column():
    # a multi-output estimator keeps a (n, 1) y 2-D and gives a list of one
    # array for classes_ and predict_proba
    X, y, _, _ = _data(100)
    hem = HardExampleMiningClassifier(MaskedMultiOutput(), random_state=0)
    hem.fit(X, y.reshape(-1, 1).astype(float))
    assert hem.hardness_.shape == (100,) and np.isfinite(hem.hardness_).all()
    assert hem.predict(X).shape == (100, 1)


def test_pd_na_is_a_missing_label_in_a_multi_output_y():
    pd = pytest.importorskip("pandas")
    from sk_mtl import MultiTaskClassifier

    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 3)).astype(np.float32)
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0]).astype(float)
    Y[::3, 1] = np.nan
    Y[1] = np.nan  # a row without any label
    params = dict(n_rounds=1, cv=3, random_state=0)
    inner = MultiTaskClassifier(max_epochs=5, random_state=0)
    with_nan = HardExampleMiningClassifier(inner, **params).fit(X, Y)

    nullable = pd.DataFrame(Y, columns=["a", "b"]).astype("Int64")  # NaN -> pd.NA
    assert nullable["b"].isna().sum() == 21
    with_na = HardExampleMiningClassifier(inner, **params).fit(X, nullable)
    # pd.NA is missing exactly where NaN was: the same mining, label for label
    np.testing.assert_array_equal(with_na.hardness_, with_nan.hardness_)
    np.testing.assert_array_equal(with_na.noise_mask_, with_nan.noise_mask_)
    np.testing.assert_array_equal(with_na.sample_weight_, with_nan.sample_weight_)
    assert np.isnan(with_na.hardness_[1])
    assert not with_na.noise_mask_[::3, 1].any()
    assert [c.tolist() for c in with_na.classes_] == [[0, 1], [0, 1]]

    # an object column of strings with pd.NA
    strings = nullable.astype(object)
    strings["b"] = np.where(Y[:, 1] == 1, "yes", "no").astype(object)
    strings.loc[np.isnan(Y[:, 1]), "b"] = pd.NA
    with_str = HardExampleMiningClassifier(inner, **params).fit(X, strings)
    assert with_str.classes_[1].tolist() == ["no", "yes"]
    np.testing.assert_array_equal(with_str.hardness_, with_nan.hardness_)
