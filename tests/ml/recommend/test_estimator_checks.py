"""scikit-learn's estimator checks that apply to a recommender.

Recommenders fit on an interactions table (user_id, item_id, weight), not on a feature matrix X, so scikit-learn's
checks that fit on a numeric array do not apply to them. The guarantees those checks stand for (fit returns self,
idempotent fit, pickling, not-fitted errors, clear input errors) are tested on interaction tables in
test_item_knn.py and test_popularity.py. The checks below are the ones that need no feature matrix, and they run.
"""

from functools import partial

import pytest
from sklearn.utils.estimator_checks import estimator_checks_generator

from unseen.ml.recommend import ItemKNNRecommender, PopularityRecommender

APPLICABLE = {
    "check_estimator_cloneable",
    "check_estimator_tags_renamed",
    "check_valid_tag_types",
    "check_estimator_repr",
    "check_no_attributes_set_in_init",
    "check_parameters_default_constructible",
    "check_get_params_invariance",
    "check_set_params",
    "check_do_not_raise_errors_in_init_or_set_params",
    "check_mixin_order",
}


def _name(check) -> str:
    return (check.func if isinstance(check, partial) else check).__name__


CHECKS = [
    pytest.param(estimator, check, id=f"{type(estimator).__name__}-{_name(check)}")
    for base in (ItemKNNRecommender(), PopularityRecommender())
    for estimator, check in estimator_checks_generator(base, legacy=True, mark=None)
    if _name(check) in APPLICABLE
]


def test_every_applicable_check_is_found():
    found = {(c.values[0].__class__.__name__, _name(c.values[1])) for c in CHECKS}
    assert len({name for _, name in found}) >= 8


@pytest.mark.parametrize(("estimator", "check"), CHECKS)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
