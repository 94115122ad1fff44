"""L2-penalised logistic regression fitted by Newton's method, written with NumPy only.

The objective is scikit-learn's, divided by ``C * n_samples`` so that the gradient tolerance
means the same thing as in its ``lbfgs`` solver::

    mean_i(log_loss_i) + ||W||^2 / (2 * C * n_samples)

The intercept is not penalised. Two classes are fitted by iteratively reweighted least
squares (exact Newton steps, the Hessian solved by Cholesky). More classes use the
multinomial (softmax) model; its Hessian has ``n_classes * (n_features + 1)`` rows, too many
to form for data such as digits, so each Newton step is solved approximately by conjugate
gradient from Hessian-vector products (truncated Newton). Both solvers take their step with
a backtracking line search that enforces Armijo's sufficient-decrease condition.
"""

import warnings
from numbers import Integral, Real

import numpy as np
from scipy import linalg
from scipy.special import expit, log_expit
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

# Armijo's constant: accept a step that achieves this fraction of the decrease the gradient
# promises. The usual textbook value; a step is halved until it holds.
_ARMIJO_C = 1e-4
_MIN_STEP = 1e-10


class LogisticRegression(ClassifierMixin, BaseEstimator):
    """Logistic regression with an L2 penalty, solved by Newton's method.

    Binary problems are solved by iteratively reweighted least squares; multi-class
    problems fit the multinomial (softmax) model by truncated Newton (conjugate gradient on
    Hessian-vector products). Every step goes through a backtracking Armijo line search.
    At equal ``C`` the solution is the one scikit-learn's ``lbfgs`` solver approaches.

    Parameters
    ----------
    C : float, default=1.0
        Inverse of the L2 penalty strength, as in scikit-learn: the penalty is
        ``||coef||^2 / 2`` against ``C`` times the summed log loss. Must be positive.
    fit_intercept : bool, default=True
        Whether to learn an (unpenalised) intercept.
    tol : float, default=1e-4
        Stop once the largest absolute entry of the gradient of the averaged objective is at
        most ``tol``.
    max_iter : int, default=100
        Maximum number of Newton iterations. Reaching it emits a ``ConvergenceWarning``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, sorted.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Coefficients; one row for a binary problem (for ``classes_[1]``), else one row per
        class.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts, zero when ``fit_intercept=False``.
    n_iter_ : ndarray of shape (1,)
        Number of iterations run; each evaluates the gradient and, unless it is already
        within ``tol``, takes one Newton step.
    n_features_in_ : int
        Number of features seen during ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from unseen.ml.manual import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3))
    >>> y = (X[:, 0] - 2 * X[:, 1] + rng.normal(scale=0.5, size=200) > 0).astype(int)
    >>> model = LogisticRegression(C=1.0).fit(X, y)
    >>> model.classes_
    array([0, 1])
    >>> float(round(model.score(X, y), 2))
    0.93
    >>> model.predict_proba(X[:2]).sum(axis=1)
    array([1., 1.])
    """

    _parameter_constraints: dict = {
        "C": [Interval(Real, 0, None, closed="neither")],
        "fit_intercept": ["boolean"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, *, C=1.0, fit_intercept=True, tol=1e-4, max_iter=100):
        self.C = C
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the model to training data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : LogisticRegression
            The fitted estimator.
        """
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, y_encoded = np.unique(y, return_inverse=True)
        if self.classes_.size < 2:
            raise ValueError(
                "LogisticRegression needs samples of at least 2 classes in the data, but the "
                f"data contains only one class: {self.classes_[0]}."
            )

        n_samples, n_features = X.shape
        design = np.hstack([X, np.ones((n_samples, 1))]) if self.fit_intercept else X
        # Penalise every coefficient but the intercept, which is the design's last column.
        penalty = np.full(design.shape[1], 1.0 / (self.C * n_samples))
        if self.fit_intercept:
            penalty[-1] = 0.0

        if self.classes_.size == 2:
            theta, n_iter, converged = _fit_binary(
                design, y_encoded, penalty, self.tol, self.max_iter
            )
            theta = theta[:, np.newaxis]
        else:
            targets = np.eye(self.classes_.size)[y_encoded]
            theta, n_iter, converged = _fit_multinomial(
                design, targets, penalty, self.tol, self.max_iter
            )

        if not converged:
            warnings.warn(
                f"LogisticRegression did not converge in max_iter={self.max_iter} Newton "
                "iterations; increase max_iter or scale the features.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.coef_ = np.ascontiguousarray(theta[:n_features].T)
        self.intercept_ = theta[n_features] if self.fit_intercept else np.zeros(theta.shape[1])
        self.n_iter_ = np.array([n_iter])
        return self

    def decision_function(self, X):
        """Linear scores, before the logistic or softmax link.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For a binary problem the log-odds of ``classes_[1]``, else one score per class.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        scores = X @ self.coef_.T + self.intercept_
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict_proba(self, X):
        """Class probabilities.

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
        scores = self.decision_function(X)
        if scores.ndim == 1:
            positive = expit(scores)
            return np.column_stack([1.0 - positive, positive])
        return np.exp(scores - _row_logsumexp(scores)[:, np.newaxis])

    def predict(self, X):
        """Most probable class.

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
        scores = self.decision_function(X)
        best = (scores > 0).astype(np.intp) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_[best]


def _fit_binary(design, y, penalty, tol, max_iter):
    """Minimise the averaged binary log loss plus penalty by Newton's method (IRLS).

    ``y`` holds 0/1 labels. Returns the parameter vector (coefficients then intercept), the
    number of iterations run and whether the gradient tolerance was met.
    """
    n_samples = design.shape[0]

    def objective(theta):
        scores = design @ theta
        # log(1 + exp(s)) - y * s written as -log(sigmoid(+-s)): stable for any |s|.
        loss = -np.mean(np.where(y == 1, log_expit(scores), log_expit(-scores)))
        return loss + 0.5 * np.dot(penalty * theta, theta), scores

    theta = np.zeros(design.shape[1])
    value, scores = objective(theta)
    for n_iter in range(1, max_iter + 1):
        proba = expit(scores)
        gradient = design.T @ (proba - y) / n_samples + penalty * theta
        if np.max(np.abs(gradient)) <= tol:
            return theta, n_iter, True
        weights = proba * (1.0 - proba) / n_samples
        hessian = (design.T * weights) @ design
        hessian[np.diag_indices_from(hessian)] += penalty
        direction = -_solve_positive(hessian, gradient)
        theta, value, scores, moved = _armijo_step(objective, theta, value, gradient, direction)
        if not moved:
            # No representable step decreases the objective: the optimum is reached to
            # floating-point precision, even if the gradient is not within tol.
            return theta, n_iter, True
    return theta, max_iter, False


def _fit_multinomial(design, targets, penalty, tol, max_iter):
    """Minimise the averaged softmax log loss plus penalty by truncated Newton.

    ``targets`` is the one-hot label matrix. Parameters are a ``(n_columns, n_classes)``
    matrix, one column per class. Returns it, the number of iterations run and whether the
    gradient tolerance was met.
    """
    n_samples = design.shape[0]
    penalty = penalty[:, np.newaxis]
    design_t = np.ascontiguousarray(design.T)

    def objective(theta):
        scores = design @ theta
        log_norm = _row_logsumexp(scores)
        loss = np.mean(log_norm - np.sum(targets * scores, axis=1))
        return loss + 0.5 * np.sum(penalty * theta**2), (scores, log_norm)

    theta = np.zeros((design.shape[1], targets.shape[1]))
    value, (scores, log_norm) = objective(theta)
    for n_iter in range(1, max_iter + 1):
        proba = np.exp(scores - log_norm[:, np.newaxis])
        gradient = design_t @ (proba - targets) / n_samples + penalty * theta
        gradient_norm = np.max(np.abs(gradient))
        if gradient_norm <= tol:
            return theta, n_iter, True

        def hessian_times(direction, proba=proba):
            # H v for the softmax loss: X^T (P * (Xv) - P * rowsum(P * Xv)) / n + penalty * v.
            moved = design @ direction
            weighted = proba * moved
            weighted -= proba * weighted.sum(axis=1, keepdims=True)
            return design_t @ weighted / n_samples + penalty * direction

        # Forcing sequence min(0.5, sqrt(|g|)) (Nocedal and Wright, Numerical Optimization,
        # section 7.1): solve loosely far from the optimum and tightly near it, which keeps
        # superlinear convergence at low cost. Below tol / 2 the quadratic model's gradient
        # at the new point is as small as the stopping test asks; solving further is wasted.
        forcing = min(0.5, np.sqrt(gradient_norm))
        residual_tol = max(forcing * np.sqrt(np.sum(gradient**2)), 0.5 * tol)
        direction = _conjugate_gradient(hessian_times, -gradient, residual_tol)
        theta, value, (scores, log_norm), moved = _armijo_step(
            objective, theta, value, gradient, direction
        )
        if not moved:
            return theta, n_iter, True  # converged to floating-point precision, as above
    return theta, max_iter, False


def _row_logsumexp(scores):
    """``log(sum(exp(scores), axis=1))`` without overflow: shift each row by its maximum."""
    row_max = scores.max(axis=1)
    return row_max + np.log(np.exp(scores - row_max[:, np.newaxis]).sum(axis=1))


def _solve_positive(matrix, rhs):
    """Solve ``matrix @ x = rhs`` for a symmetric positive (semi-)definite matrix."""
    try:
        return linalg.cho_solve(linalg.cho_factor(matrix, check_finite=False), rhs)
    except linalg.LinAlgError:
        # Only singular when nothing is penalised and the data are degenerate; the
        # least-squares solution still points downhill.
        return linalg.lstsq(matrix, rhs, check_finite=False)[0]


def _conjugate_gradient(operator, rhs, residual_tol, max_iter=250):
    """Approximately solve ``operator(x) = rhs`` by conjugate gradient.

    Stops once the residual's Euclidean norm is at most ``residual_tol``, or when a direction
    shows no positive curvature (the iterate so far is still a descent direction).
    """
    solution = np.zeros_like(rhs)
    residual = rhs.copy()
    search = residual.copy()
    residual_sq = np.sum(residual**2)
    for _ in range(max_iter):
        applied = operator(search)
        curvature = np.sum(search * applied)
        if curvature <= 1e-14 * np.sum(search**2):
            break
        step = residual_sq / curvature
        solution += step * search
        residual -= step * applied
        new_residual_sq = np.sum(residual**2)
        if new_residual_sq <= residual_tol**2:
            break
        search = residual + (new_residual_sq / residual_sq) * search
        residual_sq = new_residual_sq
    if not np.any(solution):
        return rhs
    return solution


def _armijo_step(objective, theta, value, gradient, direction):
    """Backtrack along ``direction`` until the Armijo sufficient-decrease condition holds.

    Returns the new parameters, objective value, the objective's auxiliary output and whether
    a step was taken (``False`` once no step of at least ``_MIN_STEP`` decreases the
    objective, which happens only at the limit of floating-point precision).
    """
    slope = np.sum(gradient * direction)
    step = 1.0
    while step >= _MIN_STEP:
        candidate = theta + step * direction
        candidate_value, auxiliary = objective(candidate)
        if candidate_value <= value + _ARMIJO_C * step * slope:
            return candidate, candidate_value, auxiliary, True
        step *= 0.5
    return theta, value, objective(theta)[1], False
