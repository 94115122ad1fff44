"""Recommendations from the shop's own events: training data, a time-split evaluation, and one user's fold-in."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine

from unseen.tables import Event, EventKind

from ._base import BaseRecommender
from ._implicit import interaction_weights
from ._metrics import catalogue_coverage, ranking_report
from ._popularity import PopularityRecommender

ITEM_EVENT_KINDS = (EventKind.view, EventKind.cart_add, EventKind.cart_remove, EventKind.favourite_add,
                    EventKind.favourite_remove, EventKind.purchase)
"""The event kinds that say something about a user's interest in a product."""
RELEVANT_KINDS = (EventKind.cart_add, EventKind.favourite_add, EventKind.purchase)
"""What counts as a hit in the evaluation: the user put the product in the cart, kept it, or bought it."""


def load_item_events(engine: Engine, *, since: datetime | None = None, until: datetime | None = None) -> pd.DataFrame:
    """Every product event of logged-in users: columns ``user_id``, ``product_id``, ``kind``, ``at``."""
    statement = select(Event.user_id, Event.product_id, Event.kind, Event.at).where(
        Event.kind.in_(ITEM_EVENT_KINDS), Event.user_id.is_not(None), Event.product_id.is_not(None)
    )
    if since is not None:
        statement = statement.where(Event.at >= since)
    if until is not None:
        statement = statement.where(Event.at < until)
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(statement.order_by(Event.id)).all(), columns=["user_id", "product_id", "kind", "at"])
    frame["kind"] = frame["kind"].map(lambda k: k.value if isinstance(k, EventKind) else str(k)).astype("str")
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame


def user_weights(events: pd.DataFrame, *, reference_time: datetime | None = None,
                 half_life_days: float = 30.0) -> dict[int, float]:
    """One user's interest per product, from that user's events (what :meth:`recommend` folds in)."""
    if events.empty:
        return {}
    frame = events.assign(user_id=0)
    weights = interaction_weights(frame, half_life_days=half_life_days,
                                  reference_time=pd.Timestamp(reference_time) if reference_time else None)
    return dict(zip(weights["item_id"].astype(int), weights["weight"].astype(float)))


def time_split_evaluation(
    events: pd.DataFrame,
    make_model,
    *,
    test_days: int = 30,
    k: int = 10,
    half_life_days: float = 30.0,
) -> dict[str, dict[str, float]]:
    """Train on everything before the last ``test_days`` days, predict what each user carted, kept or bought after.

    Only users with history before the cut are scored (the feed of a new user is popularity by design). Returns a
    report per model: the ``make_model()`` one and the popularity baseline.
    """
    if events.empty:
        raise ValueError("no product events to evaluate on; seed the shop or let shoppers browse first")
    cut = events["at"].max() - timedelta(days=test_days)
    train, test = events[events["at"] < cut], events[events["at"] >= cut]
    interactions = interaction_weights(train, half_life_days=half_life_days, reference_time=cut)
    seen = interactions.groupby("user_id")["item_id"].apply(set).to_dict()
    relevant = (test[test["kind"].isin([k_.value for k_ in RELEVANT_KINDS]) & test["user_id"].isin(seen.keys())]
                .groupby("user_id")["product_id"].apply(lambda s: set(s.astype(int))).to_dict())
    users = sorted(relevant)
    if not users:
        raise ValueError(f"no user with history before {cut:%Y-%m-%d} acted in the last {test_days} days")
    reports = {}
    for name, model in (("item_knn", make_model()), ("popularity", PopularityRecommender())):
        model.fit(interactions)
        recommendations = model.recommend_many(interactions, n=k, users=users)
        lists = {u: [item for item, _ in recommendations[u]] for u in users}
        report = ranking_report(lists, relevant, k=k)
        report["coverage"] = catalogue_coverage(lists, events["product_id"].nunique())
        report["users"] = float(len(users))
        reports[name] = report
    return reports


def fit_on_events(model: BaseRecommender, events: pd.DataFrame, *, half_life_days: float = 30.0) -> BaseRecommender:
    """Fit ``model`` on the implicit weights of ``events`` (decayed to the latest event)."""
    return model.fit(interaction_weights(events, half_life_days=half_life_days))
