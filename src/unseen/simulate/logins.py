"""Login scenarios with ground truth, played over real HTTP: habitual logins, travelling users, a new device at home,
and account takeovers (the right password from another country and another browser).

Accounts come from the seeded database with the place and browser they last logged in from. Each login is a
``POST /api/auth/login`` from its own address (through the shop's trusted proxy, as ``X-Forwarded-For``) and user
agent; the answer says whether the shop asked for a step-up. The ground truth (``logins.jsonl``) never reaches the
shop. ``unseen evaluate logins RUN`` joins it with the ``login_attempt`` rows to read both models' risk scores.
"""

from __future__ import annotations

import json
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from unseen.logins.context import GeoResolver, parse_user_agent, random_address
from unseen.simulate.shoppers import USER_AGENTS
from unseen.simulate.traffic import Account

KINDS = ("habitual", "traveller", "new_device", "takeover")
LEGITIMATE = frozenset({"habitual", "traveller", "new_device"})
TRUTH_FILE = "logins.jsonl"
RUN_FILE = "run.json"
TRAVEL_COUNTRIES = ("ES", "FR", "IT", "PT", "GR", "US", "GB", "DE", "NL", "AT", "HR", "TR", "TH", "JP")
ATTACKER_COUNTRIES = ("UA", "RU", "CN", "BR", "NG", "VN", "IN", "ID", "RO", "KZ")
OTHER_AGENTS = {
    "Firefox/Linux": "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Chrome/Linux": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Opera/Windows": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
                     "Safari/537.36 OPR/115.0.0.0",
    "Safari/iPad": "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 "
                   "Mobile/15E148 Safari/604.1",
}
AGENTS = {**USER_AGENTS, **OTHER_AGENTS}


@dataclass(frozen=True)
class LoginScenario:
    """How many of each kind: ``habitual`` logins per user; the shares of users who travel, bring a new device, or
    are targeted by a takeover (each such user gives one login of that kind)."""

    users: int = 100
    habitual: int = 3
    travellers: float = 0.3
    new_devices: float = 0.2
    takeovers: float = 0.5
    seed: int = 7
    concurrency: int = 4

    def __post_init__(self) -> None:
        problems = [f"{name} {getattr(self, name)!r} (expected a share from 0 to 1)"
                    for name in ("travellers", "new_devices", "takeovers") if not 0 <= getattr(self, name) <= 1]
        if self.users < 1 or self.habitual < 0 or not 1 <= self.concurrency <= 32:
            problems.append("users must be at least 1, habitual 0 or more, concurrency from 1 to 32")
        if problems:
            raise ValueError("invalid login scenario: " + "; ".join(problems))


@dataclass(frozen=True)
class PlannedLogin:
    kind: str
    email: str
    password: str
    ip: str
    user_agent: str
    country: str | None

    @property
    def legitimate(self) -> bool:
        return self.kind in LEGITIMATE


def plan_logins(scenario: LoginScenario, accounts: list[Account],
                known_browsers: dict[str, set[str]] | None = None) -> list[PlannedLogin]:
    """The logins of the scenario: every user's habitual ones first (shuffled), then the unusual ones (shuffled).

    ``known_browsers`` (e-mail to the browser families of the account's past logins) makes sure that a takeover and
    a new device use a browser the account never used; without it only the latest one is avoided."""
    usable = [a for a in accounts if a.home_ip and a.user_agent and a.country]
    if not usable:
        raise ValueError("no account has a login history to start from; seed the shop first (`unseen seed`)")
    rng = random.Random(f"{scenario.seed}:logins")
    geo = GeoResolver()
    users = rng.sample(usable, k=min(scenario.users, len(usable)))
    habitual, unusual = [], []
    for account in users:
        habitual += [PlannedLogin("habitual", account.email, account.password, account.home_ip, account.user_agent,
                                  account.country) for _ in range(scenario.habitual)]
        used = (known_browsers or {}).get(account.email) or {parse_user_agent(account.user_agent)[0]}
        others = [ua for ua in AGENTS.values() if parse_user_agent(ua)[0] not in used] or \
            [ua for ua in AGENTS.values() if ua != account.user_agent]
        if rng.random() < scenario.travellers:
            country = rng.choice([c for c in TRAVEL_COUNTRIES if c != account.country])
            unusual.append(PlannedLogin("traveller", account.email, account.password,
                                        random_address(country, rng, geo=geo), account.user_agent, country))
        if rng.random() < scenario.new_devices:
            unusual.append(PlannedLogin("new_device", account.email, account.password, account.home_ip,
                                        rng.choice(others), account.country))
        if rng.random() < scenario.takeovers:
            country = rng.choice([c for c in ATTACKER_COUNTRIES if c != account.country])
            unusual.append(PlannedLogin("takeover", account.email, account.password,
                                        random_address(country, rng, geo=geo), rng.choice(others), country))
    rng.shuffle(habitual)
    rng.shuffle(unusual)
    return habitual + unusual


def play_logins(plan: list[PlannedLogin], base_url: str, run_dir: Path, *, concurrency: int = 4,
                timeout_s: float = 30.0) -> list[dict]:
    """Send every planned login (each client logs out again); write and return the ground truth."""
    truth_path = run_dir / TRUTH_FILE
    lock = threading.Lock()
    rows: list[dict] = []

    def one(i: int, login: PlannedLogin) -> None:
        headers = {"X-Forwarded-For": login.ip, "User-Agent": login.user_agent, "Accept": "application/json"}
        with httpx.Client(base_url=base_url, headers=headers, timeout=timeout_s) as client:
            sent = datetime.now(UTC)
            status, step_up, error = None, None, None
            try:
                response = client.post("/api/auth/login", json={"email": login.email, "password": login.password})
                status = response.status_code
                if status == 200:
                    body = response.json()
                    step_up = bool(body.get("step_up_required"))
                    client.post("/api/auth/logout", headers={"Authorization": f"Bearer {body['token']}"})
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"[:300]
        row = {"seq": i + 1, **asdict(login), "legitimate": login.legitimate, "sent_at": sent.isoformat(),
               "received_at": datetime.now(UTC).isoformat(), "status": status, "step_up_required": step_up,
               "error": error}
        row.pop("password")
        with lock:
            rows.append(row)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(lambda item: one(*item), enumerate(plan)))
    rows.sort(key=lambda row: row["seq"])
    truth_path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return rows


def known_browsers(engine) -> dict[str, set[str]]:
    """Each account's browser families from its login history."""
    from sqlalchemy import select

    from unseen.tables import LoginAttempt

    with engine.connect() as conn:
        rows = conn.execute(select(LoginAttempt.email, LoginAttempt.browser).where(LoginAttempt.success.is_(True))
                            .distinct()).all()
    found: dict[str, set[str]] = {}
    for email, browser in rows:
        found.setdefault(email, set()).add(browser)
    return found


def simulate_logins(scenario: LoginScenario, accounts: list[Account], base_url: str, out_dir: Path,
                    browsers: dict[str, set[str]] | None = None) -> Path:
    """Plan and play the scenario against the shop at ``base_url``; returns the run folder."""
    run_id = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-logins-seed{scenario.seed}"
    run_dir = Path(out_dir) / run_id
    n = 1
    while run_dir.exists():
        n += 1
        run_dir = Path(out_dir) / f"{run_id}-{n}"
    run_dir.mkdir(parents=True)
    plan = plan_logins(scenario, accounts, browsers)
    started = time.time()
    (run_dir / RUN_FILE).write_text(json.dumps({"run_id": run_dir.name, "scenario": asdict(scenario),
                                                "server_url": base_url, "planned": len(plan)}, indent=2) + "\n")
    rows = play_logins(plan, base_url, run_dir, concurrency=scenario.concurrency)
    run = json.loads((run_dir / RUN_FILE).read_text())
    run.update({"seconds": round(time.time() - started, 1), "sent": len(rows),
                "errors": sum(1 for r in rows if r["error"])})
    (run_dir / RUN_FILE).write_text(json.dumps(run, indent=2) + "\n")
    return run_dir
