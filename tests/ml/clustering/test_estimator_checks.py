"""scikit-learn's own estimator checks for the transformer and both clusterers; every check is expected to pass."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from unseen.ml.clustering import BehaviourDBSCAN, BehaviourFeatures, BehaviourKMeans


# A short k_range and two initialisations keep the ~45 checks fast; the behaviour checked does not depend on them.
@parametrize_with_checks([
    BehaviourFeatures(),
    BehaviourKMeans(k_range=(2, 3, 4), n_init=2, random_state=0),
    BehaviourDBSCAN(),
])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
