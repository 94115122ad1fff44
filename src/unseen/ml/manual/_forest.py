"""Random forest built on the hand-written CART tree."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, RealNotInt, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from unseen.ml.manual._tree import DecisionTreeClassifier

_MAX_SEED = np.iinfo(np.int32).max


class RandomForestClassifier(ClassifierMixin, BaseEstimator):
    """Random forest of hand-written CART trees.

    Each tree is grown on a bootstrap sample (drawn with replacement, as many rows as the
    training set) and considers ``max_features`` random features at each node. The forest's
    probabilities are the mean of its trees'.

    Parameters
    ----------
    n_estimators : int, default=100
        Number of trees.
    criterion : {"gini", "entropy"}, default="gini"
        Impurity each tree's splits minimise.
    max_depth : int or None, default=None
        Maximum depth of each tree; ``None`` grows until leaves are pure or too small.
    min_samples_split : int, default=2
        Minimum number of samples a node needs to be split.
    min_samples_leaf : int, default=1
        Minimum number of samples in each child of a split.
    max_features : int, float, {"sqrt", "log2"} or None, default="sqrt"
        Features drawn at each node; see :class:`DecisionTreeClassifier`.
    bootstrap : bool, default=True
        Grow each tree on a bootstrap sample; if ``False`` every tree sees all rows and only
        the feature draws differ.
    random_state : int, RandomState instance or None, default=None
        Seed for the bootstrap samples and the trees' feature draws.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, sorted.
    n_classes_ : int
        Number of classes.
    n_features_in_ : int
        Number of features seen during ``fit``.
    estimators_ : list of DecisionTreeClassifier
        The fitted trees. They were trained on labels encoded as ``0..n_classes_-1``, so a
        tree's ``classes_`` are indices into the forest's ``classes_``.
    feature_importances_ : ndarray of shape (n_features,)
        Mean of the trees' impurity-based importances, normalised to sum to one.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from unseen.ml.manual import RandomForestClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> forest = RandomForestClassifier(n_estimators=20, random_state=0).fit(X, y)
    >>> len(forest.estimators_)
    20
    >>> float(round(forest.score(X, y), 2))
    1.0
    >>> float(forest.feature_importances_.sum())
    1.0
    """

    _parameter_constraints: dict = {
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "criterion": [StrOptions({"gini", "entropy"})],
        "max_depth": [Interval(Integral, 1, None, closed="left"), None],
        "min_samples_split": [Interval(Integral, 2, None, closed="left")],
        "min_samples_leaf": [Interval(Integral, 1, None, closed="left")],
        "max_features": [
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="right"),
            StrOptions({"sqrt", "log2"}),
            None,
        ],
        "bootstrap": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        n_estimators=100,
        criterion="gini",
        max_depth=None,
        min_samples_split=2,
        min_samples_leaf=1,
        max_features="sqrt",
        bootstrap=True,
        random_state=None,
    ):
        self.n_estimators = n_estimators
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.bootstrap = bootstrap
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Grow the forest on training data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : RandomForestClassifier
            The fitted estimator.
        """
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, y_encoded = np.unique(y, return_inverse=True)
        self.n_classes_ = self.classes_.size
        n_samples = X.shape[0]

        rng = check_random_state(self.random_state)
        seeds = rng.randint(_MAX_SEED, size=self.n_estimators)
        self.estimators_ = []
        for seed in seeds:
            tree = DecisionTreeClassifier(
                criterion=self.criterion,
                max_depth=self.max_depth,
                min_samples_split=self.min_samples_split,
                min_samples_leaf=self.min_samples_leaf,
                max_features=self.max_features,
                random_state=seed,
            )
            if self.bootstrap:
                rows = np.random.RandomState(seed).randint(0, n_samples, size=n_samples)
                tree.fit(X[rows], y_encoded[rows])
            else:
                tree.fit(X, y_encoded)
            self.estimators_.append(tree)

        # As scikit-learn does, a tree that is a single leaf has no importances to average.
        importances = [
            tree.feature_importances_ for tree in self.estimators_ if tree.tree_.node_count > 1
        ]
        if importances:
            mean_importance = np.mean(importances, axis=0)
            self.feature_importances_ = mean_importance / mean_importance.sum()
        else:
            self.feature_importances_ = np.zeros(X.shape[1])
        return self

    def predict_proba(self, X):
        """Class probabilities averaged over the trees.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to score.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probability of each class in ``classes_``; rows sum to one.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        proba = np.zeros((X.shape[0], self.n_classes_))
        for tree in self.estimators_:
            # A bootstrap sample can miss a class; the tree's classes_ say which columns it has.
            proba[:, tree.classes_] += tree.tree_.value[tree.tree_.apply(X)]
        return proba / len(self.estimators_)

    def predict(self, X):
        """Class with the highest mean probability.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to classify.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Predicted labels from ``classes_``.
        """
        check_is_fitted(self)
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]
