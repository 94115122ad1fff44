"""``unseen seed``: a realistic catalogue and at least two years of shop history, reproducible and idempotent.

Shoppers visit with their own rhythm; each visit is a session of views, favourites and cart changes, and often a
purchase. What a shopper looks at follows their taste, each category's season and each product's popularity
(a Zipf law, so most products sell rarely: the long tail the forecasting studies need).
"""

from __future__ import annotations

import calendar
import hashlib
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from unseen.config import Settings
from unseen.db import create_schema, session_scope
from unseen.logins.context import GeoResolver, random_address, resolve
from unseen.shop.security import hash_password
from unseen.simulate.catalogue import CatalogueProduct, build_catalogue
from unseen.simulate.seasons import seasonal_profile
from unseen.simulate.shoppers import STYLES, USER_AGENTS, Shopper, make_shoppers
from unseen.tables import (
    Event,
    EventKind,
    LoginAttempt,
    Meta,
    Order,
    OrderLine,
    Product,
    Role,
    User,
    UserSession,
)

SEED_META_KEY = "seed"
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class SeedParameters:
    seed: int = 7
    customers: int = 400
    months: int = 26
    products: int = 600
    until: date = field(default_factory=lambda: datetime.now(UTC).date())
    yearly_growth: float = 0.15

    def describe(self) -> dict:
        values = asdict(self)
        values["until"] = self.until.isoformat()
        return values


@dataclass
class SeedSummary:
    status: str  # "seeded" or "already seeded"
    parameters: dict
    products: int = 0
    customers: int = 0
    sessions: int = 0
    orders: int = 0
    order_lines: int = 0
    events: int = 0
    first_day: str = ""
    last_day: str = ""
    catalogue_source: str = ""
    events_by_kind: dict[str, int] = field(default_factory=dict)


class SeedConflict(Exception):
    """The database was seeded with other parameters; rebuilding it needs an explicit reset."""


def _month_start(until: date, months_back: int) -> date:
    year, month = until.year, until.month - months_back
    while month <= 0:
        month += 12
        year -= 1
    return date(year, month, 1)


def _zipf_weights(rng: np.random.Generator, n: int, exponent: float = 1.1) -> np.ndarray:
    ranks = rng.permutation(n) + 1
    weights = 1.0 / ranks**exponent
    return weights / weights.sum()


@dataclass(frozen=True)
class Device:
    ip: str
    user_agent: str
    weight: float


MOBILE_AGENTS = ("Safari/iOS", "Chrome/Android")
SECOND_DEVICE_SHARE = 0.35
"""Shoppers who also log in from a phone on a mobile network (about a quarter of their visits)."""


def _devices(shoppers: list[Shopper], seed: int) -> dict[int, list[Device]]:
    """Each shopper's home address, a public one in their country (so that GeoIP places their logins where they
    live), and for some a phone on another network of the same country. Drawn apart from the history's generator."""
    rng = random.Random(f"{seed}:addresses")
    devices = {}
    for shopper in shoppers:
        shopper.ip = random_address(shopper.country, rng)
        home = Device(shopper.ip, shopper.user_agent, 3.0)
        if shopper.index > 0 and shopper.browser not in MOBILE_AGENTS and rng.random() < SECOND_DEVICE_SHARE:
            phone = Device(random_address(shopper.country, rng), USER_AGENTS[rng.choice(MOBILE_AGENTS)], 1.0)
            devices[shopper.index] = [home, phone]
        else:
            devices[shopper.index] = [home]
    return devices


class _History:
    """Generates rows in memory with local indexes; ``write`` maps them to database ids."""

    def __init__(self, params: SeedParameters, catalogue: list[CatalogueProduct], shoppers: list[Shopper],
                 categories: list[str], rng: np.random.Generator, devices: dict[int, list[Device]] | None = None):
        self.params, self.catalogue, self.shoppers, self.categories, self.rng = params, catalogue, shoppers, categories, rng
        self.devices = devices or {}
        # Which device a visit uses is drawn apart from ``rng``, so the rest of the history stays as it was.
        self.device_rng = random.Random(f"{params.seed}:devices")
        self.sessions: list[dict] = []  # shopper, created, ended, ip, user_agent
        self.orders: list[dict] = []  # shopper, created, total
        self.lines: list[dict] = []  # order, product, quantity, unit price
        self.events: list[dict] = []  # shopper, session, kind, product, quantity, at, extra
        category_of = np.array([categories.index(p.category) for p in catalogue])
        self.by_category = [np.flatnonzero(category_of == c) for c in range(len(categories))]
        self.popularity = [_zipf_weights(rng, len(ix)) if len(ix) else np.array([]) for ix in self.by_category]
        self.prices = np.array([p.price_cents for p in catalogue])
        # Each product has a style; shoppers favour theirs, which gives purchases the item-to-item structure
        # (people who bought this also bought that) that popularity alone does not have.
        self.styles = rng.integers(0, STYLES, size=len(catalogue))

    def run(self, progress: Progress | None) -> None:
        params, rng = self.params, self.rng
        start = _month_start(params.until, params.months - 1)
        seasons = np.stack([seasonal_profile(c) for c in self.categories])  # categories x 12
        for m in range(params.months):
            month_start = _month_start(params.until, params.months - 1 - m)
            days = calendar.monthrange(month_start.year, month_start.month)[1]
            if m == params.months - 1:
                days = params.until.day  # the current month stops today
            trend = (1 + params.yearly_growth) ** (((month_start - start).days) / 365.25)
            season = seasons[:, month_start.month - 1]
            for shopper in self.shoppers:
                if not (shopper.first_month <= m < shopper.last_month):
                    continue
                taste = shopper.category_taste * season
                appetite = float(taste.sum()) / float(shopper.category_taste.sum())  # how much this month appeals
                holiday = shopper.archetype.holiday_boost if month_start.month >= 10 else 1.0
                visits = rng.poisson(shopper.visits_per_month * trend * appetite * holiday * days / 30.4)
                for _ in range(visits):
                    day = int(rng.integers(1, days + 1))
                    hour = int(rng.normal(shopper.preferred_hour, shopper.archetype.hour[1])) % 24
                    at = datetime(month_start.year, month_start.month, day, hour, int(rng.integers(0, 60)),
                                  int(rng.integers(0, 60)))
                    self._visit(shopper, at, taste / taste.sum())
            if progress:
                progress("history", m + 1, params.months)

    def _pick(self, shopper: Shopper, category: int, k: int) -> np.ndarray:
        items = self.by_category[category]
        k = min(k, len(items))
        p = self.popularity[category] * (0.1 + shopper.style_taste[self.styles[items]])
        if shopper.archetype.price_bias:
            p = p * (self.prices[items] / self.prices[items].min()) ** -shopper.archetype.price_bias
        return items[self.rng.choice(len(items), size=k, replace=False, p=p / p.sum())]

    def _visit(self, shopper: Shopper, at: datetime, category_p: np.ndarray) -> None:
        rng = self.rng
        session = len(self.sessions)
        t = at
        events = self.events
        ip, agent = shopper.ip, shopper.user_agent
        options = self.devices.get(shopper.index)
        if options:
            ip, agent = self.device_rng.choices([(d.ip, d.user_agent) for d in options],
                                                weights=[d.weight for d in options])[0]
        events.append(dict(shopper=shopper.index, session=session, kind=EventKind.login_ok, product=None,
                           quantity=None, at=t, extra={"ip": ip, "user_agent": agent, "country": shopper.country}))
        category = int(rng.choice(len(category_p), p=category_p))
        if not len(self.by_category[category]):
            category = int(np.argmax([len(ix) for ix in self.by_category]))
        kind = shopper.archetype
        viewed = self._pick(shopper, category, int(rng.integers(kind.views[0], kind.views[1] + 1)))
        cart: dict[int, int] = {}
        for product in viewed:
            t += timedelta(seconds=int(rng.integers(8, 120)))
            events.append(dict(shopper=shopper.index, session=session, kind=EventKind.view, product=int(product),
                               quantity=None, at=t, extra=None))
            if rng.random() < kind.favourite_p:
                events.append(dict(shopper=shopper.index, session=session, kind=EventKind.favourite_add,
                                   product=int(product), quantity=None, at=t + timedelta(seconds=3), extra=None))
            if rng.random() < kind.cart_p:
                quantity = int(rng.choice(kind.quantities))
                cart[int(product)] = cart.get(int(product), 0) + quantity
                t += timedelta(seconds=int(rng.integers(3, 30)))
                events.append(dict(shopper=shopper.index, session=session, kind=EventKind.cart_add,
                                   product=int(product), quantity=quantity, at=t, extra=None))
        if cart and rng.random() < 0.15:
            product = next(iter(cart))
            t += timedelta(seconds=int(rng.integers(5, 60)))
            events.append(dict(shopper=shopper.index, session=session, kind=EventKind.cart_remove, product=product,
                               quantity=cart.pop(product), at=t, extra=None))
        if cart and rng.random() < kind.buy_p:
            t += timedelta(seconds=int(rng.integers(30, 300)))
            order = len(self.orders)
            total = 0
            for product, quantity in cart.items():
                price = int(self.prices[product])
                total += price * quantity
                self.lines.append(dict(order=order, product=product, quantity=quantity, unit_price_cents=price))
                events.append(dict(shopper=shopper.index, session=session, kind=EventKind.purchase, product=product,
                                   quantity=quantity, at=t, extra={"order": order}))
            self.orders.append(dict(shopper=shopper.index, created_at=t, total_cents=total))
        ended = t + timedelta(seconds=int(rng.integers(10, 120)))
        if rng.random() < 0.3:
            events.append(dict(shopper=shopper.index, session=session, kind=EventKind.logout, product=None,
                               quantity=None, at=ended, extra={"reason": "logout"}))
        self.sessions.append(dict(shopper=shopper.index, created_at=at, ended_at=ended, ip=ip, user_agent=agent))


def _login_attempts(history: _History, user_ids: list[int], session_ids: list[int],
                    shoppers: list[Shopper]) -> list[dict]:
    """The login history the login-risk model learns from: one successful attempt per seeded session."""
    geo = GeoResolver()
    rows = []
    for e in history.events:
        if e["kind"] != EventKind.login_ok:
            continue
        extra = e["extra"]
        context = resolve(extra["ip"], extra["user_agent"], _utc(e["at"]), geo=geo)
        rows.append(dict(at=_utc(e["at"]), email=shoppers[e["shopper"]].email, user_id=user_ids[e["shopper"]],
                         success=True, ip=context.ip, country=context.country, asn=context.asn,
                         asn_name=context.asn_name, browser=context.browser, browser_version=context.browser_version,
                         os=context.os, device=context.device, user_agent=extra["user_agent"], hour=context.hour,
                         weekday=context.weekday, action="none", session_id=session_ids[e["session"]],
                         source="seed"))
    return rows


def _insert_returning_ids(session: Session, model: type[SQLModel], rows: list[dict]) -> list[int]:
    if not rows:
        return []
    table = model.__table__
    result = session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows)
    return [row[0] for row in result]


def _insert(session: Session, model: type[SQLModel], rows: list[dict], chunk: int = 20_000,
            progress: Progress | None = None) -> None:
    table = model.__table__
    for i in range(0, len(rows), chunk):
        session.execute(insert(table), rows[i:i + chunk])
        if progress:
            progress("events", min(i + chunk, len(rows)), len(rows))


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC)


def ensure_operator(*, session: Session, settings: Settings) -> User:
    """The operator account from the settings, created when missing."""
    email = settings.operator_email.lower()
    user = session.execute(select(User).where(User.email == email)).scalars().first()
    if user is None:
        user = User(email=email, full_name="Shop Operator", role=Role.operator,
                    password_hash=hash_password(settings.operator_password.get_secret_value()))
        session.add(user)
        session.flush()
    return user


def seed(engine: Engine, settings: Settings, params: SeedParameters, *, reset: bool = False,
         progress: Progress | None = None) -> SeedSummary:
    """Seed the database at ``engine``. A second call with the same parameters changes nothing."""
    if reset:
        SQLModel.metadata.drop_all(engine)
    create_schema(engine)
    described = params.describe()
    with session_scope(engine) as session:
        ensure_operator(session=session, settings=settings)
        previous = session.get(Meta, SEED_META_KEY)
        if previous is not None:
            if previous.value.get("parameters") != described:
                raise SeedConflict(
                    f"the database was already seeded with {previous.value.get('parameters')}; "
                    f"seeding again with {described} would mix two histories. Run `unseen seed --reset` to rebuild "
                    "it from scratch, or use the same parameters"
                )
            return SeedSummary(status="already seeded", **{k: v for k, v in previous.value["summary"].items()
                                                            if k != "status"})

    rng = np.random.default_rng(params.seed)
    catalogue = build_catalogue(rng, reference_dir=settings.reference_data_dir, max_products=params.products)
    categories = sorted({p.category for p in catalogue})
    shoppers = make_shoppers(rng, count=params.customers, categories=categories, months=params.months)
    devices = _devices(shoppers, params.seed)
    history = _History(params, catalogue, shoppers, categories, rng, devices)
    history.run(progress)
    summary = _write(engine, settings, params, catalogue, shoppers, history, progress)
    return summary


def _write(engine: Engine, settings: Settings, params: SeedParameters, catalogue: list[CatalogueProduct],
           shoppers: list[Shopper], history: _History, progress: Progress | None) -> SeedSummary:
    rng = np.random.default_rng(params.seed + 1)
    start = datetime.combine(_month_start(params.until, params.months - 1), datetime.min.time(), UTC)
    # Seeded shoppers share one demo password (printed by `unseen seed`); hashing it once keeps seeding fast.
    password_hash = hash_password(settings.demo_customer_password.get_secret_value())
    with session_scope(engine) as session:
        existing = set(session.execute(select(Product.sku)).scalars())
        product_rows = [
            dict(sku=p.sku, name=p.name, category=p.category, price_cents=p.price_cents,
                 stock=int(rng.choice([0, 3, 12, 40, 80, 150], p=[0.04, 0.08, 0.2, 0.3, 0.23, 0.15])),
                 description=p.description, created_at=start, updated_at=start)
            for p in catalogue if p.sku not in existing
        ]
        _insert_returning_ids(session, Product, product_rows)
        sku_to_id = dict(session.execute(select(Product.sku, Product.id)).all())
        product_ids = [sku_to_id[p.sku] for p in catalogue]

        known = dict(session.execute(select(User.email, User.id)).all())
        new_users = [s for s in shoppers if s.email not in known]
        ids = _insert_returning_ids(session, User, [
            dict(email=s.email, full_name=s.full_name, password_hash=password_hash, role=Role.customer,
                 country=s.country, created_at=start + timedelta(days=31 * s.first_month))
            for s in new_users
        ])
        known.update({s.email: i for s, i in zip(new_users, ids)})
        user_ids = [known[s.email] for s in shoppers]
        if progress:
            progress("catalogue and customers", 1, 1)

        session_ids = _insert_returning_ids(session, UserSession, [
            dict(token_hash=hashlib.sha256(rng.bytes(32)).hexdigest(), user_id=user_ids[s["shopper"]],
                 created_at=_utc(s["created_at"]), last_seen_at=_utc(s["ended_at"]),
                 expires_at=_utc(s["created_at"]) + timedelta(hours=settings.session_lifetime_hours),
                 ended_at=_utc(s["ended_at"]), end_reason="seeded", ip=s["ip"], user_agent=s["user_agent"])
            for s in history.sessions
        ])
        order_ids = _insert_returning_ids(session, Order, [
            dict(user_id=user_ids[o["shopper"]], created_at=_utc(o["created_at"]), total_cents=o["total_cents"],
                 status="placed")
            for o in history.orders
        ])
        _insert(session, OrderLine, [
            dict(order_id=order_ids[line["order"]], product_id=product_ids[line["product"]],
                 quantity=line["quantity"], unit_price_cents=line["unit_price_cents"])
            for line in history.lines
        ])
        event_rows = []
        for e in history.events:
            extra = e["extra"]
            if extra and "order" in extra:
                extra = {"order_id": order_ids[extra["order"]]}
            event_rows.append(dict(
                at=_utc(e["at"]), kind=e["kind"], user_id=user_ids[e["shopper"]], session_id=session_ids[e["session"]],
                product_id=product_ids[e["product"]] if e["product"] is not None else None,
                quantity=e["quantity"], extra=extra,
            ))
        _insert(session, Event, event_rows, progress=progress)
        _insert(session, LoginAttempt, _login_attempts(history, user_ids, session_ids, shoppers))

        by_kind: dict[str, int] = {}
        for e in history.events:
            by_kind[e["kind"].value] = by_kind.get(e["kind"].value, 0) + 1
        summary = SeedSummary(
            status="seeded", parameters=params.describe(), products=len(catalogue), customers=len(shoppers),
            sessions=len(history.sessions), orders=len(history.orders), order_lines=len(history.lines),
            events=len(history.events), first_day=start.date().isoformat(), last_day=params.until.isoformat(),
            catalogue_source="UCI Online Retail sample + generated"
            if any(p.source == "uci-online-retail" for p in catalogue) else "generated",
            events_by_kind=dict(sorted(by_kind.items())),
        )
        session.add(Meta(key=SEED_META_KEY, value={"parameters": params.describe(), "summary": asdict(summary)}))
    return summary
