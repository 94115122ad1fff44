"""``unseen simulate``: shoppers and attackers over real HTTP against a running shop, with a ground truth of its own.

Every simulated client has its own address (sent as ``X-Forwarded-For``; the shop trusts loopback as a proxy), its
own user agent and cookies. Shoppers come with a country, an account from the database (or a new one they
register) and the habits of a seeded archetype; they browse with think times, search with words from the catalogue,
view products, favourite, add to cart, sometimes check out, and log out. Attackers (:mod:`unseen.simulate.attacks`)
start at their offsets and keep going at their rates whatever the shop answers, so what it serves after a block can
be counted. The shop is never told which request is which: every request is appended to ``ground_truth.jsonl`` in
the run folder, and ``run.json`` holds the scenario, the server and the times.

Load stays bounded: one global cap on requests in flight and one on requests per second cover every client.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
import re
import ssl
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path

import httpx
from rich.console import Console
from rich.live import Live
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.engine import Engine, make_url

from unseen.config import Settings
from unseen.simulate import attacks
from unseen.simulate.attacks import ATTACK_KINDS, AttackSpec, default_attacks
from unseen.simulate.shoppers import ARCHETYPES, BROWSER_WEIGHTS, COUNTRIES, COUNTRY_WEIGHTS, FIRST_NAMES, \
    LAST_NAMES, USER_AGENTS, Archetype
from unseen.tables import Event, EventKind, Product, Role, User

log = logging.getLogger(__name__)

DEFAULT_RUNS_DIR: Path | None = None
"""None: ``runs/simulations`` under the settings' ``runs_dir``."""
GROUND_TRUTH_FILE = "ground_truth.jsonl"
RUN_FILE = "run.json"
SETUP_ADDRESS = "192.0.2.254"
KEEPALIVE_S = 2.0
"""The simulator's own address when it reads the catalogue through the API (no database given)."""
ACCEPT_LANGUAGE = {"GB": "en-GB,en;q=0.9", "DE": "de-DE,de;q=0.9,en;q=0.8", "FR": "fr-FR,fr;q=0.9,en;q=0.8",
                   "NL": "nl-NL,nl;q=0.9,en;q=0.8", "IE": "en-IE,en;q=0.9", "US": "en-US,en;q=0.9",
                   "ES": "es-ES,es;q=0.9,en;q=0.8", "BE": "nl-BE,fr-BE;q=0.9,en;q=0.7",
                   "CH": "de-CH,de;q=0.9,fr;q=0.8,en;q=0.7", "NO": "nb-NO,nb;q=0.9,en;q=0.8"}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_STOP_WORDS = {"with", "and", "the", "for", "set", "of", "in", "pack", "design", "small", "large", "assorted"}
_UNSTOCKED_WORDS = ("umbrella stand", "phone charger", "yoga mat", "espresso machine", "football")


@dataclass(frozen=True)
class Scenario:
    """What to simulate. Times are seconds; rates are requests per second."""

    duration_s: float = 120.0
    seed: int = 7
    shoppers: int = 200
    think_time_s: tuple[float, float] = (2.0, 20.0)
    """Pause between a shopper's clicks, drawn log-uniformly from this range (a mean of about 8 s)."""
    visit_gap_s: tuple[float, float] = (10.0, 60.0)
    """Pause between two visits of the same shopper."""
    ramp_s: float | None = None
    """Shoppers arrive spread over this many seconds (default: the first three quarters of the run). Logins cost
    the shop most (a password check takes about 0.2 s and holds the database's write lock), so a crowd arriving at
    once is a load test rather than a shop day."""
    attacks: tuple[AttackSpec, ...] = ()
    login_share: float = 0.7
    """Shoppers who log in (the rest browse anonymously)."""
    web_share: float = 0.5
    """Shoppers who use the HTML pages and forms; the others use the JSON API as the shop's front-end would."""
    typo_rate: float = 0.05
    """Logins that first fail with a mistyped password."""
    logout_rate: float = 0.35
    """Visits that end with a logout (the others stay logged in for the next visit)."""
    tool_user_agents: bool = True
    """Attack tools announce themselves (sqlmap, python-requests, ...); False disguises them as browsers."""
    max_concurrency: int = 64
    max_rate: float = 400.0
    request_timeout_s: float = 30.0

    def __post_init__(self) -> None:
        problems = []
        if not 0 < self.duration_s <= 24 * 3600:
            problems.append(f"duration {self.duration_s!r} s (expected more than 0 and at most a day)")
        if self.shoppers < 0:
            problems.append(f"shoppers {self.shoppers!r} (expected 0 or more)")
        for name in ("think_time_s", "visit_gap_s"):
            low, high = getattr(self, name)
            if not 0 < low <= high:
                problems.append(f"{name} {(low, high)!r} (expected 0 < low <= high)")
        for name in ("login_share", "web_share", "typo_rate", "logout_rate"):
            if not 0 <= getattr(self, name) <= 1:
                problems.append(f"{name} {getattr(self, name)!r} (expected a share from 0 to 1)")
        if self.max_concurrency < 1 or self.max_rate <= 0 or self.request_timeout_s <= 0:
            problems.append("max_concurrency, max_rate and request_timeout_s must be positive")
        if problems:
            raise ValueError("invalid scenario: " + "; ".join(problems))

    @classmethod
    def mixed(cls, duration_s: float = 120.0, shoppers: int = 200, seed: int = 7,
              kinds: Sequence[str] = ATTACK_KINDS, rate_scale: float = 1.0, **options) -> Scenario:
        """Shoppers plus the given attack kinds at their default offsets and rates (scaled by ``rate_scale``)."""
        return cls(duration_s=duration_s, shoppers=shoppers, seed=seed,
                   attacks=default_attacks(kinds, duration_s, rate_scale=rate_scale), **options)

    def to_dict(self) -> dict:
        values = asdict(self)
        values["attacks"] = [asdict(spec) for spec in self.attacks]
        return values

    @classmethod
    def from_dict(cls, values: dict) -> Scenario:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in values.items() if k in known}
        values["attacks"] = tuple(AttackSpec(**spec) for spec in values.get("attacks", ()))
        for name in ("think_time_s", "visit_gap_s"):
            if name in values:
                values[name] = tuple(values[name])
        return cls(**values)


# --- what the simulator knows of the shop ---------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    email: str
    password: str
    country: str | None = None
    user_agent: str | None = None
    home_ip: str | None = None
    """Where the account last logged in from: a shopper who comes back as this account comes from there."""


@dataclass(frozen=True)
class Catalogue:
    products: tuple[tuple[int, str, str], ...]  # (id, name, category) of the active products
    by_category: dict[str, tuple[int, ...]] = field(default_factory=dict)
    words: tuple[str, ...] = ()

    @classmethod
    def of(cls, products: Sequence[tuple[int, str, str]]) -> Catalogue:
        by_category: dict[str, list[int]] = {}
        words: Counter[str] = Counter()
        for product_id, name, category in products:
            by_category.setdefault(category, []).append(product_id)
            # Words as people type them, apostrophes included ("children's"): a search is not an injection.
            words.update(w for w in name.lower().split() if len(w) >= 4 and w.replace("'", "").isalpha()
                         and w not in _STOP_WORDS)
        return cls(tuple(products), {c: tuple(ids) for c, ids in by_category.items()},
                   tuple(w for w, _ in words.most_common()))

    @property
    def max_id(self) -> int:
        return max((p[0] for p in self.products), default=0)

    @property
    def ids(self) -> tuple[int, ...]:
        return tuple(p[0] for p in self.products)


def load_accounts(engine: Engine, password: str) -> list[Account]:
    """The shop's customers, each with the country and the browser of their latest login (seeded history)."""
    latest = (select(func.max(Event.id)).where(Event.kind == EventKind.login_ok, Event.user_id.is_not(None))
              .group_by(Event.user_id))
    with engine.connect() as conn:
        users = conn.execute(select(User.id, User.email, User.country).where(User.role == Role.customer)
                             .order_by(User.id)).all()
        latest_login = {user_id: extra or {} for user_id, extra in
                        conn.execute(select(Event.user_id, Event.extra).where(Event.id.in_(latest)))}
    return [Account(email, password, country, latest_login.get(user_id, {}).get("user_agent"),
                    latest_login.get(user_id, {}).get("ip")) for user_id, email, country in users]


def load_catalogue(engine: Engine) -> Catalogue:
    with engine.connect() as conn:
        rows = conn.execute(select(Product.id, Product.name, Product.category)
                            .where(Product.deleted_at.is_(None)).order_by(Product.id)).all()
    return Catalogue.of([tuple(row) for row in rows])


# --- clients, the ground truth and the caps -----------------------------------------------------------------------


class RunOver(Exception):
    """The run's time is up: no new request is sent."""


@dataclass(frozen=True)
class ClientProfile:
    client_id: str
    role: str  # shopper, attacker or setup
    kind: str  # "shopper", an attack kind, or "setup"
    ip: str
    user_agent: str
    country: str | None = None
    account: str | None = None
    interface: str = "app"  # web (HTML pages and forms) or app (JSON API)


@dataclass
class KindStats:
    role: str
    clients: int = 0
    requests: int = 0
    by_class: Counter = field(default_factory=Counter)  # "2xx", "3xx", "4xx", "5xx", "error"
    blocked: int = 0
    first_sent: float | None = None
    first_blocked: float | None = None

    def first_blocked_after_s(self) -> float | None:
        if self.first_blocked is None or self.first_sent is None:
            return None
        return self.first_blocked - self.first_sent


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="microseconds")


class RateLimiter:
    """Spaces requests at least ``1 / rate`` seconds apart, across every client of the run."""

    def __init__(self, rate: float):
        self.interval = 1.0 / rate
        self.next_at = 0.0

    async def wait(self) -> None:
        now = time.monotonic()
        at = max(now, self.next_at)
        self.next_at = at + self.interval
        if at > now:
            await asyncio.sleep(at - now)


class RunContext:
    """What every client of one run shares: the server, the clock, the caps, the ground truth and the counters."""

    def __init__(self, scenario: Scenario, base_url: str, run_id: str, truth_path: Path, *,
                 catalogue: Catalogue, spare_accounts: Sequence[Account] = (), payloads: Sequence[str] = (),
                 demo_password: str = "shopper-demo"):
        self.scenario, self.base_url, self.run_id = scenario, base_url.rstrip("/"), run_id
        self.catalogue, self.spare_accounts, self.payloads = catalogue, list(spare_accounts), list(payloads)
        self.demo_password = demo_password
        self.started = time.time()
        self.deadline = float("inf")  # set by start(); setup requests come before
        self.limiter = RateLimiter(scenario.max_rate)
        self.slots = asyncio.Semaphore(scenario.max_concurrency)
        self.tls = ssl.create_default_context()  # one for every client: loading it is the slow part of a client
        self.stats: dict[str, KindStats] = {}
        self.profiles: list[ClientProfile] = []
        self.sent = 0
        self._numbers: Counter[str] = Counter()
        self._truth = open(truth_path, "w", encoding="utf-8")  # noqa: SIM115 - closed by close()

    def start(self) -> None:
        self.started = time.time()
        self.deadline = self.started + self.scenario.duration_s

    def over(self) -> bool:
        return time.time() >= self.deadline

    def elapsed(self) -> float:
        return time.time() - self.started

    async def sleep(self, seconds: float) -> None:
        """Sleep, but never past the end of the run."""
        await asyncio.sleep(max(0.0, min(seconds, self.deadline - time.time())))

    async def sleep_until(self, offset_s: float) -> bool:
        """Sleep until ``offset_s`` after the start; False when the run ends first."""
        await self.sleep(self.started + offset_s - time.time())
        return not self.over()

    def client_id(self, kind: str) -> str:
        """``kind-01``, ``kind-02``, ...: unique within the run even when a kind attacks twice."""
        self._numbers[kind] += 1
        return f"{kind}-{self._numbers[kind]:02d}"

    def client(self, profile: ClientProfile, *, in_flight: int = 1) -> SimClient:
        self.profiles.append(profile)
        self.stats.setdefault(profile.kind, KindStats(role=profile.role)).clients += 1
        return SimClient(self, profile, in_flight=in_flight)

    def record(self, client: SimClient, request: httpx.Request, *, action: str, malicious: bool, sent: float,
               received: float, status: int | None, blocked: bool, error: str | None) -> None:
        profile = client.profile
        self.sent += 1
        row = {"run_id": self.run_id, "seq": self.sent, "client_id": profile.client_id, "role": profile.role,
               "kind": profile.kind, "ip": profile.ip, "session": client.session, "account": client.account,
               "action": action, "malicious": malicious, "method": request.method, "path": request.url.path,
               "query": request.url.query.decode("latin-1"), "sent_at": _iso(sent), "received_at": _iso(received),
               "elapsed_s": round(sent - self.started, 4), "status": status, "blocked": blocked, "error": error}
        self._truth.write(json.dumps(row, ensure_ascii=False) + "\n")
        stats = self.stats[profile.kind]
        stats.requests += 1
        stats.by_class["error" if status is None else f"{status // 100}xx"] += 1
        stats.first_sent = sent if stats.first_sent is None else min(stats.first_sent, sent)
        if blocked:
            stats.blocked += 1
            stats.first_blocked = sent if stats.first_blocked is None else min(stats.first_blocked, sent)

    def flush(self) -> None:
        self._truth.flush()

    def close(self) -> None:
        self._truth.close()


class SimClient:
    """One simulated client: its address, user agent, cookies, bearer token and ground-truth labels."""

    def __init__(self, ctx: RunContext, profile: ClientProfile, *, in_flight: int = 1):
        self.ctx, self.profile = ctx, profile
        self.session: str | None = None  # the simulator's own label for the visit or attack session
        self.account: str | None = profile.account
        self.token: str | None = None
        self.csrf: str | None = None
        self.referer: str | None = None
        self.logged_in = False
        self.cached: set[str] = set()  # what a browser would not fetch again
        accept = "text/html,application/xhtml+xml,*/*;q=0.8" if profile.interface == "web" else "application/json"
        headers = {"X-Forwarded-For": profile.ip, "User-Agent": profile.user_agent, "Accept": accept}
        if profile.country:
            headers["Accept-Language"] = ACCEPT_LANGUAGE.get(profile.country, "en;q=0.9")
        self._in_flight = asyncio.Semaphore(in_flight)
        # Idle connections are let go after KEEPALIVE_S, before the server's own keep-alive (uvicorn: 5 s) closes
        # them: reusing a connection the server is closing at that moment loses the request ("server disconnected
        # without sending a response"), which browsers avoid the same way.
        self.http = httpx.AsyncClient(base_url=ctx.base_url, headers=headers, verify=ctx.tls,
                                      timeout=ctx.scenario.request_timeout_s, follow_redirects=False,
                                      limits=httpx.Limits(max_connections=in_flight,
                                                          max_keepalive_connections=in_flight,
                                                          keepalive_expiry=KEEPALIVE_S))

    async def request(self, method: str, path: str, *, action: str, malicious: bool = False, params=None, json=None,
                      data=None, headers: dict | None = None, follow: bool = False) -> httpx.Response | None:
        """Send one request (and, with ``follow``, its redirects as a browser would); the first response, or None
        when the transport failed. Raises :class:`RunOver` once the run has ended."""
        first = response = await self._send(method, path, action=action, malicious=malicious, params=params,
                                             json=json, data=data, headers=headers)
        hops = 0
        while follow and response is not None and response.is_redirect and hops < 5:
            hops += 1
            response = await self._send("GET", response.headers["location"], action="redirect", malicious=malicious)
        return first

    async def _send(self, method: str, path: str, *, action: str, malicious: bool, params=None, json=None, data=None,
                    headers: dict | None = None) -> httpx.Response | None:
        ctx = self.ctx
        if ctx.over():
            raise RunOver
        extra = dict(headers or {})
        if self.token:
            extra["Authorization"] = f"Bearer {self.token}"
        if self.referer and self.profile.interface == "web":
            extra.setdefault("Referer", self.referer)
        request = self.http.build_request(method, path, params=params, json=json, data=data, headers=extra)
        async with self._in_flight:
            await ctx.limiter.wait()
            async with ctx.slots:
                if ctx.over():
                    raise RunOver
                sent = time.time()
                error = None
                try:
                    response = await self.http.send(request)
                except httpx.HTTPError as exc:
                    response, error = None, f"{type(exc).__name__}: {exc}"[:300]
                received = time.time()
        status = response.status_code if response is not None else None
        # A refusal by the monitor names the block; other 403s are the shop's own (operator pages, CSRF).
        blocked = status == 403 and b"blocked" in response.content[:300].lower()
        ctx.record(self, request, action=action, malicious=malicious, sent=sent, received=received, status=status,
                   blocked=blocked, error=error)
        if response is not None and "text/html" in response.headers.get("content-type", ""):
            self.referer = str(request.url)
            if found := _CSRF.search(response.text):
                self.csrf = found.group(1)
        return response

    async def aclose(self) -> None:
        await self.http.aclose()


class TurnedAway(Exception):
    """The shop refused a shopper (blocked) or did not answer: a person would leave."""


def _mistyped(password: str) -> str:
    swapped = password[:-2] + password[-1:] + password[-2:-1]
    return swapped if swapped != password else password + "1"


def check(response: httpx.Response | None) -> httpx.Response:
    if response is None or (response.status_code == 403 and b"blocked" in response.content[:300].lower()):
        raise TurnedAway
    return response


# --- shoppers ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShopperPlan:
    profile: ClientProfile
    account: Account | None  # None with ``register``: signs up first; None without: browses anonymously
    register: bool
    archetype: Archetype
    categories: tuple[str, ...]
    start_s: float
    seed: str


def shopper_address(country: str | None, rng: random.Random, taken: set[str]) -> str:
    """An address in 100.64.0.0/10, one /16 per country (see ``run.json``'s ``ip_countries``)."""
    block = 64 + (COUNTRIES.index(country) if country in COUNTRIES else 63)
    while True:
        ip = f"100.{block}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        if ip not in taken:
            taken.add(ip)
            return ip


def ip_countries() -> dict[str, str]:
    return {f"100.{64 + i}.0.0/16": country for i, country in enumerate(COUNTRIES)}


def plan_shoppers(scenario: Scenario, accounts: Sequence[Account], catalogue: Catalogue,
                  run_id: str) -> tuple[list[ShopperPlan], list[Account]]:
    """Who comes, as whom, with which habits and when; the accounts nobody uses are left for the attackers."""
    rng = random.Random(f"{scenario.seed}:shoppers")
    pool = list(accounts)
    rng.shuffle(pool)
    ramp = scenario.ramp_s if scenario.ramp_s is not None else scenario.duration_s * 0.75
    categories = sorted(catalogue.by_category)
    shares = [a.share for a in ARCHETYPES]
    browsers = list(USER_AGENTS.values())
    taken: set[str] = set()
    run_tag = hashlib.sha256(run_id.encode()).hexdigest()[:6]
    plans = []
    for i in range(scenario.shoppers):
        logs_in = rng.random() < scenario.login_share
        account = pool.pop() if logs_in and pool else None
        register = logs_in and account is None
        country = (account.country if account and account.country else
                   rng.choices(COUNTRIES, weights=COUNTRY_WEIGHTS)[0])
        agent = account.user_agent if account and account.user_agent else rng.choices(browsers, BROWSER_WEIGHTS)[0]
        if register:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES).replace(" ", "")
            email = f"{first}.{last}.{run_tag}{i}@shoppers.example".lower()  # new in every run
            account = Account(email, f"sim-{rng.getrandbits(48):x}", country, agent)
        interface = "web" if rng.random() < scenario.web_share else "app"
        address = shopper_address(country, rng, taken)
        if account is not None and not register and account.home_ip and account.home_ip not in taken:
            address = account.home_ip  # a regular comes from home: the login-risk check knows the place
            taken.add(address)
        profile = ClientProfile(f"shopper-{i + 1:04d}", "shopper", "shopper", address,
                                agent, country, account.email if account and not register else None, interface)
        liked = tuple(rng.sample(categories, k=min(2, len(categories))))
        plans.append(ShopperPlan(profile, account, register, rng.choices(ARCHETYPES, weights=shares)[0], liked,
                                 rng.uniform(0, ramp), f"{scenario.seed}:{profile.client_id}"))
    return plans, pool


class ShopperVisit:
    """One visit: land, perhaps log in, browse, perhaps buy, perhaps log out; each click after a think time."""

    def __init__(self, ctx: RunContext, client: SimClient, plan: ShopperPlan, rng: random.Random):
        self.ctx, self.client, self.plan, self.rng = ctx, client, plan, rng
        self.web = plan.profile.interface == "web"

    async def think(self) -> None:
        low, high = self.ctx.scenario.think_time_s
        await self.ctx.sleep(low * (high / low) ** self.rng.random())

    async def go(self, method: str, path: str, action: str, **kwargs) -> httpx.Response:
        if self.web and method == "POST" and "data" in kwargs:
            kwargs["data"] = {"csrf_token": self.client.csrf or "", **kwargs["data"]}
        return check(await self.client.request(method, path, action=action, follow=self.web, **kwargs))

    def pick_product(self) -> int:
        catalogue, rng = self.ctx.catalogue, self.rng
        liked = [c for c in self.plan.categories if catalogue.by_category.get(c)]
        category = rng.choice(liked) if liked and rng.random() < 0.75 else rng.choice(list(catalogue.by_category))
        ids = catalogue.by_category[category]
        return rng.choices(ids, weights=[1 / (rank + 1) for rank in range(len(ids))])[0]

    async def run(self) -> None:
        rng, archetype = self.rng, self.plan.archetype
        await self.land()
        if self.plan.account is not None and not self.client.logged_in:
            await self.think()
            await (self.register() if self.plan.register and self.client.account is None else self.login())
        cart = False
        for _ in range(rng.randint(*archetype.views)):
            await self.think()
            roll = rng.random()
            if roll < 0.18:
                await self.search()
            elif roll < 0.3:
                await self.browse_category()
            else:
                product_id = self.pick_product()
                await self.view(product_id)
                if self.client.logged_in and rng.random() < archetype.favourite_p:
                    await self.think()
                    await self.favourite(product_id)
                if self.client.logged_in and rng.random() < archetype.cart_p:
                    await self.think()
                    cart = await self.add_to_cart(product_id, rng.choice(archetype.quantities)) or cart
        if self.client.logged_in and cart and rng.random() < archetype.buy_p:
            await self.checkout()
        if self.client.logged_in and rng.random() < self.ctx.scenario.logout_rate:
            await self.think()
            await self.logout()

    async def land(self) -> None:
        if self.web:
            await self.go("GET", "/", "land")
            if "/static/style.css" not in self.client.cached:
                await self.client.request("GET", "/static/style.css", action="asset")
                self.client.cached.add("/static/style.css")
        else:
            await self.go("GET", "/api/feed", "land")
            await self.go("GET", "/api/products/categories", "land")

    async def login(self) -> None:
        account, rng = self.plan.account, self.rng
        if self.web:
            await self.go("GET", "/login", "login_page")
            await self.think()
        passwords = [_mistyped(account.password), account.password] if rng.random() < self.ctx.scenario.typo_rate \
            else [account.password]
        self.client.account = account.email
        for attempt, password in enumerate(passwords):
            if attempt:
                await self.think()
            if self.web:
                response = await self.go("POST", "/login", "login",
                                         data={"next": "/products", "email": account.email, "password": password})
                self.client.logged_in = response.status_code == 303
            else:
                response = await self.go("POST", "/api/auth/login", "login",
                                         json={"email": account.email, "password": password})
                self.client.logged_in = response.status_code == 200
                self.client.token = response.json()["token"] if self.client.logged_in else None
            if self.client.logged_in:
                return

    async def register(self) -> None:
        account = self.plan.account
        name = account.email.split("@")[0].rsplit(".", 1)[0].replace(".", " ").title()
        form = {"email": account.email, "full_name": name, "password": account.password}
        if self.web:
            await self.go("GET", "/register", "register_page")
            await self.think()
            response = await self.go("POST", "/register", "register", data=form)
            self.client.logged_in = response.status_code == 303
            if self.client.logged_in:
                self.client.account = account.email
        elif (await self.go("POST", "/api/auth/register", "register", json=form)).status_code == 201:
            self.client.account = account.email
            await self.think()
            await self.login()

    async def search(self) -> None:
        rng, words = self.rng, self.ctx.catalogue.words or ("gift",)
        query = rng.choice(_UNSTOCKED_WORDS) if rng.random() < 0.05 else " ".join(
            rng.sample(words[:200], k=2 if rng.random() < 0.25 and len(words) > 1 else 1))
        path = "/products" if self.web else "/api/products"
        await self.go("GET", path, "search", params={"q": query})
        if rng.random() < 0.15:
            await self.think()
            await self.go("GET", path, "search", params={"q": query, "page": 2})

    async def browse_category(self) -> None:
        category = self.rng.choice(self.plan.categories or tuple(self.ctx.catalogue.by_category))
        page = 1 if self.rng.random() < 0.8 else 2
        params = {"category": category} | ({"page": page} if page > 1 else {})
        await self.go("GET", "/products" if self.web else "/api/products", "browse", params=params)

    async def view(self, product_id: int) -> None:
        await self.go("GET", f"/products/{product_id}" if self.web else f"/api/products/{product_id}", "view")

    async def favourite(self, product_id: int) -> None:
        if self.web:
            await self.go("POST", f"/favourites/{product_id}", "favourite", data={})
        else:
            await self.go("POST", "/api/favourites", "favourite", json={"product_id": product_id})

    async def add_to_cart(self, product_id: int, quantity: int) -> bool:
        if self.web:
            response = await self.go("POST", "/cart/add", "cart_add",
                                     data={"product_id": str(product_id), "quantity": str(quantity)})
            return response.status_code == 303
        response = await self.go("POST", "/api/cart", "cart_add", json={"product_id": product_id, "quantity": quantity})
        return response.status_code == 200

    async def checkout(self) -> None:
        await self.think()
        await self.go("GET", "/cart" if self.web else "/api/cart", "cart")
        await self.think()
        if self.web:
            await self.go("GET", "/checkout", "checkout_page")
            await self.think()
            await self.go("POST", "/checkout", "checkout", data={})
        else:
            await self.go("POST", "/api/orders", "checkout")

    async def logout(self) -> None:
        if self.web:
            await self.go("POST", "/logout", "logout", data={})
        else:
            await self.go("POST", "/api/auth/logout", "logout")
        self.client.token, self.client.logged_in = None, False


async def run_shopper(ctx: RunContext, plan: ShopperPlan) -> None:
    rng = random.Random(plan.seed)
    client = ctx.client(plan.profile)
    try:
        await ctx.sleep(plan.start_s)
        visit = 0
        while not ctx.over():
            visit += 1
            client.session = f"{plan.profile.client_id}/v{visit}"
            try:
                await ShopperVisit(ctx, client, plan, rng).run()
            except TurnedAway:
                await ctx.sleep(rng.uniform(*ctx.scenario.visit_gap_s) * 2)  # comes back much later, if at all
                continue
            low, high = ctx.scenario.visit_gap_s
            await ctx.sleep(rng.uniform(low, high))
    except RunOver:
        pass
    finally:
        await client.aclose()


# --- a whole run ------------------------------------------------------------------------------------------------


@dataclass
class SimulationResult:
    run_id: str
    run_dir: Path
    url: str
    started_at: str
    ended_at: str
    requests: int
    kinds: dict[str, KindStats]
    failures: list[str] = field(default_factory=list)
    """Clients that stopped on an error of the simulator's own (logged with their traceback)."""

    @property
    def ground_truth(self) -> Path:
        return self.run_dir / GROUND_TRUTH_FILE


def new_run_dir(out_dir: Path, seed: int, run_id: str | None = None) -> tuple[str, Path]:
    """A fresh ``<out_dir>/<run-id>/`` (``20261121T101500Z-seed7`` unless a run id is given)."""
    base = run_id or f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-seed{seed}"
    candidate, n = base, 1
    while (out_dir / candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    (out_dir / candidate).mkdir(parents=True)
    return candidate, out_dir / candidate


def _write_run_file(run_dir: Path, values: dict) -> None:
    path = run_dir / RUN_FILE
    current = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps({**current, **values}, indent=2, default=str) + "\n")


def _kind_summary(stats: dict[str, KindStats]) -> dict[str, dict]:
    return {kind: {"role": s.role, "clients": s.clients, "requests": s.requests, **dict(sorted(s.by_class.items())),
                   "blocked": s.blocked, "first_blocked_after_s": s.first_blocked_after_s()}
            for kind, s in stats.items()}


async def fetch_catalogue(ctx: RunContext) -> Catalogue:
    """Read the catalogue through the API, as a client of its own (role ``setup``) so that the log still matches."""
    client = ctx.client(ClientProfile("setup", "setup", "setup", SETUP_ADDRESS, "unseen-simulator"))
    products, page, pages = [], 1, 1
    try:
        while page <= pages:
            response = await client.request("GET", "/api/products", action="catalogue",
                                            params={"page": page, "per_page": 100})
            if response is None or response.status_code != 200:
                raise RuntimeError(f"cannot read the catalogue from {ctx.base_url}/api/products: "
                                   f"{'no answer' if response is None else response.status_code}")
            body = response.json()
            products += [(p["id"], p["name"], p["category"]) for p in body["items"]]
            page, pages = page + 1, body["pages"]
    finally:
        await client.aclose()
    return Catalogue.of(products)


def progress_view(ctx: RunContext) -> Table:
    elapsed = min(ctx.elapsed(), ctx.scenario.duration_s)
    table = Table(title=f"unseen simulate {ctx.run_id}: {elapsed:5.0f} / {ctx.scenario.duration_s:.0f} s, "
                        f"{ctx.sent:,} requests ({ctx.sent / max(ctx.elapsed(), 1e-9):.0f}/s)", title_justify="left")
    for column in ("clients", "requests", "2xx", "4xx", "403 blocked", "errors"):
        table.add_column(column, justify="right")
    table.add_column("client kind", justify="left")
    for kind, s in sorted(ctx.stats.items(), key=lambda item: (item[1].role != "shopper", item[0])):
        table.add_row(f"{s.clients:,}", f"{s.requests:,}", f"{s.by_class['2xx']:,}", f"{s.by_class['4xx']:,}",
                      f"{s.blocked:,}", f"{s.by_class['error']:,}", kind)
    return table


def summary_table(result: SimulationResult) -> Table:
    """One row per client kind: requests, answers by class, refusals by a block, and when the first came."""
    table = Table(title=f"unseen simulate {result.run_id}: {result.requests:,} requests against {result.url}")
    table.add_column("client kind")
    for column in ("clients", "requests", "2xx", "3xx", "4xx", "5xx", "403 blocked", "errors",
                   "first 403 after (s)"):
        table.add_column(column, justify="right")
    for kind, s in sorted(result.kinds.items(), key=lambda item: (item[1].role != "shopper", item[0])):
        first = s.first_blocked_after_s()
        table.add_row(kind, f"{s.clients:,}", f"{s.requests:,}", *(f"{s.by_class[c]:,}" for c in
                                                                    ("2xx", "3xx", "4xx", "5xx")),
                      f"{s.blocked:,}", f"{s.by_class['error']:,}", "-" if first is None else f"{first:.2f}")
    table.caption = f"ground truth: {result.ground_truth}"
    return table


async def run_traffic(scenario: Scenario, url: str, run_dir: Path, run_id: str, *, accounts: Sequence[Account] = (),
                      catalogue: Catalogue | None = None, payloads: Sequence[str] = (),
                      demo_password: str = "shopper-demo", console: Console | None = None) -> SimulationResult:
    """Play ``scenario`` against the shop at ``url``, writing the ground truth into ``run_dir``."""
    ctx = RunContext(scenario, url, run_id, run_dir / GROUND_TRUTH_FILE, catalogue=catalogue or Catalogue(()),
                     payloads=payloads, demo_password=demo_password)
    live = Live(progress_view(ctx), console=console, refresh_per_second=2, transient=True) if console else None
    try:
        if catalogue is None:
            ctx.catalogue = await fetch_catalogue(ctx)
        if not ctx.catalogue.products:
            raise RuntimeError(f"the shop at {url} has no products; seed it first (`unseen seed`)")
        plans, ctx.spare_accounts = plan_shoppers(scenario, accounts, ctx.catalogue, run_id)
        ctx.start()
        started_at = _iso(ctx.started)
        _write_run_file(run_dir, {"started_at": started_at, "status": "running"})
        tasks = [asyncio.create_task(run_shopper(ctx, plan)) for plan in plans]
        names = [plan.profile.client_id for plan in plans]
        addresses = attacks.plan_addresses(scenario.attacks, scenario.seed)
        tasks += [asyncio.create_task(attacks.run_attack(ctx, spec, ips))
                  for spec, ips in zip(scenario.attacks, addresses, strict=True)]
        names += [f"{spec.kind}@{spec.start_s:g}s" for spec in scenario.attacks]
        if live:
            live.start()
        pending = set(tasks)
        while pending:
            _, pending = await asyncio.wait(pending, timeout=0.5)
            ctx.flush()  # so that a notebook or dashboard can follow the ground truth while the run goes on
            if live:
                live.update(progress_view(ctx))
    finally:
        if live:
            live.stop()
        ctx.close()
    ended_at = _iso(time.time())
    # A bug in one client must not cost the run: it is logged with its context and listed in the result.
    failures = []
    for task, name in zip(tasks, names, strict=True):
        if task.exception() is not None:
            log.error("simulated client %s failed", name, exc_info=task.exception())
            failures.append(f"{name}: {type(task.exception()).__name__}: {task.exception()}")
    result = SimulationResult(run_id, run_dir, url, started_at, ended_at, ctx.sent, ctx.stats, failures)
    _write_run_file(run_dir, {
        "status": "finished", "ended_at": ended_at, "requests": ctx.sent, "summary": _kind_summary(ctx.stats),
        "failures": failures, "clients": [asdict(p) for p in ctx.profiles],
    })
    return result


def _run_to_end(coroutine):
    """``asyncio.run``, also from inside a running event loop (a notebook), where it gets a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def simulate(scenario: Scenario, *, url: str | None = None, database_url: str | None = None,
             out_dir: Path | None = DEFAULT_RUNS_DIR, run_id: str | None = None, settings: Settings | None = None,
             server_env: dict[str, str] | None = None, console: Console | None = None) -> SimulationResult:
    """Run ``scenario`` and return its summary; the run folder holds ``run.json`` and ``ground_truth.jsonl``.

    Without ``url`` a shop is started on ``database_url`` for the run (and stopped after it, which writes the
    last of its request log). With ``database_url`` the shoppers' accounts and the catalogue are read from the
    database; without it, shoppers register and the catalogue is read through the API.
    """
    from unseen.db import make_engine
    from unseen.simulate.server import running_shop

    settings = settings or Settings()
    out_dir = out_dir or settings.runs_dir / "simulations"
    if url is None and database_url is None:
        raise ValueError("give the URL of a running shop, or a database URL to start one on")
    kinds = {spec.kind for spec in scenario.attacks}
    payloads = attacks.load_sqli_payloads(settings.reference_data_dir / "sqli-payloads") \
        if "sql_injection" in kinds else []
    password = settings.demo_customer_password.get_secret_value()
    accounts, catalogue = [], None
    if database_url is not None:
        engine = make_engine(database_url)
        try:
            accounts, catalogue = load_accounts(engine, password), load_catalogue(engine)
        finally:
            engine.dispose()
    run_id, run_dir = new_run_dir(Path(out_dir), scenario.seed, run_id)
    shown_db = make_url(database_url).render_as_string(hide_password=True) if database_url else None
    _write_run_file(run_dir, {
        "run_id": run_id, "scenario": scenario.to_dict(), "server_url": url, "server_started": url is None,
        "database_url": shown_db, "ground_truth": GROUND_TRUTH_FILE, "ip_countries": ip_countries(),
        "attack_addresses": [{"kind": spec.kind, "start_s": spec.start_s, "addresses": ips} for spec, ips in
                             zip(scenario.attacks, attacks.plan_addresses(scenario.attacks, scenario.seed))],
        "accounts_from_database": len(accounts), "payloads": len(payloads), "status": "starting",
    })

    def play(base: str) -> SimulationResult:
        return _run_to_end(run_traffic(scenario, base, run_dir, run_id, accounts=accounts, catalogue=catalogue,
                                       payloads=payloads, demo_password=password, console=console))

    if url is not None:
        return play(url)
    with running_shop(database_url, env=server_env, log_path=run_dir / "server.log") as server:
        _write_run_file(run_dir, {"server_url": server.url})
        result = play(server.url)
    result.url = server.url
    _write_run_file(run_dir, {"server_stopped_at": _iso(time.time())})
    return result
