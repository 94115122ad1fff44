"""Simulated customers with habits: where they live, which browser they use, what they like, how often they come."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FIRST_NAMES = ["Jane", "Oliver", "Amelia", "Noah", "Isla", "Leo", "Ava", "Arthur", "Mia", "Oscar", "Freya", "Theo",
               "Lily", "Harry", "Grace", "Jack", "Sofia", "George", "Emily", "Lucas", "Hannah", "Max", "Chloe", "Ben",
               "Lena", "Jonas", "Marie", "Paul", "Emma", "Louis", "Sara", "Finn", "Zoe", "Adam", "Ines", "Hugo"]
LAST_NAMES = ["Doe", "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
              "Wright", "Walker", "Evans", "Thomas", "Roberts", "Muller", "Schmidt", "Martin", "Bernard", "Dubois",
              "Jansen", "de Vries", "Murphy", "Kelly", "Garcia", "Rossi", "Novak", "Nielsen", "Berg", "Costa"]
COUNTRIES = ["GB", "DE", "FR", "NL", "IE", "US", "ES", "BE", "CH", "NO"]
COUNTRY_WEIGHTS = [0.55, 0.1, 0.08, 0.05, 0.05, 0.05, 0.04, 0.03, 0.03, 0.02]
USER_AGENTS = {
    "Chrome/Windows": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Chrome/macOS": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Safari/iOS": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
    "Safari/macOS": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15",
    "Firefox/Windows": "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Edge/Windows": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "Chrome/Android": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
}
BROWSER_WEIGHTS = [0.3, 0.12, 0.2, 0.08, 0.1, 0.08, 0.12]


@dataclass(frozen=True)
class Archetype:
    """How a kind of shopper behaves on a visit. The clustering studies should find these groups again."""

    name: str
    share: float  # of all shoppers
    visits: float  # median visits per month
    views: tuple[int, int]  # products viewed per visit (low, high inclusive)
    favourite_p: float
    cart_p: float  # per viewed product
    buy_p: float  # per visit with a cart
    quantities: tuple[int, ...]
    price_bias: float  # >0 prefers cheap products, 0 indifferent
    hour: tuple[float, float]  # mean and spread of the visit hour (UTC)
    holiday_boost: float  # visit multiplier in October to December


ARCHETYPES = (
    Archetype("loyal regular", 0.25, 2.5, (2, 6), 0.15, 0.35, 0.8, (1, 1, 2, 2, 3), 0.0, (19, 2.5), 1.2),
    Archetype("window shopper", 0.25, 3.0, (6, 14), 0.05, 0.06, 0.25, (1,), 0.0, (14, 4.0), 1.0),
    Archetype("bargain hunter", 0.2, 2.0, (5, 10), 0.1, 0.3, 0.6, (1, 2, 3, 4), 2.0, (12, 3.0), 1.0),
    Archetype("seasonal gift buyer", 0.15, 0.4, (3, 8), 0.2, 0.4, 0.7, (1, 1, 2), 0.0, (20, 2.0), 6.0),
    Archetype("night owl", 0.1, 1.8, (3, 9), 0.1, 0.25, 0.55, (1, 1, 2), 0.0, (2, 1.2), 1.0),
    Archetype("wholesale buyer", 0.05, 0.6, (6, 12), 0.0, 0.6, 0.9, (12, 24, 36, 48), 0.5, (10, 1.5), 1.3),
)


@dataclass
class Shopper:
    index: int
    full_name: str
    email: str
    country: str
    browser: str
    ip: str
    visits_per_month: float
    preferred_hour: int
    category_taste: np.ndarray  # a weight per category, summing to one
    style_taste: np.ndarray  # a weight per product style (colourway, pattern), summing to one
    first_month: int
    last_month: int  # exclusive: a shopper may stop coming (churn)
    archetype: Archetype = ARCHETYPES[0]

    @property
    def user_agent(self) -> str:
        return USER_AGENTS[self.browser]


STYLES = 8
"""Product styles (a colourway or pattern that runs across categories); each shopper favours a few."""


def make_shoppers(rng: np.random.Generator, *, count: int, categories: list[str], months: int) -> list[Shopper]:
    """``count`` shoppers with stable habits. The first is Jane Doe, a habitual US Chrome user."""
    shoppers = []
    browsers = list(USER_AGENTS)
    for i in range(count):
        if i == 0:
            first, last, country, browser = "Jane", "Doe", "US", "Chrome/Windows"
        else:
            first = FIRST_NAMES[int(rng.integers(len(FIRST_NAMES)))]
            last = LAST_NAMES[int(rng.integers(len(LAST_NAMES)))]
            country = str(rng.choice(COUNTRIES, p=COUNTRY_WEIGHTS))
            browser = str(rng.choice(browsers, p=BROWSER_WEIGHTS))
        slug = f"{first}.{last}".lower().replace(" ", "")
        email = f"{slug}@shoppers.example" if i == 0 else f"{slug}.{i}@shoppers.example"
        taste = rng.dirichlet(np.full(len(categories), 0.4))
        style_taste = rng.dirichlet(np.full(STYLES, 0.3))
        first_month = 0 if rng.random() < 0.6 else int(rng.integers(0, max(1, months - 1)))
        lifetime = int(rng.geometric(1 / 30)) if rng.random() < 0.35 else months
        archetype = ARCHETYPES[int(rng.choice(len(ARCHETYPES), p=[a.share for a in ARCHETYPES]))]
        if i == 0:  # Jane is a loyal regular: there from the start, never churns, comes often
            first_month, lifetime, archetype = 0, months, ARCHETYPES[0]
        if archetype.name == "seasonal gift buyer":  # their taste leans to what people give
            gifts = np.array([c in ("Christmas", "Electronics", "Party", "Toys") for c in categories], dtype=float)
            taste = (taste + 2.0 * gifts / max(gifts.sum(), 1.0)) / 3.0
        shoppers.append(Shopper(
            index=i, full_name=f"{first} {last}", email=email, country=country, browser=browser,
            ip=f"10.{int(rng.integers(0, 256))}.{int(rng.integers(0, 256))}.{int(rng.integers(1, 255))}",
            visits_per_month=3.0 if i == 0 else float(np.clip(archetype.visits * rng.lognormal(0.0, 0.5), 0.1, 20.0)),
            preferred_hour=int(np.clip(rng.normal(*archetype.hour), 0, 23)),
            category_taste=taste, style_taste=style_taste, first_month=first_month,
            last_month=min(months, first_month + lifetime), archetype=archetype,
        ))
    return shoppers
