"""CART classification tree written with NumPy only.

Every node sorts each candidate feature once and scores all split positions at once from
cumulative class counts, so there is no Python loop over thresholds. The fitted tree is kept
as flat arrays, as scikit-learn keeps it, and prediction walks all samples down it together,
one level per step.
"""

from dataclasses import dataclass
from numbers import Integral

import numpy as np
from scipy.special import xlogy
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, RealNotInt, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

# Same markers as scikit-learn's Tree: a leaf has no children and no split feature.
TREE_LEAF = -1
TREE_UNDEFINED = -2


@dataclass
class Tree:
    """A fitted tree as flat arrays indexed by node id; node 0 is the root.

    Attributes
    ----------
    children_left, children_right : ndarray of shape (node_count,)
        Ids of a node's children, ``TREE_LEAF`` (-1) for leaves.
    feature : ndarray of shape (node_count,)
        Feature a node splits on, ``TREE_UNDEFINED`` (-2) for leaves.
    threshold : ndarray of shape (node_count,)
        Samples with ``x[feature] <= threshold`` go left; ``TREE_UNDEFINED`` for leaves.
    value : ndarray of shape (node_count, n_classes)
        Fraction of the node's training samples in each class.
    impurity : ndarray of shape (node_count,)
        Gini index or entropy (in bits, as scikit-learn reports it) of the node.
    n_node_samples : ndarray of shape (node_count,)
        Number of training samples that reach the node.
    max_depth : int
        Depth of the deepest leaf; a lone root has depth 0.
    """

    children_left: np.ndarray
    children_right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    value: np.ndarray
    impurity: np.ndarray
    n_node_samples: np.ndarray
    max_depth: int

    @property
    def node_count(self):
        """Number of nodes, leaves included."""
        return self.feature.shape[0]

    def apply(self, X):
        """Id of the leaf each row of ``X`` (a float array) lands in."""
        node = np.zeros(X.shape[0], dtype=np.intp)
        rows = np.arange(X.shape[0])
        for _ in range(self.max_depth):
            split_feature = self.feature[node]
            internal = split_feature >= 0
            if not internal.any():
                break
            # Leaves index column 0 harmlessly; np.where below keeps them where they are.
            goes_left = X[rows, np.maximum(split_feature, 0)] <= self.threshold[node]
            child = np.where(goes_left, self.children_left[node], self.children_right[node])
            node = np.where(internal, child, node)
        return node

    def feature_importances(self, n_features):
        """Total weighted impurity decrease per feature, normalised to sum to one."""
        internal = np.flatnonzero(self.feature >= 0)
        left, right = self.children_left[internal], self.children_right[internal]
        weighted = self.n_node_samples * self.impurity
        decrease = weighted[internal] - weighted[left] - weighted[right]
        importances = np.bincount(
            self.feature[internal], weights=decrease, minlength=n_features
        ).astype(np.float64)
        total = importances.sum()
        return importances / total if total > 0 else importances


class DecisionTreeClassifier(ClassifierMixin, BaseEstimator):
    """CART decision tree classifier with vectorised split search.

    At each node the candidate features are sorted once and the impurity of every split
    position follows from cumulative class counts. Thresholds lie midway between
    consecutive distinct values; samples with ``x <= threshold`` go left.

    Parameters
    ----------
    criterion : {"gini", "entropy"}, default="gini"
        Impurity that a split minimises (weighted by child size).
    max_depth : int or None, default=None
        Maximum depth of the tree; ``None`` grows until leaves are pure or too small.
    min_samples_split : int, default=2
        Minimum number of samples a node needs to be split.
    min_samples_leaf : int, default=1
        Minimum number of samples in each child of a split.
    max_features : int, float, {"sqrt", "log2"} or None, default=None
        Number of features drawn at random at each node: an int is a count, a float a
        fraction of ``n_features``, ``"sqrt"`` and ``"log2"`` functions of it, ``None`` all.
        If none of the drawn features can split the node, the rest are tried as well.
    random_state : int, RandomState instance or None, default=None
        Seed for the order in which features are searched at each node. With
        ``max_features`` set it decides which features are drawn; otherwise it only decides
        between splits that are exactly equally good.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, sorted.
    n_classes_ : int
        Number of classes.
    n_features_in_ : int
        Number of features seen during ``fit``.
    max_features_ : int
        Number of features drawn at each node.
    tree_ : Tree
        The fitted tree as flat arrays.
    feature_importances_ : ndarray of shape (n_features,)
        Impurity decrease brought by each feature, normalised to sum to one (all zero for a
        tree that is a single leaf).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from unseen.ml.manual import DecisionTreeClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> tree = DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y)
    >>> tree.get_depth(), tree.get_n_leaves()
    (2, 3)
    >>> float(round(tree.score(X, y), 3))
    0.96
    >>> tree.feature_importances_.round(3)
    array([0.   , 0.   , 0.562, 0.438])
    """

    _parameter_constraints: dict = {
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
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        criterion="gini",
        max_depth=None,
        min_samples_split=2,
        min_samples_leaf=1,
        max_features=None,
        random_state=None,
    ):
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Grow the tree on training data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : DecisionTreeClassifier
            The fitted estimator.
        """
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, y_encoded = np.unique(y, return_inverse=True)
        self.n_classes_ = self.classes_.size
        self.max_features_ = _resolve_max_features(self.max_features, X.shape[1])
        grower = _TreeGrower(
            criterion=self.criterion,
            max_depth=np.inf if self.max_depth is None else self.max_depth,
            min_samples_split=self.min_samples_split,
            min_samples_leaf=self.min_samples_leaf,
            max_features=self.max_features_,
            random_state=check_random_state(self.random_state),
        )
        self.tree_ = grower.grow(X, y_encoded, self.n_classes_)
        self.feature_importances_ = self.tree_.feature_importances(X.shape[1])
        return self

    def apply(self, X):
        """Id of the leaf each sample lands in.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to route.

        Returns
        -------
        leaves : ndarray of shape (n_samples,)
            Node ids into the arrays of ``tree_``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self.tree_.apply(X)

    def predict_proba(self, X):
        """Class probabilities: the class fractions of the leaf each sample lands in.

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
        leaves = self.apply(X)
        return self.tree_.value[leaves]

    def predict(self, X):
        """Majority class of the leaf each sample lands in.

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

    def get_depth(self):
        """Depth of the tree: the longest root-to-leaf path, 0 for a lone root.

        Returns
        -------
        depth : int
        """
        check_is_fitted(self)
        return self.tree_.max_depth

    def get_n_leaves(self):
        """Number of leaves.

        Returns
        -------
        n_leaves : int
        """
        check_is_fitted(self)
        return int(np.count_nonzero(self.tree_.children_left == TREE_LEAF))


def _resolve_max_features(max_features, n_features):
    """Number of features to draw per node, from the ``max_features`` parameter."""
    if max_features is None:
        return n_features
    if max_features == "sqrt":
        return max(1, int(np.sqrt(n_features)))
    if max_features == "log2":
        return max(1, int(np.log2(n_features)))
    if isinstance(max_features, Integral):
        if max_features > n_features:
            raise ValueError(
                f"max_features={max_features} is larger than the number of features "
                f"({n_features}); expected an int in [1, {n_features}]."
            )
        return int(max_features)
    return max(1, int(max_features * n_features))


class _TreeGrower:
    """Grows one tree depth first, numbering nodes in pre-order as scikit-learn does."""

    def __init__(
        self, *, criterion, max_depth, min_samples_split, min_samples_leaf, max_features,
        random_state,
    ):
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.random_state = random_state

    def grow(self, X, y, n_classes):
        """Grow a tree on float features ``X`` and labels ``y`` encoded as 0..n_classes-1."""
        features_by_row = np.ascontiguousarray(X.T)
        # Small label dtypes let NumPy's stable sort use radix sort.
        y = y.astype(np.uint8 if n_classes <= np.iinfo(np.uint8).max else np.int32)
        nodes = {name: [] for name in ("left", "right", "feature", "threshold")}
        class_counts = []
        depth_reached = 0
        # Each entry: the node's sample indices, its depth, and (parent id, is-left) to link.
        stack = [(np.arange(X.shape[0]), 0, None, False)]
        while stack:
            samples, depth, parent, is_left = stack.pop()
            node_id = len(class_counts)
            if parent is not None:
                nodes["left" if is_left else "right"][parent] = node_id
            depth_reached = max(depth_reached, depth)

            counts = np.bincount(y[samples], minlength=n_classes)
            class_counts.append(counts)
            nodes["left"].append(TREE_LEAF)
            nodes["right"].append(TREE_LEAF)
            nodes["feature"].append(TREE_UNDEFINED)
            nodes["threshold"].append(float(TREE_UNDEFINED))

            splittable = (
                depth < self.max_depth
                and samples.size >= self.min_samples_split
                and samples.size >= 2 * self.min_samples_leaf
                and np.count_nonzero(counts) > 1
            )
            split = self._find_split(features_by_row, y, samples, counts) if splittable else None
            if split is None:
                continue
            feature, threshold = split
            nodes["feature"][node_id] = feature
            nodes["threshold"][node_id] = threshold
            goes_left = features_by_row[feature, samples] <= threshold
            # Push right first so the left subtree is numbered (and grown) first.
            stack.append((samples[~goes_left], depth + 1, node_id, False))
            stack.append((samples[goes_left], depth + 1, node_id, True))

        class_counts = np.array(class_counts, dtype=np.float64)
        n_node_samples = class_counts.sum(axis=1)
        fractions = class_counts / n_node_samples[:, np.newaxis]
        return Tree(
            children_left=np.array(nodes["left"], dtype=np.intp),
            children_right=np.array(nodes["right"], dtype=np.intp),
            feature=np.array(nodes["feature"], dtype=np.intp),
            threshold=np.array(nodes["threshold"], dtype=np.float64),
            value=fractions,
            impurity=_impurity(fractions, self.criterion),
            n_node_samples=n_node_samples.astype(np.intp),
            max_depth=int(depth_reached),
        )

    def _find_split(self, features_by_row, y, samples, class_counts):
        """Best ``(feature, threshold)`` for the node holding ``samples``, or ``None``.

        Features are visited in a fresh random order at every node, even when all of them
        are candidates, so that equally good splits on different features are chosen
        between at random (as scikit-learn does) rather than always by the lowest index.
        """
        order = self.random_state.permutation(features_by_row.shape[0])
        # As in scikit-learn, keep looking past max_features when the drawn features are all
        # constant in this node, so a splittable node is never made a leaf by bad luck.
        for candidates in (order[: self.max_features], order[self.max_features :]):
            if candidates.size == 0:
                break
            split = _best_split(
                features_by_row, y, samples, class_counts, candidates, self.criterion,
                self.min_samples_leaf,
            )
            if split is not None:
                return split
        return None


def _impurity(fractions, criterion):
    """Gini index or entropy (bits) of each row of class fractions."""
    if criterion == "gini":
        return 1.0 - np.sum(fractions**2, axis=1)
    return -np.sum(xlogy(fractions, fractions), axis=1) / np.log(2)


def _best_split(features_by_row, y, samples, class_counts, features, criterion,
                min_samples_leaf):
    """Score every split position of every candidate feature at once.

    Sorting a feature puts the node's samples in threshold order, and split position ``i``
    sends the first ``i + 1`` of them left. Minimising the children's size-weighted impurity
    ``n_L * I(L) + n_R * I(R)`` is the same as maximising a proxy built from the children's
    class counts ``L_k`` and ``R_k`` (terms constant in the node dropped):

    * Gini: ``sum_k L_k^2 / n_L + sum_k R_k^2 / n_R``
    * entropy: ``sum_k L_k log L_k + sum_k R_k log R_k - n_L log n_L - n_R log n_R``
      (the base of the logarithm does not change the ranking, so natural logs serve)

    The left counts are cumulative class counts along the sorted order. Rather than
    materialise all ``n_classes`` of them per position, note that moving one sample of
    class ``c`` left changes ``sum_k g(L_k)`` by ``g(r + 1) - g(r)`` and ``sum_k g(R_k)`` by
    ``g(T_c - r - 1) - g(T_c - r)``, where ``r`` is how many samples of class ``c`` precede it
    and ``T_c`` is the node's count of ``c``. Both sums are therefore cumulative sums of
    per-sample steps that depend only on the class and ``r``; a stable sort of the labels
    groups each class in threshold order, which is where ``r`` can be read off.

    ``features_by_row`` is the training data transposed (one row per feature), so each
    feature's samples are contiguous. ``class_counts`` are the node's counts per class.
    Returns the best ``(feature, threshold)`` or ``None`` when no position separates two
    distinct values while leaving ``min_samples_leaf`` samples on each side.
    """
    n_samples = samples.size
    # Position i puts the first i + 1 sorted samples left; min_samples_leaf bounds i.
    first, last = min_samples_leaf - 1, n_samples - min_samples_leaf
    if last <= first:
        return None
    values = features_by_row[features[:, np.newaxis], samples]
    # Deep in a tree many features are constant within the node (digits' blank border
    # pixels everywhere); dropping them first saves sorting them.
    varying = values.max(axis=1) > values.min(axis=1)
    if not varying.any():
        return None
    if not varying.all():
        features, values = features[varying], values[varying]
    # Flat indices address row r, column c of a (n_candidates, n_samples) block as
    # r * n_samples + c, which is cheaper than take_along_axis for many small nodes.
    row_starts = (np.arange(features.size) * n_samples)[:, np.newaxis]
    order = np.argsort(values, axis=1)
    sorted_values = values.ravel()[order + row_starts]
    distinct = sorted_values[:, first + 1 : last + 1] > sorted_values[:, first:last]
    if not distinct.any():
        return None

    # In class-grouped order the class and the rank r of every sample are the same for
    # every feature, so the steps are computed once and scattered to threshold order.
    class_sizes = np.repeat(class_counts, class_counts).astype(np.float64)
    rank = np.arange(n_samples) - np.repeat(np.cumsum(class_counts) - class_counts, class_counts)
    grouped = np.argsort(y[samples][order], axis=1, kind="stable")
    threshold_position = (grouped + row_starts).ravel()
    n_left = np.arange(first + 1, last + 1, dtype=np.float64)
    n_right = n_samples - n_left
    if criterion == "gini":
        left_step, right_step = 2.0 * rank + 1.0, 2.0 * (rank - class_sizes) + 1.0
        right_start = float(np.sum(class_counts.astype(np.float64) ** 2))
    else:
        left_step = xlogy(rank + 1.0, rank + 1.0) - xlogy(rank, rank)
        right_step = xlogy(class_sizes - rank - 1.0, class_sizes - rank - 1.0) - xlogy(
            class_sizes - rank, class_sizes - rank
        )
        right_start = float(np.sum(xlogy(class_counts, class_counts)))
    left_sum = _cumulative_steps(left_step, threshold_position, values.shape)[:, first:last]
    right_sum = _cumulative_steps(right_step, threshold_position, values.shape)[:, first:last]
    right_sum += right_start
    if criterion == "gini":
        proxy = left_sum / n_left + right_sum / n_right
    else:
        proxy = left_sum + right_sum - xlogy(n_left, n_left) - xlogy(n_right, n_right)

    proxy[~distinct] = -np.inf
    column, position = np.unravel_index(np.argmax(proxy), proxy.shape)
    lower = sorted_values[column, first + position]
    upper = sorted_values[column, first + position + 1]
    threshold = lower / 2.0 + upper / 2.0
    if threshold >= upper:
        # The midpoint of two adjacent floats can round up to the upper one.
        threshold = lower
    return int(features[column]), float(threshold)


def _cumulative_steps(steps, threshold_position, shape):
    """Place class-grouped ``steps`` at their samples' threshold positions and accumulate."""
    placed = np.empty(shape)
    placed.ravel()[threshold_position] = np.tile(steps, shape[0])
    return np.cumsum(placed, axis=1)
