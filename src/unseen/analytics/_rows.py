"""How one generated transaction comes about: who pays, when, where, how, how much, and what goes wrong.

All functions work on whole arrays of rows at once. Rows are described by integer codes (card position, merchant
position, minute since 2010-01-01, channel code, amount in cents, error bit mask); ``generate`` writes them out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from unseen.analytics._mcc_codes import category_arrays
from unseen.analytics._world import CHIP, CREDIT, DEBIT, EPOCH, N_DAYS, ONLINE, PREPAID, SWIPE, World

MCC = category_arrays()
MINUTES_PER_DAY = 24 * 60

# Shoppers' hours: quiet at night, busy at lunch and after work. Fraudsters' hours: flatter, busier at night.
SHOPPER_HOURS = np.array([0.6, 0.35, 0.25, 0.2, 0.25, 0.5, 1.2, 2.2, 3.2, 4.2, 5.0, 5.6,
                          6.2, 5.8, 5.4, 5.4, 5.8, 6.2, 5.9, 5.0, 4.0, 3.0, 2.0, 1.2])
FRAUD_HOURS = np.array([2.5, 2.8, 3.0, 3.0, 2.5, 2.0, 2.0, 2.2, 2.5, 3.0, 3.2, 3.4,
                        3.5, 3.4, 3.3, 3.3, 3.4, 3.5, 3.5, 3.4, 3.3, 3.2, 3.0, 2.8])
MONTH_FACTOR = np.array([0.92, 0.88, 0.98, 0.98, 1.0, 1.0, 1.02, 1.02, 0.97, 1.0, 1.06, 1.25])
WEEKDAY_FACTOR = np.array([0.95, 0.95, 0.97, 1.0, 1.1, 1.12, 0.91])  # Monday first
REFUND_FACTOR, REFUND_SIZE = 2.0, 1.8
"""Scale of the categories' refund shares and of a refund against a typical purchase."""
CHURN_FADE_DAYS = 90
"""Users who leave spend less and less over their last three months."""

# Error bits, in the order of unseen.analytics.layout.ERROR_VALUES.
BAD_CARD_NUMBER, BAD_EXPIRATION, BAD_CVV, BAD_PIN, BAD_ZIPCODE, INSUFFICIENT_BALANCE, TECHNICAL_GLITCH = range(7)


def season() -> np.ndarray:
    """Relative shopping volume of every day of the data: month, weekday, Black Friday, Christmas."""
    days = EPOCH + np.arange(N_DAYS)
    month = days.astype("datetime64[M]").astype(int) % 12
    weekday = (days.astype(int) + 3) % 7  # 1970-01-01 was a Thursday
    factor = MONTH_FACTOR[month] * WEEKDAY_FACTOR[weekday]
    day_of_month = (days - days.astype("datetime64[M]").astype("datetime64[D]")).astype(int) + 1
    black_friday = (month == 10) & (weekday == 4) & (day_of_month >= 23) & (day_of_month <= 29)
    factor[black_friday] *= 1.6
    factor[(month == 11) & (day_of_month == 24)] *= 1.3
    factor[(month == 11) & (day_of_month == 25)] *= 0.6
    return factor


SEASON = season()


@dataclass
class Rows:
    """A batch of transactions as integer codes, before ids and text."""

    card: np.ndarray
    minute: np.ndarray
    merchant: np.ndarray
    channel: np.ndarray
    cents: np.ndarray
    errors: np.ndarray
    fraud: np.ndarray

    def __len__(self) -> int:
        return len(self.card)

    def take(self, index: np.ndarray) -> Rows:
        return Rows(**{name: value[index] for name, value in vars(self).items()})

    @staticmethod
    def concat(parts: list[Rows]) -> Rows:
        return Rows(**{name: np.concatenate([vars(p)[name] for p in parts]) for name in vars(parts[0])})


def minutes_of_day(rng: np.random.Generator, n: int, hours: np.ndarray, shift: np.ndarray | int = 0) -> np.ndarray:
    """Minutes after midnight, the hour drawn from an hourly profile and moved by each person's habit."""
    cum = np.cumsum(hours) / hours.sum()
    hour = (np.searchsorted(cum, rng.random(n), side="right").clip(0, 23) + shift) % 24
    return hour * 60 + rng.integers(0, 60, n)


def normal_rows(world: World, rng: np.random.Generator, first_day: int, end_day: int, n: int) -> Rows:
    """``n`` ordinary transactions between ``first_day`` (inclusive) and ``end_day``, following each user's habits."""
    start = np.maximum(world.card_start, first_day)
    stop = np.minimum(world.card_end, end_day)
    active = np.maximum(stop - start, 0).astype(float)
    weight = world.card_rate * active
    if n == 0 or weight.sum() <= 0:
        return empty_rows()
    cum = np.cumsum(weight) / weight.sum()
    card = np.empty(n, dtype=np.int64)
    day = np.empty(n, dtype=np.int64)
    todo = np.arange(n)
    peak = SEASON[first_day:end_day].max()
    for _ in range(30):  # rejection sampling: season and churn fade; a few rounds accept nearly everything
        c = np.minimum(np.searchsorted(cum, rng.random(len(todo)), side="right"), len(cum) - 1)
        d = start[c] + (rng.random(len(todo)) * active[c]).astype(np.int64)
        card[todo], day[todo] = c, d
        accept = SEASON[d] / peak * _churn_fade(world, world.card_user[c], d)
        todo = todo[rng.random(len(todo)) >= accept]
        if len(todo) == 0:
            break
    user = world.card_user[card]
    minute = day * MINUTES_PER_DAY + minutes_of_day(rng, n, SHOPPER_HOURS, world.hour_shift[user])
    merchant = _merchants_for(world, rng, user, day)
    online = world.merchant_pool[merchant] == world.pools.online
    channel = card_channel(world, rng, card, day, online, chip_share=0.93)
    cents = normal_amounts(world, rng, user, merchant)
    errors = error_mask(world, rng, card, merchant, channel, cents, fraud=False)
    return Rows(card=card, minute=minute, merchant=merchant, channel=channel, cents=cents, errors=errors,
                fraud=np.zeros(n, dtype=bool))


def _churn_fade(world: World, user: np.ndarray, day: np.ndarray) -> np.ndarray:
    left = world.churn_day[user] - day
    return np.clip(left / CHURN_FADE_DAYS, 0.1, 1.0)


def _merchants_for(world: World, rng: np.random.Generator, user: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Mostly a favourite; sometimes somewhere new in town; while travelling, shops at the destination."""
    merchant = np.empty(len(user), dtype=np.int64)
    todo = np.arange(len(user))
    for _ in range(12):  # a merchant that has closed (or not opened yet) sends the shopper elsewhere
        u, d = user[todo], day[todo]
        pick = np.minimum(np.searchsorted(world.favourite_cum, u + rng.random(len(todo)), side="right"),
                          len(world.favourite_cum) - 1)
        m = world.favourite_merchant[pick]
        explore = rng.random(len(todo)) < 0.03
        m[explore] = world.pools.draw(world.home_city[u[explore]], rng.random(int(explore.sum())))
        away = world.trip_pool_on(u, d)
        travelling = (away >= 0) & (world.merchant_pool[m] != world.pools.online)
        m[travelling] = world.pools.draw(away[travelling], rng.random(int(travelling.sum())))
        merchant[todo] = m
        todo = todo[rng.random(len(todo)) >= world.merchant_factor(m, d)]
        if len(todo) == 0:
            break
    return merchant


def card_channel(world: World, rng: np.random.Generator, card: np.ndarray, day: np.ndarray, online: np.ndarray,
                 *, chip_share: float) -> np.ndarray:
    """Online at online merchants; in shops a chip once the card has one and the shop reads it, else a swipe."""
    chip_ready = day >= world.chip_day[card]
    in_shop = np.where(chip_ready & (rng.random(len(card)) < chip_share), CHIP, SWIPE)
    return np.where(online, ONLINE, in_shop).astype(np.int8)


def normal_amounts(world: World, rng: np.random.Generator, user: np.ndarray, merchant: np.ndarray) -> np.ndarray:
    """Amounts in cents: lognormal by category, dearer at dearer shops and for richer people; some refunds."""
    category = world.merchant_mcc[merchant]
    wealth = 0.25 * np.log(np.clip(world.yearly_income[user], 8_000, 400_000) / 45_000)
    log_dollars = MCC["log_median"][category] + world.merchant_price[merchant] + wealth
    dollars = np.exp(log_dollars + MCC["sigma"][category] * rng.standard_normal(len(user)))
    cents = _round_cents(rng, dollars, category)
    # Returns are of the larger purchases, so refunds come to about a tenth of purchase dollars as in the real data.
    refund = rng.random(len(user)) < REFUND_FACTOR * MCC["refund_share"][category]
    cents[refund] = np.round(cents[refund] * REFUND_SIZE)
    whole = refund & (rng.random(len(user)) < 0.5)
    cents[whole] = np.maximum(100, np.round(cents[whole] / 100) * 100)
    cents[refund] *= -1
    return cents


def _round_cents(rng: np.random.Generator, dollars: np.ndarray, category: np.ndarray) -> np.ndarray:
    cents = np.maximum(1, np.round(dollars * 100)).astype(np.int64)
    round_tens = MCC["round_amount"][category] & (rng.random(len(cents)) < 0.7)
    cents[round_tens] = np.maximum(1_000, np.round(cents[round_tens] / 1_000) * 1_000)
    return cents


# Per row probability of each error: (in a shop, online). Fraud rows use the second table.
_NORMAL_ERRORS = {BAD_CARD_NUMBER: (0.0003, 0.0010), BAD_EXPIRATION: (0.0002, 0.0008), BAD_CVV: (0.0, 0.0015),
                  BAD_PIN: (0.0030, 0.0), BAD_ZIPCODE: (0.0001, 0.0006), TECHNICAL_GLITCH: (0.0022, 0.0022)}
_FRAUD_ERRORS = {BAD_CARD_NUMBER: (0.01, 0.04), BAD_EXPIRATION: (0.01, 0.03), BAD_CVV: (0.0, 0.07),
                 BAD_PIN: (0.07, 0.0), BAD_ZIPCODE: (0.01, 0.02), TECHNICAL_GLITCH: (0.003, 0.003)}
_TYPE_BALANCE = np.zeros(3)
_TYPE_BALANCE[[DEBIT, CREDIT, PREPAID]] = 1.2, 0.5, 3.0
"""Insufficient balance is likelier on debit and prepaid cards than on credit cards."""


def error_mask(world: World, rng: np.random.Generator, card: np.ndarray, merchant: np.ndarray, channel: np.ndarray,
               cents: np.ndarray, *, fraud: bool) -> np.ndarray:
    """Which reasons (bits) each attempt failed for; most rows fail for none."""
    n = len(card)
    online = channel == ONLINE
    table = _FRAUD_ERRORS if fraud else _NORMAL_ERRORS
    mask = np.zeros(n, dtype=np.int64)
    for bit, (shop, web) in table.items():
        p = np.where(online, web, shop)
        if bit == BAD_ZIPCODE:  # fuel pumps ask for the zip code
            p = np.where(MCC["fuel"][world.merchant_mcc[merchant]] & ~online, p + 0.002, p)
        if bit == BAD_PIN:
            p = p * np.where(world.card_type[card] == CREDIT, 0.5, 1.3)
        mask |= (rng.random(n) < p).astype(np.int64) << bit
    balance = _TYPE_BALANCE[world.card_type[card]]
    size = np.clip(np.abs(cents) / 8_000, 0.3, 5.0)
    p_balance = (0.04 if fraud else 0.009) * balance * size * (cents > 0)
    mask |= (rng.random(n) < p_balance).astype(np.int64) << INSUFFICIENT_BALANCE
    return mask.astype(np.int8)


def empty_rows() -> Rows:
    empty = np.zeros(0, dtype=np.int64)
    return Rows(card=empty, minute=empty, merchant=empty, channel=empty.astype(np.int8), cents=empty,
                errors=empty.astype(np.int8), fraud=empty.astype(bool))
