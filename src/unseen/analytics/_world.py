"""The population behind generated transactions: card holders, their cards, merchants, habits and trips.

Everything here is small (thousands of users and cards, up to 100k merchants) and built once from the seed; the
streaming generator then draws millions of rows from it. Times are days since 2010-01-01 (the first day of the
Kaggle data); months are counted from January 1991, the earliest account opening in the real cards file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from unseen.analytics._mcc_codes import category_arrays
from unseen.analytics._places import STREET_NAMES, STREET_SUFFIXES, distance_km, foreign_city_arrays, us_city_arrays

EPOCH = np.datetime64("2010-01-01", "D")
N_DAYS = int((np.datetime64("2019-10-31", "D") - EPOCH).astype(int)) + 1
MONTH_ZERO = np.datetime64("1991-01", "M")
LAST_OPEN_MONTH = int((np.datetime64("2020-02", "M") - MONTH_ZERO).astype(int))
"""The snapshot month of the real cards and users files: the last accounts opened then."""
DATA_FIRST_MONTH = int((np.datetime64("2010-01", "M") - MONTH_ZERO).astype(int))
DATA_LAST_MONTH = int((np.datetime64("2019-10", "M") - MONTH_ZERO).astype(int))
NEVER = N_DAYS + 1

SWIPE, CHIP, ONLINE = 0, 1, 2
DEBIT, CREDIT, PREPAID = 0, 1, 2


def month_first_day(months: np.ndarray) -> np.ndarray:
    """Day index (days since 2010-01-01, negative before) of the first day of each month index."""
    first = (MONTH_ZERO + np.asarray(months).astype("timedelta64[M]")).astype("datetime64[D]")
    return (first - EPOCH).astype(np.int64)


@dataclass
class Pools:
    """Merchants grouped by where they trade (one pool per city, one for all online merchants).

    ``popular_cum`` and ``fraud_cum`` hold, per pool, the cumulative share of popularity (or of fraudsters'
    preference) offset by the pool number, so one ``searchsorted`` draws a merchant for many rows at once.
    """

    members: np.ndarray
    popular_cum: np.ndarray
    fraud_cum: np.ndarray
    online: int
    first_foreign: int

    def draw(self, pool: np.ndarray, u: np.ndarray, *, fraud: bool = False) -> np.ndarray:
        cum = self.fraud_cum if fraud else self.popular_cum
        return self.members[np.minimum(np.searchsorted(cum, pool + u, side="right"), len(cum) - 1)]


@dataclass
class World:
    """Users, cards, merchants and habits, as parallel NumPy arrays (index = position, not the written id)."""

    # users (id = position)
    home_city: np.ndarray
    latitude: np.ndarray
    longitude: np.ndarray
    age: np.ndarray
    retirement_age: np.ndarray
    birth_year: np.ndarray
    birth_month: np.ndarray
    female: np.ndarray
    address: list[str]
    per_capita_income: np.ndarray
    yearly_income: np.ndarray
    total_debt: np.ndarray
    credit_score: np.ndarray
    online_share: np.ndarray
    hour_shift: np.ndarray
    churn_day: np.ndarray
    # cards (position; ``card_id`` is the written id)
    card_id: np.ndarray
    card_user: np.ndarray
    card_brand: np.ndarray
    card_type: np.ndarray
    card_number: np.ndarray
    cvv: np.ndarray
    has_chip: np.ndarray
    cards_issued: np.ndarray
    credit_limit: np.ndarray
    open_month: np.ndarray
    expires_month: np.ndarray
    pin_year: np.ndarray
    card_start: np.ndarray
    card_end: np.ndarray
    chip_day: np.ndarray
    card_rate: np.ndarray
    dark_web: np.ndarray
    # merchants
    merchant_id: np.ndarray
    merchant_mcc: np.ndarray
    merchant_pool: np.ndarray
    merchant_zip: np.ndarray
    merchant_price: np.ndarray
    merchant_slope: np.ndarray
    merchant_pivot: np.ndarray
    merchant_popularity: np.ndarray
    pools: Pools
    # habits
    favourite_merchant: np.ndarray
    favourite_cum: np.ndarray
    trip_key: np.ndarray
    trip_end: np.ndarray
    trip_pool: np.ndarray

    @property
    def n_users(self) -> int:
        return len(self.home_city)

    @property
    def n_cards(self) -> int:
        return len(self.card_id)

    @property
    def n_merchants(self) -> int:
        return len(self.merchant_id)

    def merchant_factor(self, merchant: np.ndarray, day: np.ndarray) -> np.ndarray:
        """How open for business a merchant is on a day: 1 normally, ramping to 0 as it closes (or before it opens)."""
        slope = self.merchant_slope[merchant]
        return np.clip(1.0 + slope * (day - self.merchant_pivot[merchant]), 0.0, 1.0)

    def trip_pool_on(self, user: np.ndarray, day: np.ndarray) -> np.ndarray:
        """The pool (city) each user is travelling in on that day, or -1 when at home."""
        at = np.searchsorted(self.trip_key, user * (N_DAYS + 1) + day, side="right") - 1
        safe = np.maximum(at, 0)
        away = (at >= 0) & (self.trip_key[safe] // (N_DAYS + 1) == user) & (day < self.trip_end[safe])
        return np.where(away, self.trip_pool[safe], -1)


def build_world(rng: np.random.Generator, *, users: int, rows: int) -> World:
    """Draw every user, card, merchant, favourite merchant and trip."""
    cities, abroad, mcc = us_city_arrays(), foreign_city_arrays(), category_arrays()
    n_us = len(cities["name"])
    person = _people(rng, users, cities)
    card = _cards(rng, person)
    merchant, pools = _merchants(rng, users, rows, person["home_city"], cities, abroad, mcc)
    favourites = _favourites(rng, person, merchant, pools, cities, mcc)
    trips = _trips(rng, person["home_city"], cities, abroad, n_us)
    return World(**person, **card, **merchant, pools=pools, **favourites, **trips)


def _people(rng: np.random.Generator, n: int, cities: dict) -> dict:
    home = rng.choice(len(cities["name"]), size=n, p=cities["weight"] / cities["weight"].sum())
    age = np.clip(np.round(rng.normal(47, 17, n)), 18, 101).astype(np.int64)
    birth_month = rng.integers(1, 13, n)
    # Ages are as of February 2020 (the Kaggle snapshot): whoever is born after February has not had the birthday.
    birth_year = 2020 - age - (birth_month > 2)
    retirement = np.clip(np.round(rng.normal(66, 3.5, n)), 50, 79).astype(np.int64)
    city_income = np.exp(rng.normal(0, 0.2, len(cities["name"])))[home]
    per_capita = np.round(23_000 * city_income * np.exp(rng.normal(0, 0.35, n)))
    per_capita[rng.random(n) < 0.0075] = 0
    # Most yearly incomes are a fixed multiple of the area's per-capita income, retirees' a lower one.
    retired = age >= retirement
    multiple = np.where(retired, rng.uniform(1.0, 1.8, n), 2.039)
    yearly = np.round(per_capita * multiple)
    debt = np.round(yearly * np.exp(rng.normal(np.log(1.2), 0.8, n)) * np.clip(1.6 - age / 80, 0.2, 1.4))
    debt[rng.random(n) < 0.05] = 0
    score = np.clip(np.round(rng.normal(712, 67, n)), 480, 850).astype(np.int64)
    street = rng.integers(0, len(STREET_NAMES), n)
    suffix = rng.integers(0, len(STREET_SUFFIXES), n)
    number = np.where(rng.random(n) < 0.6, rng.integers(100, 9999, n), rng.integers(1, 999, n))
    address = [f"{no} {STREET_NAMES[s]} {STREET_SUFFIXES[x]}" for no, s, x in zip(number.tolist(), street.tolist(),
                                                                                 suffix.tolist())]
    # Younger card holders buy online more often.
    online_share = np.clip(rng.beta(2.0, 13.0, n) * (1.6 - age / 90), 0.01, 0.6)
    churn = np.full(n, NEVER, dtype=np.int64)
    churners = rng.random(n) < 0.22
    churn[churners] = rng.integers(200, N_DAYS - 30, int(churners.sum()))
    return {
        "home_city": home, "latitude": np.round(cities["lat"][home] + rng.normal(0, 0.08, n), 2),
        "longitude": np.round(cities["lon"][home] + rng.normal(0, 0.08, n), 2), "age": age,
        "retirement_age": retirement, "birth_year": birth_year, "birth_month": birth_month,
        "female": rng.random(n) < 0.508, "address": address, "per_capita_income": per_capita,
        "yearly_income": yearly, "total_debt": debt, "credit_score": score, "online_share": online_share,
        "hour_shift": rng.choice(np.arange(-2, 3), size=n, p=[0.1, 0.2, 0.4, 0.2, 0.1]), "churn_day": churn,
    }


def _cards(rng: np.random.Generator, person: dict) -> dict:
    n_users = len(person["home_city"])
    per_user = np.minimum(1 + rng.poisson(2.1, n_users), 9)
    user = np.repeat(np.arange(n_users), per_user)
    n = len(user)
    # The first account of a user opened before 2010 (half), during the data (most others) or after it ends.
    era = rng.choice(3, size=n_users, p=[0.5, 0.46, 0.04]) if n_users >= 20 else np.zeros(n_users, dtype=int)
    first = np.select([era == 0, era == 1],
                      [rng.integers(0, DATA_FIRST_MONTH, n_users), rng.integers(DATA_FIRST_MONTH, DATA_LAST_MONTH - 1,
                                                                                 n_users)],
                      rng.integers(DATA_LAST_MONTH + 1, LAST_OPEN_MONTH + 1, n_users))
    is_first = np.r_[True, user[1:] != user[:-1]]
    later = first[user] + (rng.random(n) * (LAST_OPEN_MONTH + 1 - first[user])).astype(np.int64)
    open_month = np.where(is_first, first[user], later)
    brand = rng.choice(4, size=n, p=[0.378, 0.522, 0.066, 0.034])  # Visa, Mastercard, Amex, Discover
    kind = np.where(brand >= 2, CREDIT, rng.choice(3, size=n, p=[0.63, 0.27, 0.10]))
    prefix = np.select([brand == 0, brand == 1, brand == 2], [4, rng.integers(51, 56, n), rng.choice([34, 37], n)],
                       6011)
    digits = np.select([brand == 0, brand == 1, brand == 2], [15, 14, 13], 12)
    number = prefix * 10 ** digits + (rng.random(n) * 10.0 ** digits).astype(np.int64)
    # Most cards are valid past the end of the data; some expired (and stopped) before it.
    expired = rng.random(n) < 0.15
    expires = np.where(expired, open_month + rng.integers(36, 96, n),
                       rng.integers(LAST_OPEN_MONTH - 1, LAST_OPEN_MONTH + 59, n))
    expires = np.maximum(expires, open_month + 12)
    start = np.maximum(month_first_day(open_month) + rng.integers(0, 28, n), 0)
    stop = np.where(expires <= DATA_LAST_MONTH, month_first_day(expires + 1), N_DAYS)
    end = np.minimum(np.minimum(stop, person["churn_day"][user]), N_DAYS)
    open_year = 1991 + open_month // 12
    low = np.maximum(open_year, 2002)
    pin_year = low + ((2021 - low) * rng.random(n) ** 2).astype(np.int64)
    has_chip = rng.random(n) < 0.89
    # Chip readers spread through US shops from 2015 (the EMV liability shift); before, cards were swiped.
    adoption = int((np.datetime64("2015-03-01") - EPOCH).astype(int)), int((np.datetime64("2017-06-30") - EPOCH)
                                                                             .astype(int))
    chip_day = np.where(has_chip, np.maximum(start, rng.integers(*adoption, n)), NEVER)
    income = person["yearly_income"][user]
    limit = np.select([kind == CREDIT, kind == DEBIT],
                      [income * np.exp(rng.normal(np.log(0.35), 0.4, n)),
                       income * np.exp(rng.normal(np.log(0.3), 0.5, n))], rng.integers(0, 150, n))
    share = rng.gamma(0.8, 1.0, n) + 1e-3
    share /= np.bincount(user, weights=share, minlength=n_users)[user]
    activity = np.exp(rng.normal(0, 0.6, n_users)) * np.where((person["age"] > 25) & (person["age"] < 65), 1.2, 0.9)
    return {
        "card_id": rng.permutation(n), "card_user": user, "card_brand": brand, "card_type": kind,
        "card_number": number, "cvv": rng.integers(1, 1000, n), "has_chip": has_chip,
        "cards_issued": rng.choice([1, 2, 3], size=n, p=[0.5, 0.46, 0.04]), "credit_limit": np.round(limit),
        "open_month": open_month, "expires_month": expires, "pin_year": pin_year, "card_start": start,
        "card_end": np.maximum(end, start), "chip_day": chip_day, "card_rate": activity[user] * share,
        "dark_web": np.zeros(n, dtype=bool),
    }


def _merchants(rng, users: int, rows: int, home: np.ndarray, cities: dict, abroad: dict, mcc: dict):
    n_us, n_abroad = len(cities["name"]), len(abroad["name"])
    local_total = int(np.clip(max(users * 12, rows // 180), 300, 100_000))
    user_share = np.bincount(home, minlength=n_us) / max(len(home), 1)
    town_share = cities["weight"] / cities["weight"].sum()
    per_city = np.maximum(8, np.round(local_total * (0.7 * user_share + 0.3 * town_share))).astype(np.int64)
    per_abroad = np.full(n_abroad, max(6, local_total // 300))
    n_online = max(40, local_total // 30)
    pool = np.concatenate([np.repeat(np.arange(n_us), per_city), np.repeat(n_us + np.arange(n_abroad), per_abroad),
                           np.full(n_online, n_us + n_abroad)])
    n = len(pool)
    online = pool == n_us + n_abroad
    store_p, online_p = mcc["store_weight"] ** 0.6, mcc["online_weight"] ** 0.6
    category = np.where(online, rng.choice(len(store_p), size=n, p=online_p / online_p.sum()),
                        rng.choice(len(store_p), size=n, p=store_p / store_p.sum()))
    zip_code = np.full(n, np.nan)
    local = pool < n_us
    zip_code[local] = cities["zip"][pool[local]] + rng.integers(0, 30, int(local.sum()))
    trend = rng.choice(3, size=n, p=[0.7, 0.15, 0.15])
    span = rng.uniform(365, 1800, n)
    slope = np.select([trend == 1, trend == 2], [-1.0 / span, 1.0 / span], 0.0)
    popularity = np.exp(rng.normal(0, 1.0, n))
    order = np.argsort(pool, kind="stable")
    counts = np.bincount(pool, minlength=n_us + n_abroad + 1)
    fraud_weight = popularity * mcc["fraud_appeal"][category] ** 2
    pools = Pools(members=order, popular_cum=_pool_cum(pool[order], popularity[order], counts),
                  fraud_cum=_pool_cum(pool[order], fraud_weight[order], counts), online=n_us + n_abroad,
                  first_foreign=n_us)
    merchant = {
        "merchant_id": 1 + rng.choice(max(100_000, 2 * n), size=n, replace=False), "merchant_mcc": category,
        "merchant_pool": pool, "merchant_zip": zip_code, "merchant_price": rng.normal(0, 0.25, n),
        "merchant_slope": slope, "merchant_pivot": rng.uniform(0, N_DAYS, n), "merchant_popularity": popularity,
    }
    return merchant, pools


def _pool_cum(pool_sorted: np.ndarray, weight_sorted: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per pool, cumulative weight share in (0, 1], plus the pool number: strictly increasing overall."""
    running = np.concatenate([[0.0], np.cumsum(weight_sorted)])
    ends = np.cumsum(counts)
    starts = ends - counts
    base = np.repeat(running[starts], counts)
    total = np.repeat(running[ends] - running[starts], counts)
    share = (running[1:] - base) / total
    share[(ends - 1)[counts > 0]] = 1.0
    return pool_sorted + share


def _favourites(rng, person: dict, merchant: dict, pools: Pools, cities: dict, mcc: dict) -> dict:
    """Each user's regular merchants (mostly in the home town, some elsewhere in the state, a few online)."""
    pool_of, category = merchant["merchant_pool"], merchant["merchant_mcc"]
    log_pop = np.log(merchant["merchant_popularity"])
    by_pool = np.split(pools.members, np.cumsum(np.bincount(pool_of, minlength=pools.online + 1))[:-1])
    state_of = cities["state"]
    near_by_city: dict[int, np.ndarray] = {}
    chosen, weights, owners = [], [], []
    for user, city in enumerate(person["home_city"].tolist()):
        if city not in near_by_city:
            near_by_city[city] = np.concatenate([by_pool[c] for c in np.flatnonzero(state_of == state_of[city])
                                                 if c != city] or [pools.members[:0]])
        k = 8 + int(rng.poisson(20))
        home = _top_k(rng, by_pool[city], log_pop, int(round(0.85 * k)))
        local = np.concatenate([home, _top_k(rng, near_by_city[city], log_pop, k - len(home))])
        web = _top_k(rng, by_pool[pools.online], log_pop, 2 + int(rng.poisson(4)))
        local_w = _spread(rng, mcc["store_weight"][category[local]], category[local])
        local_w[len(home):] *= 0.4
        web_w = _spread(rng, mcc["online_weight"][category[web]] + 1e-3, category[web])
        share = person["online_share"][user]
        web_w *= share / (1 - share) * local_w.sum() / web_w.sum()
        chosen.append(np.concatenate([local, web]))
        weights.append(np.concatenate([local_w, web_w]))
        owners.append(np.full(len(local) + len(web), user))
    members, weight, owner = np.concatenate(chosen), np.concatenate(weights), np.concatenate(owners)
    counts = np.bincount(owner, minlength=len(person["home_city"]))
    return {"favourite_merchant": members, "favourite_cum": _pool_cum(owner, weight, counts)}


def _top_k(rng, candidates: np.ndarray, log_pop: np.ndarray, k: int) -> np.ndarray:
    """``k`` candidates drawn without replacement in proportion to popularity (Gumbel top-k)."""
    k = min(k, len(candidates))
    if k <= 0:
        return candidates[:0]
    keys = log_pop[candidates] + rng.gumbel(size=len(candidates))
    return candidates[np.argpartition(-keys, k - 1)[:k]]


def _spread(rng, category_weight: np.ndarray, category: np.ndarray) -> np.ndarray:
    """Visit weights: a category's weight shared among the user's merchants of that category, with taste noise."""
    _, inverse, counts = np.unique(category, return_inverse=True, return_counts=True)
    return category_weight / counts[inverse] * np.exp(rng.normal(0, 0.5, len(category)))


def _trips(rng, home: np.ndarray, cities: dict, abroad: dict, n_us: int) -> dict:
    """Holidays and business trips: a few days in another US city (or abroad) once or twice a year."""
    n = len(home)
    per_user = rng.poisson(np.exp(rng.normal(np.log(1.2), 0.6, n)) * N_DAYS / 365)
    user = np.repeat(np.arange(n), per_user)
    m = len(user)
    start = rng.integers(0, N_DAYS, m)
    length = 2 + rng.geometric(1 / 3, m)
    abroad_trip = rng.random(m) < 0.12
    us_weight = cities["weight"].copy()
    destination = rng.choice(n_us, size=m, p=us_weight / us_weight.sum())
    clash = destination == home[user]
    destination[clash] = (destination[clash] + 1 + rng.integers(0, n_us - 1, int(clash.sum()))) % n_us
    foreign = n_us + rng.choice(len(abroad["name"]), size=m, p=abroad["travel_weight"] / abroad["travel_weight"]
                                .sum())
    key = user * (N_DAYS + 1) + start
    order = np.argsort(key, kind="stable")
    return {"trip_key": key[order], "trip_end": (start + length)[order],
            "trip_pool": np.where(abroad_trip, foreign, destination)[order]}


def far_cities(home_city: np.ndarray, cities: dict, minimum_km: float = 500.0) -> np.ndarray:
    """A boolean matrix: which US cities (columns) lie at least ``minimum_km`` from each home city (rows)."""
    lat, lon = cities["lat"], cities["lon"]
    return distance_km(lat[home_city][:, None], lon[home_city][:, None], lat[None, :], lon[None, :]) >= minimum_km
