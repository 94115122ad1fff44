"""Card fraud in the generated data: compromised cards used in short bursts, planned before any row is written.

A burst takes one card (busy cards and cards without a chip are likelier victims) and spends on it within hours:
online at merchants whose goods resell well (card not present), in person far from the holder's home or abroad
with a cloned magnetic stripe (so mostly swiped even where chips are read), or, for a lost or stolen card, in
shops of the holder's own town. Amounts run high, a burst often opens
with a small test purchase, and failed attempts (bad CVV, bad PIN, wrong expiry) are far more common than in honest
use. About a quarter of compromised cards later show up on the dark web.

The number of fraudulent rows is Binomial(rows, fraud_rate), so the share of fraud has the binomial spread.
"""

from __future__ import annotations

import numpy as np

from unseen.analytics._places import foreign_city_arrays, us_city_arrays
from unseen.analytics._rows import (
    FRAUD_HOURS,
    MCC,
    MINUTES_PER_DAY,
    Rows,
    card_channel,
    empty_rows,
    error_mask,
    minutes_of_day,
)
from unseen.analytics._world import N_DAYS, World, far_cities

MEAN_BURST = 10
"""Mean number of fraudulent transactions per compromised card."""
MODES = ("online", "far", "abroad", "nearby")
MODE_SHARES = (0.45, 0.30, 0.15, 0.10)
DARK_WEB_SHARE = 0.25
"""Share of compromised cards whose details turn up on the dark web (and of other cards: a few in a thousand)."""


def plan_fraud(world: World, rng: np.random.Generator, *, rows: int, fraud_rate: float) -> Rows:
    """Every fraudulent transaction of the data set, in time order; marks compromised cards in ``world``."""
    target = int(rng.binomial(rows, fraud_rate)) if fraud_rate > 0 else 0
    active = world.card_end - world.card_start
    exposure = world.card_rate * np.maximum(active - 1, 0) * np.where(world.has_chip, 1.0, 2.0)
    world.dark_web[:] = rng.random(world.n_cards) < 0.003
    if target == 0 or exposure.sum() <= 0:
        return empty_rows()
    sizes = _burst_sizes(rng, target)
    n_bursts = len(sizes)
    card = rng.choice(world.n_cards, size=n_bursts, p=exposure / exposure.sum())
    start_day = world.card_start[card] + (rng.random(n_bursts) * (active[card] - 1)).astype(np.int64)
    start = start_day * MINUTES_PER_DAY + minutes_of_day(rng, n_bursts, FRAUD_HOURS)
    mode = rng.choice(len(MODES), size=n_bursts, p=MODE_SHARES)
    pool = _burst_pools(world, rng, card, mode)

    burst = np.repeat(np.arange(n_bursts), sizes)
    first = np.r_[True, burst[1:] != burst[:-1]]
    pause = np.where(rng.random(len(burst)) < 0.15, rng.exponential(8 * 60, len(burst)),
                     rng.exponential(35, len(burst)))
    pause[first] = 0
    offset = np.cumsum(pause) - np.repeat(np.cumsum(pause)[first], sizes)
    minute = start[burst] + offset.astype(np.int64)
    keep = minute < N_DAYS * MINUTES_PER_DAY
    burst, first, minute = burst[keep], first[keep], minute[keep]
    n = len(burst)

    row_card = card[burst]
    merchant = world.pools.draw(pool[burst], rng.random(n), fraud=True)
    day = minute // MINUTES_PER_DAY
    online = world.merchant_pool[merchant] == world.pools.online
    channel = card_channel(world, rng, row_card, day, online, chip_share=0.3)
    cents = _fraud_amounts(world, rng, merchant, first)
    errors = error_mask(world, rng, row_card, merchant, channel, cents, fraud=True)
    compromised = np.unique(row_card)
    world.dark_web[compromised] = rng.random(len(compromised)) < DARK_WEB_SHARE
    order = np.argsort(minute, kind="stable")
    return Rows(card=row_card, minute=minute, merchant=merchant, channel=channel, cents=cents, errors=errors,
                fraud=np.ones(n, dtype=bool)).take(order)


def _burst_sizes(rng: np.random.Generator, target: int) -> np.ndarray:
    """Burst lengths (at least one, mean :data:`MEAN_BURST`, long tail) that add up to ``target``."""
    shape = 1.2
    guess = max(8, int(2 * target / MEAN_BURST) + 8)
    sizes = 1 + rng.negative_binomial(shape, shape / (shape + MEAN_BURST - 1), guess)
    while sizes.sum() < target:
        sizes = np.concatenate([sizes, 1 + rng.negative_binomial(shape, shape / (shape + MEAN_BURST - 1), guess)])
    total = np.cumsum(sizes)
    count = int(np.searchsorted(total, target)) + 1
    sizes = sizes[:count].copy()
    sizes[-1] -= total[count - 1] - target
    return sizes


def _burst_pools(world: World, rng: np.random.Generator, card: np.ndarray, mode: np.ndarray) -> np.ndarray:
    """Where each burst spends: the online pool, a US city far from home, a city abroad, or the home town."""
    n = len(card)
    pools = world.pools
    home = world.home_city[world.card_user[card]]
    cities = us_city_arrays()
    far = far_cities(home, cities)
    weight = far * cities["weight"][None, :]
    weight[weight.sum(axis=1) == 0] = cities["weight"]
    cum = np.cumsum(weight, axis=1)
    far_pool = (cum < rng.random(n)[:, None] * cum[:, -1:]).sum(axis=1)
    abroad_weight = foreign_city_arrays()["fraud_weight"]
    abroad = pools.first_foreign + rng.choice(len(abroad_weight), size=n, p=abroad_weight / abroad_weight.sum())
    return np.select([mode == 0, mode == 1, mode == 2], [np.full(n, pools.online), far_pool, abroad], home)


def _fraud_amounts(world: World, rng: np.random.Generator, merchant: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Dearer than the category's usual, sometimes far dearer; a burst often starts with a small test charge."""
    n = len(merchant)
    category = world.merchant_mcc[merchant]
    log_dollars = (MCC["log_median"][category] + np.log(1.8) + 0.7 * rng.standard_normal(n)
                   + 0.5 * MCC["sigma"][category] * rng.standard_normal(n))
    dollars = np.exp(log_dollars)
    outlier = rng.random(n) < 0.04
    dollars[outlier] *= rng.uniform(5, 15, int(outlier.sum()))
    cents = np.maximum(100, np.round(dollars * 100)).astype(np.int64)
    test = first & (rng.random(n) < 0.35)
    cents[test] = rng.integers(100, 1_000, int(test.sum()))
    return cents
