"""Seeding: reproducible, idempotent, seasonal, with a long tail, from real product names when they are there."""

from __future__ import annotations

import hashlib
from datetime import date

import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from unseen.db import make_engine
from unseen.simulate.catalogue import categorise
from unseen.simulate.seed import SeedConflict, SeedParameters, seed
from unseen.tables import Event, Order, OrderLine, Product, Role, User

PARAMS = SeedParameters(seed=11, customers=120, months=26, products=150, until=date(2026, 10, 31))


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    from unseen.config import Settings
    from tests.conftest import reference_data_dir

    settings = Settings(environment="test", reference_data_dir=reference_data_dir())
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('seed')}/shop.db")
    summary = seed(engine, settings, PARAMS)
    yield engine, settings, summary
    engine.dispose()


def _fingerprint(engine) -> str:
    with engine.connect() as conn:
        rows = conn.execute(select(Event.kind, Event.at, Event.product_id, Event.quantity).order_by(Event.id)).all()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def _sales(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        rows = conn.execute(
            select(Order.created_at, Product.category, Product.id, OrderLine.quantity)
            .join(Order, Order.id == OrderLine.order_id).join(Product, Product.id == OrderLine.product_id)
        ).all()
    frame = pd.DataFrame(rows, columns=["at", "category", "product", "quantity"])
    frame["month"] = pd.to_datetime(frame["at"]).dt.month
    return frame


def test_history_spans_at_least_two_years(seeded):
    engine, _, summary = seeded
    with engine.connect() as conn:
        first, last = conn.execute(select(func.min(Order.created_at), func.max(Order.created_at))).one()
    assert (last - first).days >= 730
    assert summary.orders > 1000 and summary.events > summary.orders * 5


def test_second_run_changes_nothing(seeded):
    engine, settings, summary = seeded
    before = _fingerprint(engine)
    again = seed(engine, settings, PARAMS)
    assert again.status == "already seeded"
    assert again.orders == summary.orders
    assert _fingerprint(engine) == before
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(User).where(User.role == Role.operator)).one()[0] == 1


def test_other_parameters_are_refused_without_reset(seeded):
    engine, settings, _ = seeded
    with pytest.raises(SeedConflict, match="--reset"):
        seed(engine, settings, SeedParameters(seed=12, customers=120, months=26, products=150, until=PARAMS.until))


def test_same_seed_gives_the_same_shop(seeded, tmp_path):
    engine, settings, summary = seeded
    other = make_engine(f"sqlite:///{tmp_path}/again.db")
    again = seed(other, settings, PARAMS)
    assert (again.orders, again.events, again.order_lines) == (summary.orders, summary.events, summary.order_lines)
    assert _fingerprint(other) == _fingerprint(engine)
    other.dispose()


def test_reset_rebuilds_with_new_parameters(tmp_path, settings):
    engine = make_engine(f"sqlite:///{tmp_path}/reset.db")
    small = SeedParameters(seed=1, customers=10, months=24, products=30, until=date(2026, 1, 31))
    seed(engine, settings, small)
    bigger = SeedParameters(seed=1, customers=20, months=24, products=30, until=date(2026, 1, 31))
    summary = seed(engine, settings, bigger, reset=True)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(User).where(User.role == Role.customer)).scalar_one() == 20
    assert summary.status == "seeded"
    engine.dispose()


def test_categories_follow_their_seasons(seeded):
    sales = _sales(seeded[0])
    # purchases (order lines), not units: a few bulk buyers would otherwise dominate a small sample
    by_month = sales.pivot_table(index="month", columns="category", values="quantity", aggfunc="count", fill_value=0)
    share = by_month / by_month.sum(axis=0)
    winter, summer, spring = [12, 1, 2], [6, 7, 8], [3, 4, 5]
    assert share.loc[winter, "Coats"].sum() > 3 * share.loc[summer, "Coats"].sum()
    assert share.loc[spring, "Garden"].sum() > 2 * share.loc[[10, 11, 12], "Garden"].sum()
    assert share.loc[[11, 12], "Christmas"].sum() > 0.6
    assert share.loc[[11, 12], "Electronics"].sum() > share.loc[[5, 6], "Electronics"].sum() * 1.5


def test_long_tail_of_sparse_products(seeded):
    engine = seeded[0]
    sales = _sales(engine)
    # purchases (order lines), not units: wholesale buyers order dozens of whatever they pick
    per_product = sales.groupby("product")["quantity"].count().sort_values(ascending=False)
    with engine.connect() as conn:
        n_products = conn.execute(select(func.count()).select_from(Product)).scalar_one()
    top_fifth = per_product.iloc[: max(1, n_products // 5)].sum() / per_product.sum()
    assert top_fifth > 0.5  # a few products sell most
    months_sold = sales.assign(ym=pd.to_datetime(sales["at"]).dt.tz_localize(None).dt.to_period("M")).groupby("product")["ym"].nunique()
    assert (months_sold.reindex(range(1, n_products + 1), fill_value=0) <= 6).mean() > 0.3  # many sell in few months


def test_catalogue_uses_real_retail_names_when_available(seeded):
    engine, settings, _ = seeded
    assert (settings.reference_data_dir / "online-retail-sample").is_dir(), "the shared reference data is expected"
    with engine.connect() as conn:
        names = set(conn.execute(select(Product.name).where(Product.sku.like("UCI-%"))).scalars())
    assert len(names) >= 100
    assert any("Heart" in n or "Lunch Bag" in n or "Cake" in n for n in names)


def test_catalogue_is_generated_without_reference_data(tmp_path):
    from unseen.config import Settings

    settings = Settings(environment="test", reference_data_dir=tmp_path / "missing")
    engine = make_engine(f"sqlite:///{tmp_path}/gen.db")
    summary = seed(engine, settings, SeedParameters(seed=2, customers=10, months=24, products=60,
                                                    until=date(2026, 3, 31)))
    assert summary.catalogue_source == "generated"
    with engine.connect() as conn:
        categories = set(conn.execute(select(Product.category)).scalars())
    assert {"Coats", "Electronics", "Garden", "Christmas"} <= categories
    engine.dispose()


@pytest.mark.parametrize(("description", "category"), [
    ("PAPER CHAIN KIT 50'S CHRISTMAS", "Christmas"),
    ("CHILDS GARDEN RAKE BLUE", "Garden"),
    ("JUMBO BAG RED RETROSPOT", "Bags"),
    ("WHITE HANGING HEART T-LIGHT HOLDER", "Lighting"),
    ("HOT WATER BOTTLE KEEP CALM", "Winter Warmers"),
    ("REGENCY CAKESTAND 3 TIER", "Kitchen"),
    ("WOODEN PICTURE FRAME WHITE FINISH", "Home Decor"),
])
def test_retail_descriptions_get_sensible_categories(description, category):
    assert categorise(description) == category


def test_shoppers_have_stable_habits(seeded):
    engine = seeded[0]
    with engine.connect() as conn:
        jane = conn.execute(select(User.id, User.country).where(User.email == "jane.doe@shoppers.example")).one()
        agents = conn.execute(
            select(Event.extra).where(Event.user_id == jane.id, Event.kind == "login_ok")
        ).scalars().all()
    assert jane.country == "US"
    assert agents and {a["user_agent"] for a in agents} == {agents[0]["user_agent"]}
    assert "Chrome" in agents[0]["user_agent"] and all(a["country"] == "US" for a in agents)
