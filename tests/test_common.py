"""sklearn's own estimator checks over every public estimator."""

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

from sk_mtl import (
    FineTuner,
    HardExampleMiningClassifier,
    MixedTaskEstimator,
    MultiTaskClassifier,
    MultiTaskRegressor,
    TransferClassifier,
)

SAMPLE_WEIGHT_EQUIVALENCE = (
    "Minibatch SGD is not equivalent under integer weights vs repeated rows (or zero "
    "weights vs removed rows): both change the batches and the shuffling order."
)
FITTED_SOURCE_HASH = (
    "The check compares joblib.hash of each parameter after fit with the hash of a "
    "deep copy taken before fit. A fitted source holds torch tensors, which pickle "
    "with their storage's memory address, so a deep copy never hashes equal, "
    "modified or not. test_fine_tuning.py / test_transfer.py assert instead that fit "
    "leaves the source's weights bit-equal and its predictions unchanged."
)

FLOAT32_BATCH_ROUNDING = (
    "The network computes in float32 and the MMoE experts' batched matmul takes "
    "another kernel for another batch size: an output can differ by ~1e-7, which "
    "the regressor's rescaling to the targets' units lifts above the check's "
    "atol=1e-7 (measured: 1 of 20 predictions off by 1.8e-7). Classifiers pass: "
    "softmax compresses the difference."
)


HEM_SAMPLE_WEIGHT_EQUIVALENCE = (
    "An integer sample_weight is not equivalent to repeating rows: repeated rows "
    "fall into different out-of-fold splits, so a copy of an example is scored by "
    "a model that was trained on its twin."
)


def _expected_failed_checks(estimator):
    if isinstance(estimator, HardExampleMiningClassifier):
        return {
            "check_sample_weight_equivalence_on_dense_data": (
                HEM_SAMPLE_WEIGHT_EQUIVALENCE
            ),
            "check_sample_weight_equivalence_on_sparse_data": (
                HEM_SAMPLE_WEIGHT_EQUIVALENCE
            ),
        }
    if isinstance(estimator, MultiTaskClassifier | MultiTaskRegressor):
        failures = {
            "check_sample_weight_equivalence_on_dense_data": SAMPLE_WEIGHT_EQUIVALENCE,
            "check_sample_weight_equivalence_on_sparse_data": SAMPLE_WEIGHT_EQUIVALENCE,
        }
        if (
            isinstance(estimator, MultiTaskRegressor)
            and estimator.architecture == "mmoe"
        ):
            failures["check_methods_subset_invariance"] = FLOAT32_BATCH_ROUNDING
        return failures
    if isinstance(estimator, MixedTaskEstimator):
        # The checks' float targets are regression tasks, their int targets
        # classification tasks ("infer"): both train by minibatch SGD.
        return {
            "check_sample_weight_equivalence_on_dense_data": SAMPLE_WEIGHT_EQUIVALENCE,
            "check_sample_weight_equivalence_on_sparse_data": SAMPLE_WEIGHT_EQUIVALENCE,
        }
    if isinstance(estimator, FineTuner | TransferClassifier):
        return {
            "check_sample_weight_equivalence_on_dense_data": SAMPLE_WEIGHT_EQUIVALENCE,
            "check_sample_weight_equivalence_on_sparse_data": SAMPLE_WEIGHT_EQUIVALENCE,
            "check_estimators_overwrite_params": FITTED_SOURCE_HASH,
        }
    return {}


def _small_source():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] > 0).astype(int)
    return MultiTaskClassifier((8,), max_epochs=3, random_state=0).fit(X, y)


ESTIMATORS = [
    MultiTaskClassifier(random_state=0),
    MultiTaskClassifier(
        architecture="mmoe", task_weighting="uncertainty", random_state=0
    ),
    MultiTaskRegressor(random_state=0),
    MultiTaskRegressor(
        architecture="mmoe", task_weighting="uncertainty", loss="huber", random_state=0
    ),
    MixedTaskEstimator(random_state=0),
    # The checks draw X with 1 to 30 features while a fitted source reads 4, so
    # these instances train a new input layer on a width mismatch
    # (input_mismatch="reinit"); the default, a ValueError, is tested in
    # test_fine_tuning.py and test_transfer.py.
    FineTuner(_small_source(), input_mismatch="reinit", lr=1e-2, random_state=0),
    TransferClassifier(_small_source(), input_mismatch="reinit", random_state=0),
    HardExampleMiningClassifier(LogisticRegression(), n_rounds=2, cv=3, random_state=0),
    HardExampleMiningClassifier(
        MultiTaskClassifier(max_epochs=20, random_state=0),
        n_rounds=2,
        cv=3,
        random_state=0,
    ),
]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
