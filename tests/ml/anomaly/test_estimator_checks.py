"""scikit-learn's own estimator checks for both detectors: every check it yields for an outlier detector runs and
passes. (Per-window scores are ``anomaly_score(X)``, so ``score`` keeps scikit-learn's meaning.)"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from unseen.ml.anomaly import IsolationForestDetector, OneClassSVMDetector

# Twenty trees keep the ~45 checks fast; what they check does not depend on the size of the forest.
@parametrize_with_checks(
    [IsolationForestDetector(n_estimators=20, random_state=0), OneClassSVMDetector(random_state=0)],
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
