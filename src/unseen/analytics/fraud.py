"""Card-fraud models on transaction features: four classifiers and two baselines on one time-ordered split.

**The task** is binary classification of single transactions (fraud or not) with about 0.15% positives. The
models are judged as a fraud team uses them: the last ``test_months`` months are held out, the ``valid_months``
before them choose the alert threshold, and only earlier months train. Nothing is shuffled, so no model ever
learns from a day after the ones it is tested on.

**The models**: the hand-written logistic regression and decision tree of :mod:`unseen.ml.manual`, and
scikit-learn's random forest and histogram gradient boosting. **The baselines**: the positive rate (a constant
score: its average precision *is* the test positive rate) and a rule an analyst would write first, "the amount is
at least three standard deviations above the card's past mean, or the card is on the dark web".

**Imbalance** is handled in training only: every training fraud is kept and the honest majority is undersampled
(``negatives_per_positive``, and at most ``max_train_rows`` rows, which keeps 13M-row data sets to minutes on two
cores); the scikit-learn models also weigh the classes equally (``class_weight``). Both inflate the predicted
probabilities, so the odds are multiplied back by the sampling rate and the weight ratio: the reported
probabilities estimate the real fraud rate, which the expected-cost threshold needs. Validation and test keep
every row.

**Metrics** (:mod:`unseen.analytics._metrics`): average precision, ROC-AUC, recall at 90% precision, and the mean
precision among each day's top ``k`` alerts; thresholds are chosen on validation (the lowest reaching the target
precision, and the one with the least expected cost) and their test outcome is reported beside.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from threadpoolctl import threadpool_limits

from unseen.analytics._explain import (
    forest_path_contributions,
    linear_contributions,
    reasons,
    substitution_contributions,
    tree_path_contributions,
)
from unseen.analytics._metrics import (
    Threshold,
    TimeSplit,
    alert_outcome,
    average_precision,
    precision_at_top_k_per_day,
    recall_at_precision,
    roc_auc,
    threshold_for_cost,
    threshold_for_precision,
    time_split,
)
from unseen.ml.manual import DecisionTreeClassifier as ManualDecisionTree
from unseen.ml.manual import LogisticRegression as ManualLogisticRegression

FRAUD_MODELS: tuple[str, ...] = ("logistic_regression", "decision_tree", "random_forest", "gradient_boosting")
"""The four classifiers :func:`train_fraud_models` fits by default."""
BASELINES: tuple[str, ...] = ("positive_rate", "rule")
MODEL_LABELS = {
    "positive_rate": "baseline: positive rate",
    "rule": "baseline: rule (amount z >= 3 or dark web)",
    "logistic_regression": "logistic regression (hand-written)",
    "decision_tree": "decision tree (hand-written)",
    "random_forest": "random forest (scikit-learn)",
    "gradient_boosting": "histogram gradient boosting (scikit-learn)",
}
KEY_COLUMNS = ("id", "date", "card_id", "amount")
LABEL = "is_fraud"
RULE_ZSCORE = "amount_zscore"
RULE_DARK_WEB = "card_on_dark_web"
RULE_Z = 3.0

ProgressCallback = Callable[[str], None]
"""Told what :func:`train_fraud_models` is doing (``"fitting random_forest on 252,000 rows"``)."""


def rule_score(frame: pd.DataFrame) -> np.ndarray:
    """The analyst's rule as a score: 0 when it does not fire, else 1 + the amount z-score (so that its alerts
    are ranked by how unusual the amount is). Needs ``amount_zscore`` and ``card_on_dark_web``."""
    missing = [c for c in (RULE_ZSCORE, RULE_DARK_WEB) if c not in frame.columns]
    if missing:
        raise ValueError(f"the rule baseline needs column(s) {missing}; the frame has {list(frame.columns)}")
    z = pd.to_numeric(frame[RULE_ZSCORE], errors="coerce").fillna(0.0).to_numpy(np.float64)
    dark = frame[RULE_DARK_WEB].fillna(False).to_numpy().astype(bool)
    fires = (z >= RULE_Z) | dark
    return np.where(fires, 1.0 + np.maximum(z, 0.0), 0.0)


def _signed_log(x: np.ndarray) -> np.ndarray:
    # Amounts, counts and minutes are heavy-tailed; a linear model on them would be led by a few huge values.
    return np.sign(x) * np.log1p(np.abs(x))


@dataclass
class FittedFraudModel:
    """One fitted classifier with what it takes to score and explain rows of the feature columns."""

    name: str
    estimator: Any
    explainer: str
    """``"linear"``, ``"tree"``, ``"forest"`` or ``"substitution"`` (see :mod:`unseen.analytics._explain`)."""
    odds_factor: float
    """The model's odds times this estimate the real odds (undoes undersampling and class weights)."""
    feature_columns: tuple[str, ...]
    fill_values: np.ndarray
    """Training medians: they fill missing values and are the reference of substitution explanations."""
    fit_seconds: float = 0.0
    train_rows: int = 0

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        return _matrix(frame, self.feature_columns, self.fill_values)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Estimated probability of fraud for each row of the feature matrix ``X``."""
        p = np.clip(self.estimator.predict_proba(X)[:, 1], 0.0, 1.0)
        odds = p / np.maximum(1.0 - p, 1e-12) * self.odds_factor
        return odds / (1.0 + odds)

    def score_frame(self, frame: pd.DataFrame, *, chunk_rows: int = 500_000) -> np.ndarray:
        """:meth:`predict_proba` over a feature frame, ``chunk_rows`` rows at a time."""
        out = np.empty(len(frame), dtype=np.float64)
        for start in range(0, len(frame), chunk_rows):
            part = frame.iloc[start:start + chunk_rows]
            out[start:start + len(part)] = self.predict_proba(self.matrix(part))
        return out

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """Per row and feature, how much the feature raised the score (units depend on :attr:`explainer`)."""
        if self.explainer == "linear":
            scale, model = self.estimator[:-1], self.estimator[-1]
            return linear_contributions(model.coef_[0], scale.transform(X))
        if self.explainer == "tree":
            tree = self.estimator.tree_
            return tree_path_contributions(tree.children_left, tree.children_right, tree.feature, tree.threshold,
                                           tree.value[:, 1], X)
        if self.explainer == "forest":
            trees = [(t.tree_.children_left, t.tree_.children_right, t.tree_.feature, t.tree_.threshold,
                      t.tree_.value[:, 0, 1]) for t in self.estimator.estimators_]
            return forest_path_contributions(trees, X)
        return substitution_contributions(self.predict_proba, X, self.fill_values)

    def explain(self, frame: pd.DataFrame, *, top: int = 3) -> list[str]:
        """One line per row of ``frame``: the features that pushed its score up most."""
        X = self.matrix(frame)
        return reasons(self.contributions(X), self.feature_columns, X, top=top)


def _matrix(frame: pd.DataFrame, columns: Sequence[str], fill: np.ndarray | None = None) -> np.ndarray:
    X = np.empty((len(frame), len(columns)), dtype=np.float64)
    for j, column in enumerate(columns):
        X[:, j] = pd.to_numeric(frame[column], errors="coerce").astype("float64").to_numpy(na_value=np.nan)
    if fill is not None:
        missing = np.isnan(X)
        if missing.any():
            X[missing] = np.broadcast_to(fill, X.shape)[missing]
    return X


def make_estimator(name: str, *, class_weight: bool, seed: int, n_jobs: int, params=None):
    """The (unfitted) estimator and explainer for one of :data:`FRAUD_MODELS`; ``params`` override the
    classifier's own hyper-parameters (``{"n_estimators": 50}``)."""
    estimator, explainer = _estimator(name, class_weight=class_weight, seed=seed, n_jobs=n_jobs)
    if params:
        if hasattr(estimator, "steps"):
            last = estimator.steps[-1][0]
            estimator.set_params(**{f"{last}__{key}": value for key, value in params.items()})
        else:
            estimator.set_params(**params)
    return estimator, explainer


def _estimator(name: str, *, class_weight: bool, seed: int, n_jobs: int):
    weight = "balanced" if class_weight else None
    if name == "logistic_regression":
        return make_pipeline(FunctionTransformer(_signed_log), StandardScaler(),
                             ManualLogisticRegression(C=1.0, max_iter=100)), "linear"
    if name == "decision_tree":
        return ManualDecisionTree(max_depth=8, min_samples_leaf=20, random_state=seed), "tree"
    if name == "random_forest":
        return RandomForestClassifier(n_estimators=150, min_samples_leaf=3, max_features="sqrt", max_samples=0.5,
                                      class_weight="balanced_subsample" if class_weight else None,
                                      n_jobs=n_jobs, random_state=seed), "forest"
    if name == "gradient_boosting":
        return HistGradientBoostingClassifier(max_iter=300, learning_rate=0.05, max_leaf_nodes=31,
                                              min_samples_leaf=20, l2_regularization=1.0, early_stopping=False,
                                              class_weight=weight, random_state=seed), "substitution"
    raise ValueError(f"unknown fraud model {name!r}; expected one of {', '.join(FRAUD_MODELS)}")


@dataclass
class FraudReport:
    """Everything :func:`train_fraud_models` learnt and measured."""

    table: pd.DataFrame
    """One row per model and baseline: test AP, ROC-AUC, recall at the target precision, precision among the
    top-k alerts per day, and the test outcome of the thresholds chosen on validation; plus rows and seconds."""
    split: TimeSplit
    periods: pd.DataFrame
    """Rows, time range, frauds and fraud rate of train, valid and test (labelled rows)."""
    scores: pd.DataFrame
    """Test rows: ``id, date, card_id, amount, is_fraud`` and one score column per model and baseline."""
    models: dict[str, FittedFraudModel]
    thresholds: dict[str, dict[str, Threshold]]
    """Per model: ``{"precision": ..., "cost": ...}`` chosen on validation."""
    feature_columns: tuple[str, ...]
    train_sample: dict[str, float]
    """Rows kept for training: ``positives``, ``negatives``, ``negative_rate`` (the undersampling rate)."""
    k: int
    precision: float
    seconds: float
    top_k_ceiling: float = float("nan")
    """Mean precision@k per day of a perfect ranking: days with fewer than k frauds cap it below 1."""
    notes: list[str] = field(default_factory=list)

    @property
    def model_names(self) -> list[str]:
        return [name for name in self.table["model"] if name in self.models]

    def daily_precision(self, name: str) -> pd.Series:
        """Precision among the top ``k`` alerts of each test day for one model or baseline."""
        return precision_at_top_k_per_day(self.scores[LABEL], self.scores[name], self.scores["date"].dt.floor("D"),
                                          self.k)

    def top_alerts(self, name: str, *, per_day: int | None = None, features: pd.DataFrame | None = None,
                   top_reasons: int = 3) -> pd.DataFrame:
        """Each test day's ``per_day`` (default ``k``) highest-scoring transactions under model ``name``, with
        whether they were fraud and, given the feature rows (``features``, indexed like the input by ``id``), a
        short explanation of each."""
        per_day = per_day or self.k
        frame = self.scores.assign(day=self.scores["date"].dt.floor("D"), score=self.scores[name])
        top = (frame.sort_values(["day", "score"], ascending=[True, False], kind="stable")
               .groupby("day", sort=True).head(per_day))
        top = top[["day", "id", "date", "card_id", "amount", LABEL, "score"]].reset_index(drop=True)
        if features is not None and name in self.models:
            rows = features.set_index("id").loc[top["id"]].reset_index()
            top["why"] = self.models[name].explain(rows, top=top_reasons)
        return top


def train_fraud_models(features: pd.DataFrame, *, feature_columns: Sequence[str] | None = None,
                       models: Sequence[str] = FRAUD_MODELS, test_months: int = 12, valid_months: int = 12,
                       negatives_per_positive: float | None = 50.0, max_train_rows: int = 300_000,
                       class_weight: bool = True, k: int = 10, precision: float = 0.9, review_cost: float = 5.0,
                       seed: int = 0, n_jobs: int = 2, chunk_rows: int = 500_000,
                       model_params: Mapping[str, Mapping[str, Any]] | None = None,
                       progress: ProgressCallback | None = None) -> FraudReport:
    """Fit the fraud models on the earlier months and measure them on the latest, in one table.

    Parameters
    ----------
    features : DataFrame
        One row per transaction with ``id``, ``date``, ``card_id``, ``amount``, ``is_fraud`` (missing for
        unlabelled rows, which are dropped) and the feature columns, as
        :func:`unseen.analytics.features.transaction_features` returns it.
    feature_columns : the numeric columns the models see; default ``FRAUD_FEATURES`` of the features module.
    models : which of :data:`FRAUD_MODELS` to fit; the two baselines are always scored.
    test_months, valid_months : the latest months for test and the months before them for validation.
    negatives_per_positive : honest training rows kept per training fraud (all frauds are kept); None keeps all
        (up to ``max_train_rows``).
    max_train_rows : at most this many training rows in all, so that 13M transactions train in minutes.
    class_weight : whether the scikit-learn models also weigh both classes equally.
    k : alerts an analyst reviews per day, for precision@k per day.
    precision : the target precision of "recall at precision" and of the first threshold.
    review_cost : the cost of one alert for the expected-cost threshold (a missed fraud costs its amount).
    seed : seeds the undersampling and the models.
    n_jobs : cores for the random forest (joblib threads). OpenMP and BLAS stay on one thread: their
        busy-waiting made gradient boosting 70 times slower with two threads on a busy two-core machine
        (113 s against 1.7 s for 7,000 rows).
    chunk_rows : validation and test rows scored at once.
    model_params : per model, hyper-parameters that replace the defaults of :func:`make_estimator`
        (``{"random_forest": {"n_estimators": 50}}``).
    progress : called with a line about each stage.

    Returns
    -------
    FraudReport

    Raises
    ------
    ValueError
        If columns are missing, a model name is unknown, or a period has no fraud to learn from or measure.
    """
    began = time.perf_counter()
    say = progress or (lambda message: None)
    columns = tuple(feature_columns) if feature_columns is not None else _default_feature_columns()
    unknown = [name for name in models if name not in FRAUD_MODELS]
    if unknown:
        raise ValueError(f"unknown fraud model(s) {unknown}; expected some of {', '.join(FRAUD_MODELS)}")
    needed = [*KEY_COLUMNS, LABEL, *columns]
    missing = [column for column in dict.fromkeys(needed) if column not in features.columns]
    if missing:
        raise ValueError(f"the feature frame lacks column(s) {missing}; it has {list(features.columns)}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a whole number of alerts per day of at least 1, not {k!r}")

    # Positions into ``features`` rather than a copy of its labelled rows: at 13M rows a copy costs gigabytes.
    labelled = np.flatnonzero(features[LABEL].notna().to_numpy())
    y_all = features[LABEL].astype("boolean").to_numpy(dtype=bool, na_value=False)[labelled]
    dates = features["date"].to_numpy()[labelled]
    split = time_split(dates, test_months=test_months, valid_months=valid_months)
    part = split.assign(dates)
    periods = split.describe(dates, y_all)
    for name in ("train", "valid", "test"):
        if name not in periods.index or periods.loc[name, "positives"] == 0:
            raise ValueError(f"the {name} period ({_period_text(split, name)}) has no labelled fraud; "
                             "generate more rows or change test_months/valid_months")

    train_index = np.flatnonzero(part == "train")
    sample, negative_rate, positive_rate = _undersample(y_all[train_index], negatives_per_positive,
                                                        max_train_rows, seed)
    sample_index = train_index[sample]
    train_frame = features.iloc[labelled[sample_index]]
    y_train = y_all[sample_index]
    fill = np.nanmedian(_matrix(train_frame, columns), axis=0)
    fill = np.where(np.isfinite(fill), fill, 0.0)
    X_train = _matrix(train_frame, columns, fill)
    n_pos, n_neg = int(y_train.sum()), int((~y_train).sum())
    say(f"training on {len(y_train):,} rows ({n_pos:,} frauds, {n_neg:,} others: {negative_rate:.2%} of the "
        f"period's honest transactions)")

    valid = features.iloc[labelled[part == "valid"]]
    test = features.iloc[labelled[part == "test"]]
    y_valid, y_test = y_all[part == "valid"], y_all[part == "test"]
    train_rate = float(y_all[train_index].mean())
    scores = test[list(KEY_COLUMNS)].reset_index(drop=True).assign(**{LABEL: y_test})
    valid_scores: dict[str, np.ndarray] = {}
    fitted: dict[str, FittedFraudModel] = {}
    seconds: dict[str, tuple[float, float]] = {}

    for name, score_valid, score_test in (
            ("positive_rate", np.full(len(valid), train_rate), np.full(len(test), train_rate)),
            ("rule", rule_score(valid), rule_score(test))):
        valid_scores[name], scores[name] = score_valid, score_test
        seconds[name] = (0.0, 0.0)

    for name in models:
        say(f"fitting {name} on {len(y_train):,} rows")
        estimator, explainer = make_estimator(name, class_weight=class_weight, seed=seed, n_jobs=n_jobs,
                                              params=(model_params or {}).get(name))
        started = time.perf_counter()
        with threadpool_limits(limits=1):
            estimator.fit(X_train, y_train.astype(int))
        fit_seconds = time.perf_counter() - started
        weighted = class_weight and name in ("random_forest", "gradient_boosting")
        weight_ratio = (n_pos / n_neg) if weighted else 1.0  # balanced weights: w_neg / w_pos = n_pos / n_neg
        model = FittedFraudModel(name=name, estimator=estimator, explainer=explainer,
                                 odds_factor=negative_rate / positive_rate * weight_ratio, feature_columns=columns,
                                 fill_values=fill, fit_seconds=fit_seconds, train_rows=len(y_train))
        say(f"scoring {name} on {len(valid) + len(test):,} validation and test rows")
        started = time.perf_counter()
        with threadpool_limits(limits=1):
            valid_scores[name] = model.score_frame(valid, chunk_rows=chunk_rows)
            scores[name] = model.score_frame(test, chunk_rows=chunk_rows)
        seconds[name] = (fit_seconds, time.perf_counter() - started)
        fitted[name] = model

    days = scores["date"].dt.floor("D")
    rows, thresholds = [], {}
    for name in [*BASELINES, *models]:
        by_precision = threshold_for_precision(y_valid, valid_scores[name], precision)
        by_cost = threshold_for_cost(y_valid, valid_scores[name], amounts=valid["amount"].to_numpy(np.float64),
                                     review_cost=review_cost)
        thresholds[name] = {"precision": by_precision, "cost": by_cost}
        at_precision = alert_outcome(y_test, scores[name], by_precision)
        at_cost = alert_outcome(y_test, scores[name], by_cost, amounts=scores["amount"].to_numpy(np.float64),
                                review_cost=review_cost)
        rows.append({
            "model": name, "label": MODEL_LABELS[name],
            "average_precision": average_precision(y_test, scores[name]),
            "roc_auc": roc_auc(y_test, scores[name]),
            "recall_at_precision": recall_at_precision(y_test, scores[name], precision),
            "precision_at_k_per_day": float(precision_at_top_k_per_day(y_test, scores[name], days, k).mean()),
            "threshold_reached_on_valid": by_precision.reached,
            "test_precision_at_valid_threshold": at_precision["precision"],
            "test_recall_at_valid_threshold": at_precision["recall"],
            "test_alerts_at_cost_threshold": at_cost["alerts"],
            "test_recall_at_cost_threshold": at_cost["recall"],
            "test_cost_at_cost_threshold": at_cost["cost"],
            "train_rows": len(y_train) if name in fitted else 0,
            "fit_seconds": seconds[name][0], "score_seconds": seconds[name][1],
        })
    table = pd.DataFrame(rows)
    ceiling = precision_at_top_k_per_day(y_test, y_test.astype(float), days, k).mean()
    notes = [f"test period {_period_text(split, 'test')}: {len(test):,} labelled transactions, "
             f"{int(y_test.sum()):,} frauds ({y_test.mean():.3%})",
             f"a missed fraud costs its amount; an alert costs {review_cost:g}; the 'cost' threshold minimises their "
             "sum on validation"]
    return FraudReport(table=table, split=split, periods=periods, scores=scores, models=fitted,
                       thresholds=thresholds, feature_columns=columns,
                       train_sample={"positives": n_pos, "negatives": n_neg, "negative_rate": negative_rate},
                       k=k, precision=precision, seconds=time.perf_counter() - began,
                       top_k_ceiling=float(ceiling), notes=notes)


def _undersample(y: np.ndarray, negatives_per_positive: float | None, max_rows: int,
                 seed: int) -> tuple[np.ndarray, float, float]:
    """Positions kept for training (every positive, a uniform sample of negatives) and the shares of negatives and
    of positives kept."""
    if max_rows < 2:
        raise ValueError(f"max_train_rows must be at least 2, not {max_rows!r}")
    positives, negatives = np.flatnonzero(y), np.flatnonzero(~y)
    positive_rate = 1.0
    if len(positives) > max_rows // 2:  # even the frauds are too many: keep a sample of them as well
        positive_rate = (max_rows // 2) / len(positives)
        positives = np.sort(np.random.default_rng([seed, 1]).choice(positives, max_rows // 2, replace=False))
    wanted = len(negatives) if negatives_per_positive is None else int(negatives_per_positive * len(positives))
    wanted = min(wanted, max_rows - len(positives), len(negatives))
    kept = np.sort(np.random.default_rng([seed, 0]).choice(negatives, wanted, replace=False))
    rate = wanted / len(negatives) if len(negatives) else 1.0
    return np.sort(np.concatenate([positives, kept])), rate, positive_rate


def _period_text(split: TimeSplit, name: str) -> str:
    if name == "train":
        return f"before {split.valid_start:%Y-%m-%d}"
    if name == "valid":
        return f"{split.valid_start:%Y-%m-%d} to {split.test_start:%Y-%m-%d}"
    return f"from {split.test_start:%Y-%m-%d}"


def _default_feature_columns() -> tuple[str, ...]:
    try:
        from unseen.analytics.features import FRAUD_FEATURES
    except ImportError as exc:  # the features module is part of the same package; say what is missing
        raise ValueError("feature_columns not given and unseen.analytics.features.FRAUD_FEATURES is not "
                         f"available ({exc})") from None
    return tuple(FRAUD_FEATURES)
