"""sklearn's own estimator checks over every public estimator."""

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

from sk_mtl import (
    FineTuner,
    FineTunerRegressor,
    HardExampleMiningClassifier,
    MergedClassifier,
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
    "The network computes in float32 and a matrix product takes another kernel "
    "for another batch size or row order (the MMoE experts' batched matmul, and "
    "a linear layer's on some weights): an output can differ by ~1e-7, which "
    "the regressor's rescaling to the targets' units lifts above the check's "
    "atol=1e-7 (measured: 1 of 20 predictions off by 1.8e-7). Classifiers pass "
    "the subset check: softmax compresses the difference. Reordering the rows "
    "fails some networks whose first layer reads both views of each column (the "
    "MMoE classifier, and the new input layer of input_mismatch='reinit'), "
    "depending on the permutation the check draws: over 50 permutations of its "
    "20 rows, probabilities off by up to 5.5e-8 (relative 1.4e-6, rtol=1e-7), "
    "FineTunerRegressor's predictions by 1.9e-7. The same networks in float64 "
    "give bit-equal outputs in any order, and the inputs are computed row by "
    "row: rounding, not an order dependence."
)


HEM_SAMPLE_WEIGHT_EQUIVALENCE = (
    "An integer sample_weight is not equivalent to repeating rows: repeated rows "
    "fall into different out-of-fold splits, so a copy of an example is scored by "
    "a model that was trained on its twin."
)


MERGED_MEMBERS_ARE_FITTED = (
    "MergedClassifier merges members that are already fitted (here on 4 features) and "
    "never trains them, like sklearn's FrozenEstimator, which sklearn skips in its own "
    "common checks: the check fits it on X of another width or kind and then predicts "
    "through members that cannot read that X, or expects fit to learn from data it "
    "only uses to weight the members. tests/test_merge.py tests its behaviour."
)
MERGED_DATA_DEPENDENT_CHECKS = (
    "check_all_zero_sample_weights_error",
    "check_classifier_data_not_an_array",
    "check_classifier_multioutput",
    "check_classifiers_classes",
    "check_classifiers_multilabel_output_format_predict",
    "check_classifiers_multilabel_output_format_predict_proba",
    "check_classifiers_multilabel_representation_invariance",
    "check_classifiers_one_label",
    "check_classifiers_one_label_sample_weights",
    "check_classifiers_regression_target",
    "check_classifiers_train",
    "check_complex_data",
    "check_dict_unchanged",
    "check_dtype_object",
    "check_estimator_sparse_array",
    "check_estimator_sparse_matrix",
    "check_estimator_sparse_tag",
    "check_estimators_dtypes",
    "check_estimators_empty_data_messages",
    "check_estimators_nan_inf",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_fit1d",
    "check_fit_idempotent",
    "check_fit_score_takes_y",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_n_features_in",
    "check_pipeline_consistency",
    "check_sample_weight_equivalence_on_dense_data",
    "check_sample_weights_shape",
    "check_supervised_y_2d",
    "check_supervised_y_no_nan",
)


def _expected_failed_checks(estimator):
    if isinstance(estimator, MergedClassifier):
        failed = dict.fromkeys(MERGED_DATA_DEPENDENT_CHECKS, MERGED_MEMBERS_ARE_FITTED)
        failed["check_estimators_overwrite_params"] = FITTED_SOURCE_HASH
        return failed
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
        if isinstance(estimator, MultiTaskRegressor):
            failures["check_methods_subset_invariance"] = FLOAT32_BATCH_ROUNDING
        elif estimator.architecture == "mmoe":
            failures["check_methods_sample_order_invariance"] = FLOAT32_BATCH_ROUNDING
        return failures
    if isinstance(estimator, MixedTaskEstimator):
        # The checks' float targets are regression tasks, their int targets
        # classification tasks ("infer"): both train by minibatch SGD.
        return {
            "check_sample_weight_equivalence_on_dense_data": SAMPLE_WEIGHT_EQUIVALENCE,
            "check_sample_weight_equivalence_on_sparse_data": SAMPLE_WEIGHT_EQUIVALENCE,
        }
    if isinstance(estimator, FineTuner | FineTunerRegressor | TransferClassifier):
        return {
            "check_sample_weight_equivalence_on_dense_data": SAMPLE_WEIGHT_EQUIVALENCE,
            "check_sample_weight_equivalence_on_sparse_data": SAMPLE_WEIGHT_EQUIVALENCE,
            "check_estimators_overwrite_params": FITTED_SOURCE_HASH,
            "check_methods_sample_order_invariance": FLOAT32_BATCH_ROUNDING,
        }
    return {}


def _small_source(random_state=0):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] > 0).astype(int)
    model = MultiTaskClassifier((8,), max_epochs=3, random_state=random_state)
    return model.fit(X, y)


ESTIMATORS = [
    MultiTaskClassifier(random_state=0),
    MultiTaskClassifier(
        architecture="mmoe", task_weighting="uncertainty", random_state=0
    ),
    # Cross-fitted bagging (the checks' X has fewer than 1,000 rows: "auto" fits
    # three members), each member validated on its own fold; the regressor's
    # bagging is MixedTaskEstimator's on the checks' float targets.
    MultiTaskClassifier(n_bags="auto", random_state=0),
    MultiTaskRegressor(random_state=0),
    MultiTaskRegressor(
        architecture="mmoe", task_weighting="uncertainty", loss="huber", random_state=0
    ),
    MixedTaskEstimator(random_state=0),
    MixedTaskEstimator(n_bags=2, random_state=0),
    # class_weight on the checks' int targets (classification tasks) only.
    MixedTaskEstimator(class_weight="balanced", random_state=0),
    # The tabular front-end (quantile scaling, NaN allowed) under TabM-mini.
    MultiTaskClassifier(
        architecture="tabm", n_members=4, numeric_embedding="periodic", random_state=0
    ),
    # The checks draw X with 1 to 30 features while a fitted source reads 4, so
    # these instances train a new input layer on a width mismatch
    # (input_mismatch="reinit"); the default, a ValueError, is tested in
    # test_fine_tuning.py and test_transfer.py.
    FineTuner(_small_source(), input_mismatch="reinit", lr=1e-2, random_state=0),
    FineTunerRegressor(
        _small_source(), input_mismatch="reinit", lr=1e-2, random_state=0
    ),
    TransferClassifier(_small_source(), input_mismatch="reinit", random_state=0),
    # Run for the checks of the sklearn API that apply to a merge of fitted members;
    # the data-dependent ones are expected failures (see MERGED_MEMBERS_ARE_FITTED).
    MergedClassifier([_small_source(0), _small_source(1)], space="weights"),
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
