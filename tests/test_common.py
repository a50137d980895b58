"""sklearn's own estimator checks over every public estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sk_mtl import MultiTaskClassifier

SAMPLE_WEIGHT_EQUIVALENCE = (
    "Minibatch SGD is not equivalent under integer weights vs repeated rows (or zero "
    "weights vs removed rows): both change the batches and the shuffling order."
)


def _expected_failed_checks(estimator):
    if isinstance(estimator, MultiTaskClassifier):
        return {
            "check_sample_weight_equivalence_on_dense_data": SAMPLE_WEIGHT_EQUIVALENCE,
            "check_sample_weight_equivalence_on_sparse_data": SAMPLE_WEIGHT_EQUIVALENCE,
        }
    return {}


ESTIMATORS = [
    MultiTaskClassifier(random_state=0),
    MultiTaskClassifier(
        architecture="mmoe", task_weighting="uncertainty", random_state=0
    ),
]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
