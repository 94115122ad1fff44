"""Which card holders are about to leave: a stated churn definition, history features at monthly cut-offs, two
classifiers against two baselines on a time-aware split, and predictions stored for other systems.

**Definition.** At a cut-off ``as_of`` (the first day of a month) a user is *active* when they have a transaction
in the ``active_days`` (default 90) days before it, and an active user *churns* at that cut-off when they have no
transaction in the ``days`` (default :data:`CHURN_DAYS`, 90) days from it, ``[as_of, as_of + days)``. Only active
users are scored (one who already left cannot leave again), and only cut-offs whose whole horizon lies inside the
data have a label.

**Features** (:data:`CHURN_FEATURES`), all from before the cut-off: recency and tenure; transactions, spend and
active days over the last 30, 90 and 365 days; the trend of the last 90 days against the 90 before; the mean gap
between active days and recency measured in those gaps; online and error shares; the user's cards still valid after
the horizon and those expiring inside it (the layout states every card's expiry); and the holder's age, income,
credit score, debt ratio and number of cards. They come from one pass over the transactions (daily activity per
user, read by DuckDB), so every monthly cut-off costs a few array look-ups rather than a query.

**Evaluation is time-aware.** The latest ``test_cutoffs`` labelled cut-offs are the test; training uses only
cut-offs whose label horizon ends before the first test cut-off, so no training label looks into the test months.

**Models**: the hand-written logistic regression and scikit-learn's histogram gradient boosting, against *recency*
(days since the last transaction, the usual rule of thumb) and a *constant-hazard survival* baseline: if a user's
active days arrive as a Poisson process at their past year's rate λ, the chance of none in the horizon is
``exp(-λ · days)``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from threadpoolctl import threadpool_limits

from unseen.analytics._metrics import average_precision, lift_at_top, roc_auc
from unseen.analytics.layout import DUCKDB_AMOUNT_SQL, duckdb_read_csv_sql
from unseen.analytics.loader import TransactionsLayout, load_layout
from unseen.ml.manual import LogisticRegression as ManualLogisticRegression

CHURN_DAYS = 90
"""Default horizon: a user churns at a cut-off when they have no transaction in the next 90 days."""
ACTIVE_DAYS = 90
"""Default look-back: a user is scored at a cut-off when they had a transaction in the 90 days before it."""
CHURN_MODELS: tuple[str, ...] = ("logistic_regression", "gradient_boosting")
CHURN_BASELINES: tuple[str, ...] = ("recency", "constant_hazard")
CHURN_LABELS = {
    "recency": "baseline: days since the last transaction",
    "constant_hazard": "baseline: constant-hazard survival, exp(-rate x days)",
    "logistic_regression": "logistic regression (hand-written)",
    "gradient_boosting": "histogram gradient boosting (scikit-learn)",
}
CHURN_FEATURES: tuple[str, ...] = (
    "recency_days", "tenure_days",
    "transactions_30d", "transactions_90d", "transactions_365d", "spend_90d", "spend_365d",
    "active_days_30d", "active_days_90d", "active_days_365d",
    "transactions_trend", "spend_trend", "mean_gap_days", "recency_in_gaps",
    "online_share_365d", "error_share_365d",
    "cards_valid_after_horizon", "cards_expiring_in_horizon",
    "age", "yearly_income", "credit_score", "debt_to_income", "num_credit_cards",
)
"""The numeric model inputs of :func:`churn_dataset`, never missing."""
_EPOCH = np.datetime64("1970-01-01", "D")


@dataclass(frozen=True)
class DailyActivity:
    """Per user and day with a transaction: counts and spend, sorted by user and day; plus the users' cards."""

    days: pd.DataFrame
    """``client_id, day`` (days since 1970-01-01), ``transactions, spend, online, errors``."""
    cards: pd.DataFrame
    """``client_id``, ``opened`` and ``expires_end`` (day numbers; a card is valid through its expiry month)."""
    users: pd.DataFrame
    """``client_id, birth_year, yearly_income, credit_score, total_debt, num_credit_cards``."""

    @property
    def last_day(self) -> int:
        return int(self.days["day"].max())


def daily_activity(folder: str | Path | TransactionsLayout, *, con=None) -> DailyActivity:
    """Read the layout's transactions once (DuckDB) into daily activity per user."""
    import duckdb

    layout = folder if isinstance(folder, TransactionsLayout) else load_layout(folder, fraud_labels=False)
    con = con if con is not None else duckdb.connect()
    query = f"""
        SELECT client_id, CAST(epoch(date) // 86400 AS BIGINT) AS day, count(*) AS transactions,
               sum(CAST({DUCKDB_AMOUNT_SQL} AS DOUBLE)) AS spend,
               count(*) FILTER (WHERE use_chip = 'Online Transaction') AS online,
               count(*) FILTER (WHERE errors IS NOT NULL AND errors <> '') AS errors
        FROM {duckdb_read_csv_sql(str(layout.transactions_path))}
        GROUP BY client_id, day ORDER BY client_id, day"""
    days = con.sql(query).df()
    for column in ("client_id", "day", "transactions", "online", "errors"):
        days[column] = days[column].astype("int64")
    if days.empty:
        raise ValueError(f"{layout.transactions_path} holds no transactions; nothing to learn churn from")
    cards = layout.cards
    expires_end = (cards["expires"] + pd.offsets.MonthBegin(1)).to_numpy("datetime64[D]")
    card_table = pd.DataFrame({
        "client_id": cards["client_id"].astype("int64"),
        "opened": (cards["acct_open_date"].to_numpy("datetime64[D]") - _EPOCH).astype("int64"),
        "expires_end": (expires_end - _EPOCH).astype("int64"),
    })
    users = layout.users
    user_table = pd.DataFrame({
        "client_id": users["id"].astype("int64"), "birth_year": users["birth_year"].astype("int64"),
        "yearly_income": users["yearly_income"].astype("float64"),
        "credit_score": users["credit_score"].astype("float64"),
        "total_debt": users["total_debt"].astype("float64"),
        "num_credit_cards": users["num_credit_cards"].astype("float64"),
    })
    return DailyActivity(days=days, cards=card_table, users=user_table)


def _day(value) -> int:
    return int((np.datetime64(pd.Timestamp(value).date(), "D") - _EPOCH).astype(int))


def monthly_cutoffs(activity: DailyActivity, *, first_year_days: int = 365) -> list[pd.Timestamp]:
    """The first day of every month from one year after the first transaction to the month after the last."""
    first = pd.Timestamp(_EPOCH + np.timedelta64(int(activity.days["day"].min()) + first_year_days, "D"))
    last = pd.Timestamp(_EPOCH + np.timedelta64(activity.last_day + 1, "D"))
    return list(pd.date_range(first.to_period("M").to_timestamp() + pd.offsets.MonthBegin(1), last, freq="MS"))


def churn_dataset(activity: DailyActivity, *, days: int = CHURN_DAYS, active_days: int = ACTIVE_DAYS,
                  cutoffs: Sequence | None = None) -> pd.DataFrame:
    """One row per active user and cut-off: ``client_id``, ``as_of``, :data:`CHURN_FEATURES` and ``churned``
    (a nullable boolean, missing where the horizon runs past the data).

    Parameters
    ----------
    activity : from :func:`daily_activity`.
    days : the churn horizon: no transaction in ``[as_of, as_of + days)`` is churn.
    active_days : who is scored: users with a transaction in ``[as_of - active_days, as_of)``.
    cutoffs : the ``as_of`` dates; default :func:`monthly_cutoffs`.
    """
    for name, value in (("days", days), ("active_days", active_days)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= 3650:
            raise ValueError(f"{name} must be a whole number of days from 1 to 3650, not {value!r}")
    cutoffs = monthly_cutoffs(activity) if cutoffs is None else [pd.Timestamp(c) for c in cutoffs]
    if not cutoffs:
        raise ValueError("no cut-off to build churn rows at: the data span less than a year")
    table = activity.days
    users = np.unique(table["client_id"].to_numpy())
    code = np.searchsorted(users, table["client_id"].to_numpy())
    day = table["day"].to_numpy()
    stride = activity.last_day + 4 * 3650
    key = code * stride + day
    cum = {name: np.r_[0.0, np.cumsum(table[name].to_numpy(np.float64))]
           for name in ("transactions", "spend", "online", "errors")}
    cum["active"] = np.arange(len(key) + 1, dtype=np.float64)
    starts = np.r_[0, np.flatnonzero(np.diff(code)) + 1]  # rows are sorted by user and day
    first_day = day[starts]

    pair_user = np.repeat(np.arange(len(users)), len(cutoffs))
    pair_cut = np.tile(np.array([_day(c) for c in cutoffs], dtype=np.int64), len(users))

    def position(offset: np.ndarray) -> np.ndarray:
        return np.searchsorted(key, pair_user * stride + offset, side="left")

    def window(name: str, lo: int, hi: int = 0) -> np.ndarray:
        """Sum of ``name`` over days in [cut - lo, cut - hi)."""
        return cum[name][position(pair_cut - hi)] - cum[name][position(pair_cut - lo)]

    active = window("active", active_days) > 0
    pair_user, pair_cut = pair_user[active], pair_cut[active]
    before = position(pair_cut) - 1  # the last active day before the cut-off
    recency = pair_cut - day[before]
    tenure = pair_cut - first_day[pair_user]
    f: dict[str, np.ndarray] = {"recency_days": recency.astype(np.float64), "tenure_days": tenure.astype(np.float64)}
    for span in (30, 90, 365):
        f[f"transactions_{span}d"] = window("transactions", span)
        f[f"active_days_{span}d"] = window("active", span)
    f["spend_90d"], f["spend_365d"] = window("spend", 90), window("spend", 365)
    f["transactions_trend"] = np.log1p(f["transactions_90d"]) - np.log1p(window("transactions", 180, 90))
    f["spend_trend"] = (np.log1p(np.maximum(f["spend_90d"], 0))
                        - np.log1p(np.maximum(window("spend", 180, 90), 0)))
    observed = np.minimum(tenure, 365).astype(np.float64)
    f["mean_gap_days"] = observed / np.maximum(f["active_days_365d"], 1)
    f["recency_in_gaps"] = recency / np.maximum(f["mean_gap_days"], 1.0)
    transactions = np.maximum(f["transactions_365d"], 1)
    f["online_share_365d"] = window("online", 365) / transactions
    f["error_share_365d"] = window("errors", 365) / transactions

    cards = activity.cards
    card_user = np.searchsorted(users, cards["client_id"].to_numpy())
    known = (card_user < len(users)) & (users[np.minimum(card_user, len(users) - 1)] == cards["client_id"].to_numpy())
    valid_after = np.zeros(len(pair_user))
    expiring = np.zeros(len(pair_user))
    pair_index = pd.Series(np.arange(len(pair_user))).groupby(pair_user).indices
    for u, opened, ends in zip(card_user[known], cards["opened"].to_numpy()[known],
                               cards["expires_end"].to_numpy()[known], strict=True):
        rows = pair_index.get(u)
        if rows is None:
            continue
        cut = pair_cut[rows]
        holds = opened <= cut
        valid_after[rows] += holds & (ends >= cut + days)
        expiring[rows] += holds & (ends >= cut) & (ends < cut + days)
    f["cards_valid_after_horizon"], f["cards_expiring_in_horizon"] = valid_after, expiring

    people = activity.users.set_index("client_id").reindex(users[pair_user])
    year = pd.DatetimeIndex(_EPOCH + pair_cut.astype("timedelta64[D]")).year.to_numpy()
    f["age"] = year - people["birth_year"].to_numpy(np.float64, na_value=np.nan)
    income = people["yearly_income"].to_numpy(np.float64, na_value=np.nan)
    f["yearly_income"] = income
    f["credit_score"] = people["credit_score"].to_numpy(np.float64, na_value=np.nan)
    f["debt_to_income"] = people["total_debt"].to_numpy(np.float64, na_value=np.nan) / np.maximum(income, 1.0)
    f["num_credit_cards"] = people["num_credit_cards"].to_numpy(np.float64, na_value=np.nan)

    future = cum["active"][position(pair_cut + days)] - cum["active"][position(pair_cut)]
    labelled = pair_cut + days <= activity.last_day + 1
    frame = pd.DataFrame({"client_id": users[pair_user],
                          "as_of": pd.to_datetime(_EPOCH + pair_cut.astype("timedelta64[D]"))})
    for name in CHURN_FEATURES:
        frame[name] = np.nan_to_num(np.asarray(f[name], dtype=np.float64), nan=0.0)
    frame["churned"] = pd.array(np.where(labelled, future == 0, False), dtype="boolean")
    frame.loc[~labelled, "churned"] = pd.NA
    return frame.sort_values(["as_of", "client_id"], kind="stable").reset_index(drop=True)


def _signed_log(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


def make_churn_estimator(name: str, *, seed: int = 0):
    """An unfitted classifier for one of :data:`CHURN_MODELS`."""
    if name == "logistic_regression":
        return make_pipeline(FunctionTransformer(_signed_log), StandardScaler(),
                             ManualLogisticRegression(C=1.0, max_iter=100))
    if name == "gradient_boosting":
        return HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, max_leaf_nodes=15,
                                              min_samples_leaf=40, l2_regularization=1.0, early_stopping=False,
                                              random_state=seed)
    raise ValueError(f"unknown churn model {name!r}; expected one of {', '.join(CHURN_MODELS)}")


def baseline_score(name: str, rows: pd.DataFrame, *, days: int) -> np.ndarray:
    """Scores of a baseline (higher means likelier to churn)."""
    if name == "recency":
        return rows["recency_days"].to_numpy(np.float64)
    if name == "constant_hazard":
        observed = np.clip(np.minimum(rows["tenure_days"].to_numpy(np.float64), 365), 1, None)
        rate = rows["active_days_365d"].to_numpy(np.float64) / observed
        return np.exp(-rate * days)
    raise ValueError(f"unknown churn baseline {name!r}; expected one of {', '.join(CHURN_BASELINES)}")


@dataclass
class ChurnReport:
    """What :func:`train_churn_models` fitted and measured."""

    table: pd.DataFrame
    """Per model and baseline on the test cut-offs: ROC-AUC, average precision, lift in the top decile, Brier
    score (models only) and the same AUC per test cut-off averaged."""
    scores: pd.DataFrame
    """Test rows: ``client_id, as_of, churned`` and one score column per model and baseline."""
    models: dict[str, Any]
    train_cutoffs: list[pd.Timestamp]
    test_cutoffs: list[pd.Timestamp]
    days: int
    train_rows: int
    churn_rate: dict[str, float]
    seconds: float
    notes: list[str] = field(default_factory=list)

    def calibration(self, name: str, *, bins: int = 10) -> pd.DataFrame:
        """Mean predicted probability against the observed churn rate, by decile of the prediction."""
        frame = self.scores[[name, "churned"]].astype({"churned": float})
        frame["bin"] = pd.qcut(frame[name].rank(method="first"), bins, labels=False)
        return frame.groupby("bin").agg(predicted=(name, "mean"), observed=("churned", "mean"),
                                        rows=("churned", "size")).reset_index()

    def auc_by_cutoff(self) -> pd.DataFrame:
        """ROC-AUC of every model and baseline at each test cut-off alone: ``as_of`` and one column per name (NaN
        at a cut-off with no churner or only churners)."""
        return _auc_by_cutoff(self.scores)

    def cutoff_roles(self, dataset: pd.DataFrame) -> pd.DataFrame:
        """Every cut-off of ``dataset`` (the one trained on) with its part in the split: ``as_of, active_users,
        churn_rate, horizon_end, role``, where role is ``train``, ``test``, ``gap`` (labelled, but its horizon
        reaches past the first test cut-off), ``predict`` (the latest cut-off, which has no label yet) or
        ``unlabelled``."""
        per_cut = (dataset.assign(churned=dataset["churned"].astype(float)).groupby("as_of")
                   .agg(active_users=("client_id", "size"), churn_rate=("churned", "mean"),
                        labelled=("churned", "count")).reset_index())
        last, tests, trains = per_cut["as_of"].max(), set(self.test_cutoffs), set(self.train_cutoffs)
        per_cut["horizon_end"] = per_cut["as_of"] + pd.Timedelta(days=self.days)
        per_cut["role"] = ["test" if cut in tests else "train" if cut in trains else "gap" if labelled
                           else "predict" if cut == last else "unlabelled"
                           for cut, labelled in zip(per_cut["as_of"], per_cut["labelled"] > 0, strict=True)]
        return per_cut.drop(columns="labelled")

    def lift_curve(self, name: str, *, points: int = 20) -> pd.DataFrame:
        """Share of all churners found against the share of users contacted, best-scored first."""
        order = np.argsort(-self.scores[name].to_numpy(), kind="stable")
        found = np.cumsum(self.scores["churned"].to_numpy(bool)[order])
        at = np.unique(np.linspace(1, len(order), points * 5).astype(int)) - 1
        return pd.DataFrame({"contacted": (at + 1) / len(order), "found": found[at] / max(found[-1], 1)})


def train_churn_models(dataset: pd.DataFrame, *, models: Sequence[str] = CHURN_MODELS, days: int = CHURN_DAYS,
                       test_cutoffs: int = 6, seed: int = 0) -> ChurnReport:
    """Fit the churn models on earlier cut-offs and measure them and the baselines on the latest labelled ones.

    Training keeps only cut-offs whose horizon ``[as_of, as_of + days)`` ends by the first test cut-off, so no
    training label is decided inside the test months. ``days`` must be the horizon the dataset was built with.
    """
    began = time.perf_counter()
    unknown = [m for m in models if m not in CHURN_MODELS]
    if unknown:
        raise ValueError(f"unknown churn model(s) {unknown}; expected some of {', '.join(CHURN_MODELS)}")
    missing = [c for c in ("client_id", "as_of", "churned", *CHURN_FEATURES) if c not in dataset.columns]
    if missing:
        raise ValueError(f"the churn dataset lacks column(s) {missing}; build it with churn_dataset()")
    labelled = dataset[dataset["churned"].notna()]
    cutoffs = sorted(labelled["as_of"].unique())
    if isinstance(test_cutoffs, bool) or not isinstance(test_cutoffs, (int, np.integer)) or test_cutoffs < 1:
        raise ValueError(f"test_cutoffs must be a whole number of at least 1, not {test_cutoffs!r}")
    if len(cutoffs) <= test_cutoffs:
        raise ValueError(f"only {len(cutoffs)} labelled cut-off(s); {test_cutoffs} for test leave none to train on")
    test_cuts = [pd.Timestamp(c) for c in cutoffs[-test_cutoffs:]]
    horizon = pd.Timedelta(days=days)
    train_cuts = [pd.Timestamp(c) for c in cutoffs if pd.Timestamp(c) + horizon <= test_cuts[0]]
    if not train_cuts:
        raise ValueError(f"no cut-off's {days}-day horizon ends before the first test cut-off {test_cuts[0]:%Y-%m-%d}")
    train = labelled[labelled["as_of"].isin(train_cuts)]
    test = labelled[labelled["as_of"].isin(test_cuts)]
    y_train = train["churned"].to_numpy(bool)
    y_test = test["churned"].to_numpy(bool)
    if y_train.all() or not y_train.any() or not y_test.any():
        raise ValueError("the training or test cut-offs have no churner (or only churners); use more data")
    X_train = train[list(CHURN_FEATURES)].to_numpy(np.float64)
    X_test = test[list(CHURN_FEATURES)].to_numpy(np.float64)
    scores = test[["client_id", "as_of"]].reset_index(drop=True).assign(churned=y_test)
    fitted: dict[str, Any] = {}
    for name in CHURN_BASELINES:
        scores[name] = baseline_score(name, test, days=days)
    for name in models:
        estimator = make_churn_estimator(name, seed=seed)
        with threadpool_limits(limits=1):
            estimator.fit(X_train, y_train.astype(int))
            scores[name] = estimator.predict_proba(X_test)[:, 1]
        fitted[name] = estimator
    notes = [f"churn: no transaction in the {days} days from the cut-off, among users active in the days before",
             f"train: {len(train_cuts)} cut-offs {train_cuts[0]:%Y-%m} to {train_cuts[-1]:%Y-%m}; "
             f"test: {len(test_cuts)} cut-offs {test_cuts[0]:%Y-%m} to {test_cuts[-1]:%Y-%m}"]
    per_cut = _auc_by_cutoff(scores)
    table = pd.DataFrame([
        {"model": name, "label": CHURN_LABELS[name], "roc_auc": roc_auc(y_test, scores[name]),
         "average_precision": average_precision(y_test, scores[name]),
         "lift_top_decile": lift_at_top(y_test, scores[name], 0.1),
         "brier": float(np.mean((scores[name] - y_test) ** 2)) if name in fitted else float("nan"),
         "mean_auc_per_cutoff": float(np.nanmean(per_cut[name]))}
        for name in [*CHURN_BASELINES, *models]])
    return ChurnReport(table=table, scores=scores, models=fitted, train_cutoffs=train_cuts, test_cutoffs=test_cuts,
                       days=days, train_rows=len(train),
                       churn_rate={"train": float(y_train.mean()), "test": float(y_test.mean())},
                       seconds=time.perf_counter() - began, notes=notes)


def _auc_by_cutoff(scores: pd.DataFrame) -> pd.DataFrame:
    names = [column for column in (*CHURN_BASELINES, *CHURN_MODELS) if column in scores.columns]
    rows = [{"as_of": cut, **{name: roc_auc(group["churned"], group[name]) for name in names}}
            for cut, group in scores.groupby("as_of")]
    return pd.DataFrame(rows, columns=["as_of", *names])


def compare_horizons(activity: DailyActivity, horizons: Sequence[int], *, came_back_days: int = 180,
                     active_days: int = ACTIVE_DAYS, cutoffs: Sequence | None = None) -> pd.DataFrame:
    """How the churn definition behaves as its horizon N grows: per N, the churn rate and the share of churners who
    pay again within ``came_back_days`` after the horizon (a definition that calls many pauses churn is too short).

    The rates are compared on the same rows: the cut-offs and holders labelled at every horizon, including the
    longest one plus ``came_back_days``. One row per horizon, ascending: ``days, labelled_cutoffs, labelled_rows,
    churn_rate_all_labelled`` (over every row labelled at that N), ``common_cutoffs, common_rows, churn_rate,
    came_back_share``. ``cutoffs`` as in :func:`churn_dataset`.
    """
    horizons = sorted({int(h) for h in horizons})
    if not horizons:
        raise ValueError("horizons is empty; give at least one horizon in days, such as [30, 90, 180]")
    labels = {}
    for horizon in horizons:
        short = churn_dataset(activity, days=horizon, active_days=active_days, cutoffs=cutoffs)
        long = churn_dataset(activity, days=horizon + came_back_days, active_days=active_days, cutoffs=cutoffs)
        labels[horizon] = short.assign(stays_away=long["churned"])  # same cut-offs and holders, in the same order
    common = labels[horizons[-1]]["stays_away"].notna().to_numpy()
    rows = []
    for horizon, frame in labels.items():
        kept = frame[common]
        churners = kept[kept["churned"].astype(bool)]
        labelled = frame[frame["churned"].notna()]
        rows.append({
            "days": horizon, "labelled_cutoffs": int(labelled["as_of"].nunique()), "labelled_rows": len(labelled),
            "churn_rate_all_labelled": float(labelled["churned"].astype(float).mean()),
            "common_cutoffs": int(kept["as_of"].nunique()), "common_rows": len(kept),
            "churn_rate": float(kept["churned"].astype(float).mean()),
            "came_back_share": float((~churners["stays_away"].astype(bool)).mean()) if len(churners) else float("nan"),
        })
    return pd.DataFrame(rows)


def feature_leak_check(activity: DailyActivity, dataset: pd.DataFrame, cutoff, *, days: int = CHURN_DAYS,
                       active_days: int = ACTIVE_DAYS) -> dict[str, Any]:
    """Whether the features at ``cutoff`` use only the past: rebuild them from the activity before it alone and
    compare with ``dataset``'s rows there. Spend comes from running sums over all holders, so the builds may differ
    in the last bits of a float; a feature differs when the gap exceeds 1e-6 of its largest value.

    Returns ``cutoff, rows, rows_from_the_past_only, same_rows, features_compared, features_identical,
    features_differing, differing`` (their names) and ``max_abs_difference``.
    """
    cut = pd.Timestamp(cutoff)
    first_day = int((cut - pd.Timestamp("1970-01-01")).days)
    past = DailyActivity(days=activity.days[activity.days["day"] < first_day].reset_index(drop=True),
                         cards=activity.cards, users=activity.users)
    rebuilt = churn_dataset(past, days=days, active_days=active_days, cutoffs=[cut])
    original = dataset[dataset["as_of"] == cut].reset_index(drop=True)
    same_rows = rebuilt["client_id"].tolist() == original["client_id"].tolist()
    gaps = {f: float(np.max(np.abs(rebuilt[f].to_numpy() - original[f].to_numpy()), initial=0.0)) if same_rows
            else float("inf") for f in CHURN_FEATURES}
    differing = [f for f, gap in gaps.items() if not gap <= 1e-6 * max(1.0, float(original[f].abs().max()))]
    return {"cutoff": cut.date(), "rows": len(original), "rows_from_the_past_only": len(rebuilt),
            "same_rows": same_rows, "features_compared": len(CHURN_FEATURES),
            "features_identical": sum(gap == 0 for gap in gaps.values()), "features_differing": len(differing),
            "differing": ", ".join(differing), "max_abs_difference": max(gaps.values())}


def predict_churn(dataset: pd.DataFrame, *, model: str = "gradient_boosting", as_of=None, days: int = CHURN_DAYS,
                  seed: int = 0) -> pd.DataFrame:
    """Fit ``model`` on every labelled cut-off and score the users active at ``as_of`` (default: the latest
    cut-off of ``dataset``, usually unlabelled because its horizon lies in the future).

    Only cut-offs whose horizon ends by ``as_of`` train, so the prediction could have been made on that day.
    Returns ``user_id, as_of, probability``, highest first.
    """
    as_of = pd.Timestamp(dataset["as_of"].max() if as_of is None else as_of)
    scored = dataset[dataset["as_of"] == as_of]
    if scored.empty:
        raise ValueError(f"no active user at as_of={as_of:%Y-%m-%d}; the dataset's cut-offs run from "
                         f"{dataset['as_of'].min():%Y-%m-%d} to {dataset['as_of'].max():%Y-%m-%d}")
    train = dataset[dataset["churned"].notna() & (dataset["as_of"] + pd.Timedelta(days=days) <= as_of)]
    y = train["churned"].to_numpy(bool)
    if not y.any() or y.all():
        raise ValueError(f"no labelled cut-off with both churners and stayers ends by {as_of:%Y-%m-%d}")
    estimator = make_churn_estimator(model, seed=seed)
    with threadpool_limits(limits=1):
        estimator.fit(train[list(CHURN_FEATURES)].to_numpy(np.float64), y.astype(int))
        probability = estimator.predict_proba(scored[list(CHURN_FEATURES)].to_numpy(np.float64))[:, 1]
    out = pd.DataFrame({"user_id": scored["client_id"].to_numpy(), "as_of": as_of.date(),
                        "probability": probability})
    return out.sort_values("probability", ascending=False, kind="stable").reset_index(drop=True)


def store_churn_predictions(engine, predictions: pd.DataFrame, *, model: str, version: str) -> int:
    """Write ``predictions`` (``user_id, as_of, probability``) to the ``churn_prediction`` table, replacing the
    rows of the same ``as_of`` and ``model`` in one transaction. Returns the number of rows written."""
    from sqlmodel import delete

    from unseen.db import create_schema, session_scope
    from unseen.tables import ChurnPrediction

    missing = [c for c in ("user_id", "as_of", "probability") if c not in predictions.columns]
    if missing:
        raise ValueError(f"predictions lack column(s) {missing}; expected user_id, as_of, probability")
    create_schema(engine)
    now = datetime.now(UTC)
    dates = sorted({_as_date(value) for value in predictions["as_of"]})
    rows = [ChurnPrediction(user_id=int(u), as_of=_as_date(a), probability=float(p), model=model, version=version,
                            created_at=now)
            for u, a, p in zip(predictions["user_id"], predictions["as_of"], predictions["probability"], strict=True)]
    with session_scope(engine) as session:
        for day in dates:
            session.exec(delete(ChurnPrediction).where(ChurnPrediction.as_of == day, ChurnPrediction.model == model))
        session.add_all(rows)
    return len(rows)


def load_churn_predictions(engine, *, as_of=None, model: str | None = None) -> pd.DataFrame:
    """The stored predictions (optionally of one ``as_of`` and ``model``), highest probability first."""
    from sqlmodel import Session, select

    from unseen.tables import ChurnPrediction

    query = select(ChurnPrediction)
    if as_of is not None:
        query = query.where(ChurnPrediction.as_of == _as_date(as_of))
    if model is not None:
        query = query.where(ChurnPrediction.model == model)
    with Session(engine) as session:
        found = session.exec(query.order_by(ChurnPrediction.probability.desc())).all()
    columns = ["user_id", "as_of", "probability", "model", "version", "created_at"]
    return pd.DataFrame([{c: getattr(row, c) for c in columns} for row in found], columns=columns)


def _as_date(value) -> date:
    return value if isinstance(value, date) and not isinstance(value, datetime) else pd.Timestamp(value).date()
