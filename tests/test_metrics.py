import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_mtl import MultiTaskClassifier, make_task_scorer


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
