import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_mtl import MultiTaskClassifier, make_task_scorer


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 4))
    Y = pd.DataFrame(
        {
            "income": (X[:, 0] > 0).astype(int),
            "colour": np.array(["r", "g", "b"])[np.digitize(X[:, 1], [-0.4, 0.4])],
        }
    )
    clf = MultiTaskClassifier(hidden_units=(16,), max_epochs=20, random_state=0)
    return clf.fit(X, Y), X, Y


def test_scorer_for_one_task_by_name_or_index(fitted):
    clf, X, Y = fitted
    by_name = make_task_scorer(
        roc_auc_score, task="income", response_method="predict_proba"
    )
    by_index = make_task_scorer(roc_auc_score, task=0, response_method="predict_proba")
    expected = roc_auc_score(Y["income"], clf.predict_proba(X)[0][:, 1])
    assert by_name(clf, X, Y) == pytest.approx(expected)
    assert by_index(clf, X, Y) == pytest.approx(expected)


def test_mean_over_tasks_and_missing_labels_skipped(fitted):
    clf, X, Y = fitted
    Y_missing = Y.astype(object)
    Y_missing.loc[:40, "colour"] = None
    scorer = make_task_scorer(accuracy_score)
    pred = clf.predict(X)
    expected = np.mean(
        [
            accuracy_score(Y["income"], pred[:, 0].astype(int)),
            accuracy_score(Y["colour"][41:], pred[41:, 1].astype(str)),
        ]
    )
    assert scorer(clf, X, Y_missing) == pytest.approx(expected)


def test_multiclass_proba_and_losses(fitted):
    clf, X, Y = fitted
    scorer = make_task_scorer(
        log_loss,
        task="colour",
        response_method="predict_proba",
        greater_is_better=False,
        labels=clf.classes_[1],
    )
    expected = -log_loss(Y["colour"], clf.predict_proba(X)[1], labels=clf.classes_[1])
    assert scorer(clf, X, Y) == pytest.approx(expected)


def test_scorer_errors(fitted):
    clf, X, Y = fitted
    with pytest.raises(ValueError, match="Unknown task 'age'"):
        make_task_scorer(accuracy_score, task="age")(clf, X, Y)
    with pytest.raises(ValueError, match="out of range"):
        make_task_scorer(accuracy_score, task=5)(clf, X, Y)
    with pytest.raises(ValueError, match="response_method"):
        make_task_scorer(accuracy_score, response_method="decision_function")
    with pytest.raises(TypeError, match="callable"):
        make_task_scorer(42)
    with pytest.raises(ValueError, match="not an sklearn scoring name"):
        make_task_scorer("accurasy")


@pytest.fixture(scope="module")
def fitted_pipeline():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 3))
    Y = pd.DataFrame({"a": (X[:, 0] > 0).astype(int), "b": (X[:, 1] > 0).astype(int)})
    pipe = make_pipeline(
        StandardScaler(), MultiTaskClassifier(max_epochs=5, random_state=0)
    )
    return pipe.fit(X, Y), X, Y


def test_task_name_scorer_works_on_a_pipeline(fitted_pipeline):
    # A Pipeline has no task_names_: the task is looked up in y's columns.
    pipe, X, Y = fitted_pipeline
    by_name = make_task_scorer(roc_auc_score, task="b", response_method="predict_proba")
    by_index = make_task_scorer(roc_auc_score, task=1, response_method="predict_proba")
    expected = roc_auc_score(Y["b"], pipe.predict_proba(X)[1][:, 1])
    assert by_name(pipe, X, Y) == pytest.approx(expected)
    assert by_index(pipe, X, Y) == pytest.approx(expected)


def test_unknown_task_name_on_a_pipeline_is_a_clear_error(fitted_pipeline):
    pipe, X, Y = fitted_pipeline
    scorer = make_task_scorer(roc_auc_score, task="c", response_method="predict_proba")
    with pytest.raises(ValueError, match="Unknown task 'c'"):
        scorer(pipe, X, Y)


@pytest.mark.parametrize("scoring", ["roc_auc", "accuracy", "neg_log_loss"])
def test_label_typo_names_the_label_the_task_and_its_classes(fitted, scoring):
    clf, X, Y = fitted
    typo = Y.astype(object)
    typo.loc[3, "colour"] = "gren"
    typo.loc[5, "colour"] = "gren"
    typo.loc[6, "colour"] = "blu"
    message = (
        r"task 'colour'\) has labels 'gren', 'blu' that the fitted model\(s\) do not "
        r"predict; the classes of task 'colour' are \['b', 'g', 'r'\]"
    )
    with pytest.raises(ValueError, match=message):
        make_task_scorer(scoring)(clf, X, typo)
    with pytest.raises(ValueError, match=message):
        clf.score(X, typo)
    # The other task still scores: only the task with the typo is checked.
    assert np.isfinite(make_task_scorer(scoring, task="income")(clf, X, typo))


def test_label_typo_is_found_through_a_pipeline(fitted_pipeline):
    pipe, X, Y = fitted_pipeline
    typo = Y.astype(object)
    typo.iloc[0, 0] = 7
    with pytest.raises(ValueError, match="has label 7 that"):
        make_task_scorer("accuracy")(pipe, X, typo)
