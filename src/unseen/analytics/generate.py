"""Write realistic card transactions in the Kaggle layout, streamed in chunks, reproducible from a seed.

The population (users, cards, merchants, habits, trips) and every fraudulent transaction are drawn first; they are
small. The ordinary transactions are then drawn one time slice at a time (each slice about ``chunk_rows`` rows, its
own random stream), merged with that slice's fraud, sorted by time, given increasing ids and appended to
``transactions_data.csv``; a random two thirds of them get a label in ``train_fraud_labels.json``, as in the real
data, written as the slices go. Memory stays bounded by the slice, not by ``rows``.

The same arguments give byte-identical files.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unseen.analytics._fraud import plan_fraud
from unseen.analytics._mcc_codes import MCC_DESCRIPTIONS, category_arrays
from unseen.analytics._places import foreign_city_arrays, us_city_arrays
from unseen.analytics._rows import MINUTES_PER_DAY, SEASON, Rows, normal_rows
from unseen.analytics._world import EPOCH, N_DAYS, World, build_world
from unseen.analytics.layout import (
    CARD_BRANDS,
    CARD_COLUMNS,
    CARD_TYPES,
    CARDS_FILE,
    ERROR_VALUES,
    FRAUD_LABELS_FILE,
    FRAUD_LABELS_KEY,
    KAGGLE_ROWS,
    KAGGLE_USERS,
    MCC_CODES_FILE,
    ONLINE_CITY,
    TRANSACTION_COLUMNS,
    TRANSACTIONS_FILE,
    USE_CHIP_VALUES,
    USER_COLUMNS,
    USERS_FILE,
)
from unseen.config import PROJECT_ROOT

DEFAULT_TRANSACTIONS_DIR = PROJECT_ROOT / "data" / "raw" / "transactions"
"""Where ``unseen simulate transactions`` writes by default (git-ignored, like all raw data)."""
FIRST_TRANSACTION_ID = 7_475_327
"""The first id of the real file; ids then grow with gaps, as there (7,475,327 to 23,761,870 for 13.3M rows)."""
MEAN_ID_GAP = 0.224
FRAUD_RATE = 0.0015
"""13,332 of the 8,914,963 real labels say "Yes"."""
LABEL_SHARE = 0.67
"""8.9M of the 13.3M real transactions have a label."""
MAX_ROWS = 100_000_000
MAX_USERS = 100_000

ProgressCallback = Callable[[int, int], None]
"""Called after every chunk with (rows written so far, rows in all)."""


@dataclass(frozen=True)
class GeneratedLayout:
    """What :func:`generate_transactions` wrote."""

    folder: Path
    rows: int
    fraud_rows: int
    labelled_rows: int
    labelled_fraud_rows: int
    users: int
    cards: int
    compromised_cards: int
    merchants: int
    seconds: float
    files: tuple[Path, ...]

    @property
    def fraud_share(self) -> float:
        return self.fraud_rows / self.rows if self.rows else 0.0

    @property
    def labelled_fraud_share(self) -> float:
        return self.labelled_fraud_rows / self.labelled_rows if self.labelled_rows else 0.0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")


def generate_transactions(out_dir: str | Path = DEFAULT_TRANSACTIONS_DIR, *, rows: int = KAGGLE_ROWS,
                          users: int = KAGGLE_USERS, seed: int = 0, chunk_rows: int = 500_000,
                          fraud_rate: float = FRAUD_RATE, label_share: float = LABEL_SHARE,
                          progress: ProgressCallback | None = None) -> GeneratedLayout:
    """Write the five files of the Kaggle layout into ``out_dir`` (created if needed; same-named files replaced).

    Parameters
    ----------
    out_dir : folder for transactions_data.csv, cards_data.csv, users_data.csv, mcc_codes.json and
        train_fraud_labels.json. Files are written under temporary names and renamed at the end, so an interrupted
        run leaves no half-written layout behind.
    rows : transactions to write (13,305,915 in the real data).
    users : card holders (2,000 in the real data); each has one to nine cards, about three on average.
    seed : the same seed and arguments give byte-identical files.
    chunk_rows : about how many transactions are generated and held in memory at once.
    fraud_rate : expected share of fraudulent transactions.
    label_share : share of transactions that get a "Yes"/"No" label.
    progress : called with (rows written, rows) after every chunk.

    Returns
    -------
    GeneratedLayout : counts, timing and the paths written.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     out = generate_transactions(folder, rows=2_000, users=20, seed=1)
    >>> out.rows, out.users, [path.name for path in out.files][:2]
    (2000, 20, ['transactions_data.csv', 'cards_data.csv'])
    """
    _check_arguments(rows=rows, users=users, seed=seed, chunk_rows=chunk_rows, fraud_rate=fraud_rate,
                     label_share=label_share)
    began = time.perf_counter()
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    world = build_world(np.random.default_rng([seed, 0]), users=users, rows=rows)
    fraud = plan_fraud(world, np.random.default_rng([seed, 1]), rows=rows, fraud_rate=fraud_rate)
    slices = _plan_slices(world, normal_rows=rows - len(fraud), chunks=math.ceil(rows / chunk_rows))
    names = (TRANSACTIONS_FILE, CARDS_FILE, USERS_FILE, MCC_CODES_FILE, FRAUD_LABELS_FILE)
    partial = {name: folder / f".{name}.partial" for name in names}
    try:
        partial[USERS_FILE].write_text(_users_text(world), encoding="utf-8", newline="\n")
        partial[CARDS_FILE].write_text(_cards_text(world), encoding="utf-8", newline="\n")
        partial[MCC_CODES_FILE].write_text(json.dumps(MCC_DESCRIPTIONS), encoding="utf-8")
        counts = _write_transactions(world, fraud, slices, seed=seed, label_share=label_share,
                                     csv_path=partial[TRANSACTIONS_FILE], labels_path=partial[FRAUD_LABELS_FILE],
                                     progress=progress, total=rows)
        for name in names:
            os.replace(partial[name], folder / name)
    finally:
        for path in partial.values():
            path.unlink(missing_ok=True)
    return GeneratedLayout(folder=folder, rows=rows, fraud_rows=len(fraud), labelled_rows=counts[0],
                           labelled_fraud_rows=counts[1], users=world.n_users, cards=world.n_cards,
                           compromised_cards=len(np.unique(fraud.card)), merchants=world.n_merchants,
                           seconds=time.perf_counter() - began, files=tuple(folder / name for name in names))


def _check_arguments(*, rows, users, seed, chunk_rows, fraud_rate, label_share) -> None:
    def whole(name, value, low, high):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
            raise ValueError(f"{name} must be a whole number from {low:,} to {high:,}, not {value!r}")

    whole("rows", rows, 1, MAX_ROWS)
    whole("users", users, 1, MAX_USERS)
    whole("seed", seed, 0, 2**63 - 1)
    whole("chunk_rows", chunk_rows, 1_000, MAX_ROWS)
    if not 0 <= fraud_rate <= 0.1:
        raise ValueError(f"fraud_rate must be a share from 0 to 0.1, not {fraud_rate!r}")
    if not 0 < label_share <= 1:
        raise ValueError(f"label_share must be a share above 0 and at most 1, not {label_share!r}")


def _plan_slices(world: World, *, normal_rows: int, chunks: int) -> list[tuple[int, int, int]]:
    """(first day, end day, ordinary rows) per slice: slices of equal expected volume, rows by volume."""
    change = np.zeros(N_DAYS + 1)
    start = np.clip(world.card_start, 0, N_DAYS)
    end = np.clip(world.card_end, 0, N_DAYS)
    np.add.at(change, start, world.card_rate)
    np.add.at(change, end, -world.card_rate)
    volume = np.clip(np.cumsum(change)[:N_DAYS], 0, None) * SEASON
    if volume.sum() <= 0:
        raise ValueError("none of the generated cards is in use between 2010 and 2019; "
                         "ask for more users or use another seed")
    cum = np.concatenate([[0.0], np.cumsum(volume)])
    chunks = max(1, min(chunks, N_DAYS))
    bounds = np.searchsorted(cum, cum[-1] * np.arange(1, chunks) / chunks)
    bounds = np.unique(np.concatenate([[0], np.clip(bounds, 1, N_DAYS - 1), [N_DAYS]]))
    rows_until = np.round(normal_rows * cum[bounds] / cum[-1]).astype(np.int64)
    return [(int(a), int(b), int(n)) for a, b, n in zip(bounds[:-1], bounds[1:], np.diff(rows_until))]


def _write_transactions(world: World, fraud: Rows, slices, *, seed: int, label_share: float, csv_path: Path,
                        labels_path: Path, progress: ProgressCallback | None, total: int) -> tuple[int, int]:
    text = _Text(world)
    next_id, written, labelled, labelled_fraud = FIRST_TRANSACTION_ID, 0, 0, 0
    with (csv_path.open("w", encoding="utf-8", newline="\n") as table,
          labels_path.open("w", encoding="utf-8", newline="\n") as labels):
        table.write(",".join(TRANSACTION_COLUMNS) + "\n")
        labels.write(f'{{"{FRAUD_LABELS_KEY}": {{')
        for index, (first_day, end_day, n_normal) in enumerate(slices):
            rng = np.random.default_rng([seed, 2, index])
            lo, hi = np.searchsorted(fraud.minute, [first_day * MINUTES_PER_DAY, end_day * MINUTES_PER_DAY])
            batch = Rows.concat([normal_rows(world, rng, first_day, end_day, n_normal),
                                 fraud.take(np.arange(lo, hi))])
            if len(batch) == 0:
                continue
            batch = batch.take(np.lexsort((rng.random(len(batch)), batch.minute)))
            step = 1 + rng.poisson(MEAN_ID_GAP, len(batch))
            ids = next_id + np.concatenate([[0], np.cumsum(step[1:])])
            next_id = int(ids[-1]) + 1 + int(rng.poisson(MEAN_ID_GAP))
            table.write(text.rows(ids, batch))
            has_label = rng.random(len(batch)) < label_share
            if has_label.any():
                labels.write((", " if labelled else "") + text.labels(ids[has_label], batch.fraud[has_label]))
            labelled += int(has_label.sum())
            labelled_fraud += int((has_label & batch.fraud).sum())
            written += len(batch)
            if progress is not None:
                progress(written, total)
        labels.write("}}")
    return labelled, labelled_fraud


class _Text:
    """Turns row codes into the layout's text, through lookup tables built once."""

    def __init__(self, world: World):
        days = EPOCH + np.arange(N_DAYS)
        self.day = np.array(np.datetime_as_string(days, unit="D").tolist(), dtype=object)
        self.clock = np.array([f"{m // 60:02d}:{m % 60:02d}" for m in range(MINUTES_PER_DAY)], dtype=object)
        self.card = np.array([f"{u},{c}" for u, c in zip(world.card_user.tolist(), world.card_id.tolist())],
                             dtype=object)
        self.merchant = np.array(_merchant_fields(world), dtype=object)
        self.channel = np.array(USE_CHIP_VALUES, dtype=object)
        self.errors = np.array([_errors_field(mask) for mask in range(1 << len(ERROR_VALUES))], dtype=object)

    def rows(self, ids: np.ndarray, batch: Rows) -> str:
        day, minute = np.divmod(batch.minute, MINUTES_PER_DAY)
        columns = (ids.tolist(), self.day[day].tolist(), self.clock[minute].tolist(), self.card[batch.card].tolist(),
                   (batch.cents / 100).tolist(), self.channel[batch.channel].tolist(),
                   self.merchant[batch.merchant].tolist(), self.errors[batch.errors].tolist())
        return "".join([f"{i},{d} {t}:00,{c},${a:.2f},{k},{m},{e}\n" for i, d, t, c, a, k, m, e in zip(*columns)])

    @staticmethod
    def labels(ids: np.ndarray, fraud: np.ndarray) -> str:
        answers = np.where(fraud, "Yes", "No").tolist()
        return ", ".join([f'"{i}": "{a}"' for i, a in zip(ids.tolist(), answers)])


def _merchant_fields(world: World) -> list[str]:
    """``merchant_id,merchant_city,merchant_state,zip,mcc`` of every merchant."""
    us, abroad = us_city_arrays(), foreign_city_arrays()
    codes = category_arrays()["code"][world.merchant_mcc]
    n_us, online = len(us["name"]), world.pools.online
    fields = []
    for merchant_id, pool, zip_code, mcc in zip(world.merchant_id.tolist(), world.merchant_pool.tolist(),
                                                world.merchant_zip.tolist(), codes.tolist()):
        if pool == online:
            fields.append(f"{merchant_id},{ONLINE_CITY},,,{mcc}")
        elif pool >= n_us:
            fields.append(f"{merchant_id},{abroad['name'][pool - n_us]},{abroad['country'][pool - n_us]},,{mcc}")
        else:
            fields.append(f"{merchant_id},{us['name'][pool]},{us['state'][pool]},{zip_code:.1f},{mcc}")
    return fields


def _errors_field(mask: int) -> str:
    reasons = ",".join(reason for bit, reason in enumerate(ERROR_VALUES) if mask >> bit & 1)
    return f'"{reasons}"' if "," in reasons else reasons


def _month(month: int) -> str:
    return f"{month % 12 + 1:02d}/{1991 + month // 12}"


def _users_text(world: World) -> str:
    cards = np.bincount(world.card_user, minlength=world.n_users)
    lines = [",".join(USER_COLUMNS)]
    for i in range(world.n_users):
        lines.append(f"{i},{world.age[i]},{world.retirement_age[i]},{world.birth_year[i]},{world.birth_month[i]},"
                     f"{'Female' if world.female[i] else 'Male'},{world.address[i]},{float(world.latitude[i])},"
                     f"{float(world.longitude[i])},${int(world.per_capita_income[i])},"
                     f"${int(world.yearly_income[i])},${int(world.total_debt[i])},{world.credit_score[i]},{cards[i]}")
    return "\n".join(lines) + "\n"


def _cards_text(world: World) -> str:
    lines = [",".join(CARD_COLUMNS)]
    for c in np.argsort(world.card_id).tolist():
        lines.append(f"{world.card_id[c]},{world.card_user[c]},{CARD_BRANDS[world.card_brand[c]]},"
                     f"{CARD_TYPES[world.card_type[c]]},{world.card_number[c]},{_month(int(world.expires_month[c]))},"
                     f"{world.cvv[c]},{'YES' if world.has_chip[c] else 'NO'},{world.cards_issued[c]},"
                     f"${int(world.credit_limit[c])},{_month(int(world.open_month[c]))},{world.pin_year[c]},"
                     f"{'Yes' if world.dark_web[c] else 'No'}")
    return "\n".join(lines) + "\n"
