"""A seeded synthetic request log with labelled attacks, for tests and the anomaly study.

Normal traffic is shoppers on visits: they browse, search, open products, add to the cart and check out, with think
times of 1 to 20 seconds between page actions, a page sometimes followed by an API call a fraction of a second later,
browser user agents (a few use the shop's Android app, whose agent is an HTTP library's), the odd mistyped password
and missing product. A few operators edit the catalogue. Visits arrive more by day and in the evening than at night.

Attacks come from their own IPs, only after ``attack_after`` of the period has passed, so that the earlier part is
normal-only training data:

- ``flood``: one IP sends 100 to 300 requests per second for 20 to 60 seconds;
- ``password_guessing``: POST /api/auth/login at 0.5 to 3 per second for minutes, nearly all answered 401;
- ``scraping``: a tool walks /api/products/{id} id by id at a steady 0.5 to 3 per second, many ids answer 404;
- ``cart_spam``: a logged-in session POSTs /api/cart 1 to 4 times per second, often answered 409;
- ``sql_injection``: injection strings in query parameters and ids, mostly answered 400, 404 or 422.

Session ids are those of login sessions, as the shop keeps them: anonymous requests have none, so per-session windows
cover logged-in traffic only (among the attacks, cart spam). Rule verdicts (``category``, ``score``, ``reasons``,
``anomaly_kind``) are filled in roughly as the monitor's rules would, for studies that add them as features;
``model_score`` is empty and nothing is ``blocked``.
"""

from __future__ import annotations

import json
from numbers import Integral, Real

import numpy as np
import pandas as pd

from ._features import _window_slices

NORMAL = "normal"
ATTACK_KINDS = ("flood", "password_guessing", "scraping", "cart_spam", "sql_injection")
LOG_COLUMNS = (
    "at", "ip", "method", "path", "query", "status", "latency_ms", "user_agent", "referer", "user_id", "session_id",
    "role", "request_bytes", "response_bytes", "category", "score", "reasons", "anomaly_kind", "model_score", "blocked",
)
"""The request log's columns: :class:`~unseen.monitor.records.RequestRecord`'s fields without ``payload`` and
``login_email``, ``reasons`` as a JSON list. (The ``RequestLog`` table leaves out ``role`` too; nothing here needs
it.)"""
BROWSER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 "
    "Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 "
    "Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile "
    "Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 "
    "Edg/124.0.0.0",
)
APP_AGENT = "UnseenShop/2.3 (Android 14) okhttp/4.12.0"
CATEGORIES = ("Toys", "Garden", "Kitchen", "Books", "Sports", "Beauty", "Electronics")
SEARCH_WORDS = ("lamp", "mug", "puzzle", "shoes", "kettle", "yoga mat", "headphones", "novel", "rake", "lego")
N_PRODUCTS = 2_000
DELETED_SHARE = 0.15
"""Products ids run from 1 to N_PRODUCTS; this share of them was deleted and answers 404."""
INJECTIONS = (
    "' OR '1'='1", "' OR 1=1--", "1' AND SLEEP(5)--", "' UNION SELECT username, password FROM users--",
    "1; DROP TABLE products--", "\" OR \"\"=\"", "' AND extractvalue(1,concat(0x7e,version()))--",
    "admin'--", "1 OR 1=1", "' OR 'x'='x'/*", "%27%20OR%201%3D1--", "1) UNION ALL SELECT NULL,NULL,NULL--",
)
# Relative chance that a visit starts in each UTC hour: quiet nights, a lunch peak and a long evening.
HOUR_PROFILE = np.array([1, 0.6, 0.4, 0.3, 0.3, 0.5, 1, 2, 3, 3.5, 4, 4.5, 5, 5, 4.5, 4, 4, 4.5, 5.5, 6.5, 7, 6, 4, 2])


class _Log:
    """Columns of the log being built, appended to one request or one burst at a time."""

    def __init__(self) -> None:
        self.parts: list[pd.DataFrame] = []
        self.rows: list[tuple] = []

    def add(self, t, ip, method, path, status, *, query="", latency=20.0, agent=None, referer=None, user_id=None,
            session_id=None, role=None, request_bytes=0, response_bytes=0, category="normal", score=0, reasons=(),
            attack=NORMAL) -> None:
        self.rows.append((t, ip, method, path, query, status, latency, agent, referer, user_id, session_id, role,
                          request_bytes, response_bytes, category, score, json.dumps(list(reasons)), attack))

    def add_many(self, times, ip, method, paths, statuses, *, queries="", latencies, agent, user_id=None,
                 session_id=None, role=None, request_bytes=0, response_bytes, category="normal", score=0,
                 reasons=(), attack) -> None:
        """One attack's requests at once; arrays are per request, scalars are shared by all."""
        n = len(times)
        reasons = reasons if isinstance(reasons, np.ndarray) else np.full(n, json.dumps(list(reasons)), dtype=object)
        self.parts.append(pd.DataFrame({
            "t": times, "ip": ip, "method": method, "path": paths, "query": queries, "status": statuses,
            "latency_ms": latencies, "user_agent": agent, "referer": None, "user_id": user_id,
            "session_id": session_id, "role": role, "request_bytes": request_bytes, "response_bytes": response_bytes,
            "category": category, "score": score, "reasons": reasons, "attack": attack,
        }, index=pd.RangeIndex(n)))

    def frame(self, start: pd.Timestamp) -> pd.DataFrame:
        rows = pd.DataFrame(self.rows, columns=["t", *LOG_COLUMNS[1:-3], "attack"])
        parts = [part.astype(object) for part in (rows, *self.parts) if len(part)]
        log = pd.concat(parts, ignore_index=True) if parts else rows
        log.insert(0, "at", start + pd.to_timedelta(np.round(log.pop("t").to_numpy(dtype=np.float64) * 1e6), unit="us"))
        log = log.sort_values(["at", "ip"], kind="stable").reset_index(drop=True)
        for column in ("user_id", "session_id"):
            log[column] = log[column].astype("Int64")
        for column in ("status", "request_bytes", "response_bytes", "score"):
            log[column] = log[column].astype(np.int64)
        log["latency_ms"] = log["latency_ms"].astype(np.float64)
        for column in ("ip", "method", "path", "query", "category", "reasons", "attack"):
            log[column] = log[column].astype("str")
        for column in ("user_agent", "referer", "role"):
            log[column] = log[column].astype("str")  # missing values stay missing in pandas' str dtype
        log["at"] = log["at"].dt.as_unit("us")
        # The rules name the kind of what they call an anomaly; no model has scored these requests yet.
        flagged = (log["category"] == "anomaly") & (log["attack"] != NORMAL)
        log.insert(len(LOG_COLUMNS) - 3, "anomaly_kind", log["attack"].where(flagged).astype("str"))
        log.insert(len(LOG_COLUMNS) - 2, "model_score", np.nan)
        log.insert(len(LOG_COLUMNS) - 1, "blocked", False)
        return log


def _ip(rng: np.random.Generator, taken: set[str]) -> str:
    while True:
        ip = f"{rng.integers(11, 223)}.{rng.integers(0, 256)}.{rng.integers(0, 256)}.{rng.integers(1, 255)}"
        if ip not in taken:
            taken.add(ip)
            return ip


def _latency(rng: np.random.Generator, median: float, size=None):
    return np.round(median * rng.lognormal(0.0, 0.45, size=size), 2)


def _think(rng: np.random.Generator) -> float:
    return float(np.exp(rng.uniform(0.0, np.log(20.0))))


def _shopper_visit(log: _Log, rng: np.random.Generator, t: float, ip: str, agent: str, user_id, session_id,
                   end: float) -> None:
    """One shopper's visit from ``t``: a random walk over the shop's pages until they leave or the period ends."""
    logged_in = False
    referer = None
    actions = int(rng.integers(4, 36))
    cart_filled = False
    who = {"agent": agent}

    def request(method, path, status, *, query="", html=False, small=False, **extra):
        size = rng.integers(40, 200) if small else (rng.integers(12_000, 40_000) if html else rng.integers(500, 8_000))
        if status >= 400:
            size = rng.integers(30, 120)
        if rng.random() < 0.003:
            status = int(rng.choice([500, 502, 503]))
        log.add(t, ip, method, path, status, query=query, latency=float(_latency(rng, 45.0 if html else 20.0)),
                referer=referer, user_id=user_id if logged_in else None,
                session_id=session_id if logged_in else None, role="customer" if logged_in else None,
                request_bytes=int(rng.integers(40, 300)) if method != "GET" else 0, response_bytes=int(size),
                **who, **extra)

    for _ in range(actions):
        if t >= end:
            return
        roll = rng.random()
        if roll < 0.12:
            request("GET", "/", 200, html=True)
            t += rng.uniform(0.05, 0.6)
            request("GET", "/api/feed", 200)
            referer = "/"
        elif roll < 0.30:
            page = int(rng.integers(1, 6))
            request("GET", "/products", 200, query=f"category={rng.choice(CATEGORIES)}&page={page}", html=True)
            referer = "/products"
        elif roll < 0.42:
            words = str(rng.choice(SEARCH_WORDS)).replace(" ", "+")
            request("GET", "/api/products", 200, query=f"q={words}&page=1")
        elif roll < 0.70:
            product = int(rng.integers(1, N_PRODUCTS + 1))
            status = 404 if rng.random() < 0.02 else 200  # shoppers follow links, so they rarely meet a deleted one
            request("GET", f"/products/{product}", status, html=True)
            if status == 200 and rng.random() < 0.4:
                t += rng.uniform(0.05, 0.5)
                request("GET", f"/api/products/{product}", 200)
            referer = f"/products/{product}"
        elif roll < 0.80:
            if not logged_in and user_id is not None and rng.random() < 0.7:
                request("GET", "/login", 200, html=True)
                t += _think(rng)
                while rng.random() < 0.08:  # a mistyped password
                    request("POST", "/api/auth/login", 401, small=True)
                    t += _think(rng)
                request("POST", "/api/auth/login", 200, small=True)
                logged_in = True
            status = 409 if rng.random() < 0.03 else 200
            request("POST", "/api/cart", status)
            cart_filled = cart_filled or status == 200
        elif roll < 0.87:
            request("GET", "/cart", 200, html=True)
            referer = "/cart"
        elif roll < 0.92 and cart_filled and logged_in:
            request("GET", "/checkout", 200, html=True)
            t += _think(rng)
            request("POST", "/checkout", 303, small=True)
            t += rng.uniform(0.05, 0.4)
            request("GET", f"/orders/{int(rng.integers(1, 50_000))}", 200, html=True)
            cart_filled = False
        elif roll < 0.96 and logged_in:
            request("POST", "/api/favourites", 201)
        else:
            request("GET", "/api/products/categories", 200)
        t += _think(rng)


def _operator_visit(log: _Log, rng: np.random.Generator, t: float, ip: str, agent: str, user_id, session_id,
                    end: float) -> None:
    """An operator logs in and reviews or edits products."""
    common = {"agent": agent, "user_id": user_id, "session_id": session_id, "role": "operator"}
    log.add(t, ip, "POST", "/api/auth/login", 200, latency=float(_latency(rng, 80.0)), request_bytes=90,
            response_bytes=150, **common)
    for _ in range(int(rng.integers(3, 20))):
        t += float(np.exp(rng.uniform(np.log(3.0), np.log(30.0))))
        if t >= end:
            return
        product = int(rng.integers(1, N_PRODUCTS + 1))
        roll = rng.random()
        if roll < 0.4:
            log.add(t, ip, "GET", "/operator/products", 200, query=f"page={rng.integers(1, 20)}",
                    latency=float(_latency(rng, 60.0)), response_bytes=int(rng.integers(20_000, 60_000)), **common)
        elif roll < 0.7:
            log.add(t, ip, "GET", f"/operator/products/{product}", 200, latency=float(_latency(rng, 40.0)),
                    response_bytes=int(rng.integers(8_000, 15_000)), **common)
        else:
            log.add(t, ip, "POST", f"/operator/products/{product}", 303, latency=float(_latency(rng, 90.0)),
                    request_bytes=int(rng.integers(200, 900)), **common)


def _attack_times(rng: np.random.Generator, start: float, rate_low: float, rate_high: float, duration: float,
                  intensity: float, *, steady: bool = False) -> np.ndarray:
    """Request times of an attack: exponential gaps around a random rate, or near-constant ones for a script."""
    rate = rng.uniform(rate_low, rate_high) * intensity
    n = max(int(rate * duration), 2)
    gaps = rng.normal(1.0 / rate, 0.08 / rate, n).clip(0.2 / rate) if steady else rng.exponential(1.0 / rate, n)
    return start + np.cumsum(gaps)


def _rule_verdicts(n: int, warn_after: int, flag_after: int, reason: str):
    """Category, score and reasons of an attack's requests as a counting rule would give them, request by request."""
    seen = np.arange(n)
    category = np.where(seen >= flag_after, "anomaly", np.where(seen >= warn_after, "warning", "normal"))
    score = np.where(seen >= flag_after, 10, np.where(seen >= warn_after, 5, 0))
    reasons = np.where(seen >= warn_after, json.dumps([reason]), "[]").astype(object)
    return {"category": category, "score": score, "reasons": reasons}


def _flood(log, rng, start, ip, intensity):
    times = _attack_times(rng, start, 100, 300, rng.uniform(20, 60), intensity)
    n = len(times)
    agent = str(rng.choice(BROWSER_AGENTS)) if rng.random() < 0.5 else "Go-http-client/1.1"
    targets = [("/", ""), ("/api/products", "page=1"), ("/products", "page=1")]
    path, query = targets[int(rng.integers(len(targets)))]
    overload = rng.random(n) < np.linspace(0.0, 0.3, n)
    log.add_many(times, ip, "GET", path, np.where(overload, 503, 200), queries=query,
                 latencies=_latency(rng, 40.0 + 300.0 * np.arange(n) / n), agent=agent,
                 response_bytes=np.where(overload, 60, rng.integers(12_000, 30_000, n)),
                 **_rule_verdicts(n, 30, 120, "request rate"), attack="flood")


def _password_guessing(log, rng, start, ip, intensity):
    times = _attack_times(rng, start, 0.5, 3.0, rng.uniform(180, 600), intensity)
    n = len(times)
    agent = "python-requests/2.32.3" if rng.random() < 0.5 else str(rng.choice(BROWSER_AGENTS))
    statuses = np.full(n, 401)
    if rng.random() < 0.3:  # the odd guess that works
        statuses[rng.integers(n)] = 200
    log.add_many(times, ip, "POST", "/api/auth/login", statuses, latencies=_latency(rng, 120.0, n), agent=agent,
                 request_bytes=rng.integers(60, 110, n), response_bytes=rng.integers(40, 60, n),
                 **_rule_verdicts(n, 5, 20, "login failures"), attack="password_guessing")


def _scraping(log, rng, start, ip, intensity):
    times = _attack_times(rng, start, 0.5, 3.0, rng.uniform(120, 480), intensity, steady=True)
    n = len(times)
    agent = "Scrapy/2.11.2 (+https://scrapy.org)" if rng.random() < 0.5 else "python-httpx/0.27.0"
    products = int(rng.integers(1, N_PRODUCTS)) + np.arange(n)
    # Past the newest product, and where a product was deleted, the walk meets 404s.
    found = (products <= N_PRODUCTS) & (rng.random(n) >= DELETED_SHARE)
    log.add_many(times, ip, "GET", np.char.add("/api/products/", products.astype(str)).astype(object),
                 np.where(found, 200, 404), latencies=_latency(rng, 18.0, n), agent=agent,
                 response_bytes=np.where(found, rng.integers(800, 3_000, n), 40),
                 **_rule_verdicts(n, 100, 400, "tool agent"), attack="scraping")


def _cart_spam(log, rng, start, ip, intensity, user_id, session_id):
    times = _attack_times(rng, start, 1.0, 4.0, rng.uniform(120, 360), intensity)
    n = len(times)
    log.add_many(times, ip, "POST", "/api/cart", rng.choice([200, 409, 422], size=n, p=[0.6, 0.3, 0.1]),
                 latencies=_latency(rng, 35.0, n), agent=str(rng.choice(BROWSER_AGENTS)), user_id=user_id,
                 session_id=session_id, role="customer", request_bytes=rng.integers(30, 60, n),
                 response_bytes=rng.integers(300, 2_500, n), **_rule_verdicts(n, 20, 60, "cart rate"),
                 attack="cart_spam")


def _sql_injection(log, rng, start, ip, intensity):
    times = _attack_times(rng, start, 0.5, 3.0, rng.uniform(120, 480), intensity)
    n = len(times)
    agent = "sqlmap/1.8.4#stable (https://sqlmap.org)" if rng.random() < 0.5 else str(rng.choice(BROWSER_AGENTS))
    paths, queries = [], []
    for _ in range(n):
        payload = str(rng.choice(INJECTIONS)) + ("" if rng.random() < 0.5 else f" -- {rng.integers(1, 10_000)}")
        encoded = payload.replace(" ", "%20").replace("'", "%27")
        roll = rng.random()
        if roll < 0.5:
            paths.append("/api/products"), queries.append(f"q={encoded}&page=1")
        elif roll < 0.8:
            paths.append("/products"), queries.append(f"category={encoded}")
        else:
            paths.append(f"/api/products/{encoded}"), queries.append("")
    log.add_many(times, ip, "GET", np.array(paths, dtype=object), rng.choice([422, 400, 404, 200, 500], size=n,
                 p=[0.45, 0.2, 0.15, 0.15, 0.05]), queries=np.array(queries, dtype=object),
                 latencies=_latency(rng, 30.0, n), agent=agent, response_bytes=rng.integers(80, 400, n),
                 category="anomaly", score=10, reasons=("sql injection",), attack="sql_injection")


def _check_arguments(n_shoppers, attacks, attackers_per_kind, hours, attack_after, intensity) -> None:
    if isinstance(n_shoppers, bool) or not isinstance(n_shoppers, Integral) or n_shoppers < 1:
        raise ValueError(f"n_shoppers must be a positive integer; got {n_shoppers!r}.")
    unknown = sorted(set(attacks) - set(ATTACK_KINDS))
    if unknown:
        raise ValueError(f"unknown attack kind(s) {unknown}; expected some of {list(ATTACK_KINDS)}.")
    if isinstance(attackers_per_kind, bool) or not isinstance(attackers_per_kind, Integral) or attackers_per_kind < 0:
        raise ValueError(f"attackers_per_kind must be a non-negative integer; got {attackers_per_kind!r}.")
    if not isinstance(hours, Real) or hours < 1:
        raise ValueError(f"hours must be a number of at least 1; got {hours!r}.")
    if not isinstance(attack_after, Real) or not 0 <= attack_after < 1:
        raise ValueError(f"attack_after must be a share of the period in [0, 1); got {attack_after!r}.")
    if isinstance(intensity, bool) or not isinstance(intensity, Real) or not 0 < intensity <= 100:
        raise ValueError(f"intensity must be a positive factor on the attack rates (at most 100); got {intensity!r}.")


def synthetic_requests(n_shoppers=200, *, attacks=ATTACK_KINDS, attackers_per_kind=3, start="2026-11-19",
                       hours=48.0, attack_after=0.5, intensity=1.0, random_state=0):
    """A synthetic request log of shoppers and labelled attacks.

    Parameters
    ----------
    n_shoppers : int, default=200
        Shoppers, each with their own IP and one to a few visits per day; about one in fifty is an operator.
    attacks : sequence of str, default=ATTACK_KINDS
        Which attack kinds to stage.
    attackers_per_kind : int, default=3
        Attacks of each kind, each from its own IP at its own time.
    start : str or Timestamp, default="2026-11-19"
        Start of the period, in UTC.
    hours : float, default=48.0
        Length of the period. Two days let a model trained on the first day see every hour of the day.
    attack_after : float, default=0.5
        Share of the period before which no attack starts.
    intensity : float, default=1.0
        Factor on every attack's request rate; 0.1 gives low-and-slow attacks (a flood of 10 to 30 requests per
        second, a password guess every 3 to 20 seconds) that are much harder to tell from shoppers.
    random_state : int, default=0
        Seed; the same seed gives the same log.

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`LOG_COLUMNS` plus ``attack`` (``"normal"`` or the attack kind), one row per request,
        in time order.

    Examples
    --------
    >>> log = synthetic_requests(20, attackers_per_kind=1, hours=4, random_state=1)
    >>> sorted(log["attack"].unique())
    ['cart_spam', 'flood', 'normal', 'password_guessing', 'scraping', 'sql_injection']
    >>> attempts = log[log["attack"] == "password_guessing"]
    >>> attempts["path"].unique().tolist(), bool((attempts["status"] == 401).mean() > 0.9)
    (['/api/auth/login'], True)
    >>> log.equals(synthetic_requests(20, attackers_per_kind=1, hours=4, random_state=1))
    True
    """
    attacks = tuple(attacks)
    _check_arguments(n_shoppers, attacks, attackers_per_kind, hours, attack_after, intensity)
    rng = np.random.default_rng(random_state)
    start = pd.Timestamp(start)
    start = start.tz_localize("UTC") if start.tzinfo is None else start.tz_convert("UTC")
    end = float(hours) * 3600.0
    start_hour = start.hour + start.minute / 60.0
    log = _Log()
    taken: set[str] = set()
    next_session = 1_000

    def visit_start() -> float:
        # Draw an hour of the day by the profile, then a day of the period and a minute within the hour.
        while True:
            hour = rng.choice(24, p=HOUR_PROFILE / HOUR_PROFILE.sum())
            day = rng.integers(0, int(np.ceil(hours / 24.0)) + 1)
            t = (day * 24 + hour - start_hour + rng.random()) * 3600.0
            if 0 <= t < end:
                return float(t)

    for shopper in range(n_shoppers):
        ip = _ip(rng, taken)
        operator = rng.random() < 0.02
        user_id = shopper + 1 if operator or rng.random() < 0.7 else None
        agent = APP_AGENT if rng.random() < 0.05 else str(rng.choice(BROWSER_AGENTS))
        for _ in range(1 + rng.poisson(1.5 * hours / 24.0)):
            next_session += 1
            visit = _operator_visit if operator else _shopper_visit
            visit(log, rng, visit_start(), ip, agent, user_id, next_session, end)

    stagers = {"flood": _flood, "password_guessing": _password_guessing, "scraping": _scraping,
               "sql_injection": _sql_injection}
    for kind in attacks:
        for _ in range(attackers_per_kind):
            # Leave room for the longest attack before the period ends.
            at = float(rng.uniform(attack_after * end, max(attack_after * end, end - 900.0)))
            ip = _ip(rng, taken)
            if kind == "cart_spam":
                next_session += 1
                _cart_spam(log, rng, at, ip, intensity, 100_000 + next_session, next_session)
            else:
                stagers[kind](log, rng, at, ip, intensity)
    return log.frame(start)


def window_labels(requests, by="ip", window="60s", step=None, *, label="attack"):
    """The label of every window :func:`~unseen.ml.anomaly.window_features` makes from the same log.

    A window takes the attack kind that most of its attack requests have, and ``"normal"`` when it holds none.

    Parameters
    ----------
    requests : pandas.DataFrame
        A request log with a label column, as :func:`synthetic_requests` returns.
    by, window, step
        As passed to :func:`~unseen.ml.anomaly.window_features`.
    label : str, default="attack"
        The column that labels each request; ``"normal"`` marks normal requests.

    Returns
    -------
    pandas.Series of str
        One label per window, in the row order of ``window_features(requests, by, window, step)``.

    Examples
    --------
    >>> from unseen.ml.anomaly import window_features
    >>> log = synthetic_requests(10, attacks=["flood"], attackers_per_kind=1, hours=2, random_state=0)
    >>> windows, labels = window_features(log), window_labels(log)
    >>> len(windows) == len(labels), sorted(labels.unique())
    (True, ['flood', 'normal'])
    """
    if label not in requests:
        raise ValueError(f"requests has no label column {label!r}; got columns {list(requests.columns)}.")
    frame, _, _, _, _, _, lo, hi = _window_slices(requests, by, window, step)
    kinds = frame[label].astype("str").to_numpy()
    attack_kinds = sorted(set(kinds) - {NORMAL})
    out = np.full(len(lo), NORMAL, dtype=object)
    if attack_kinds and len(lo):
        counts = np.column_stack([
            np.concatenate([[0], np.cumsum(kinds == kind)])[hi] - np.concatenate([[0], np.cumsum(kinds == kind)])[lo]
            for kind in attack_kinds
        ])
        has_attack = counts.sum(axis=1) > 0
        out[has_attack] = np.asarray(attack_kinds, dtype=object)[counts[has_attack].argmax(axis=1)]
    return pd.Series(out, name=label, dtype="str")
