"""Read a folder in the Kaggle transactions layout into pandas, with clear errors when it is not that layout.

Money becomes float dollars, dates become timestamps, ``YES``/``No`` flags become booleans. The small files are
read whole; ``transactions_data.csv`` (1.3 GB for the real 13.3M rows) is read in chunks or handed to DuckDB by
path (see :data:`unseen.analytics.layout.TRANSACTIONS_DUCKDB_TYPES`).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from unseen.analytics.layout import (
    CARD_COLUMNS,
    CARDS_FILE,
    DATE_FORMAT,
    FRAUD_LABEL_VALUES,
    FRAUD_LABELS_FILE,
    FRAUD_LABELS_KEY,
    LAYOUT_FILES,
    MCC_CODES_FILE,
    MONEY_COLUMNS,
    MONTH_COLUMNS,
    MONTH_FORMAT,
    TRANSACTION_COLUMNS,
    TRANSACTIONS_FILE,
    USER_COLUMNS,
    USERS_FILE,
)


class LayoutError(Exception):
    """A folder, file or value does not follow the Kaggle transactions layout."""


class LayoutFileMissing(LayoutError, FileNotFoundError):
    """A file of the layout is not in the folder."""


class LayoutColumnsMissing(LayoutError, ValueError):
    """A CSV file of the layout lacks columns."""


class LayoutValueError(LayoutError, ValueError):
    """A value cannot be read as the layout writes it (money, date, flag, label)."""


TRANSACTION_READ_DTYPES: dict[str, str] = {
    "id": "int64", "client_id": "int64", "card_id": "int64", "amount": "str", "use_chip": "str",
    "merchant_id": "int64", "merchant_city": "str", "merchant_state": "str", "zip": "float64", "mcc": "int64",
    "errors": "str", "date": "str",
}
_FLAGS = {"has_chip": {"YES": True, "NO": False}, "card_on_dark_web": {"Yes": True, "No": False}}


@dataclass(frozen=True)
class TransactionsLayout:
    """A folder in the Kaggle layout: the small tables in memory, the transactions left on disk."""

    folder: Path
    users: pd.DataFrame
    cards: pd.DataFrame
    mcc_codes: pd.DataFrame
    fraud_labels: pd.DataFrame | None
    """``id``, ``is_fraud``; None when :func:`load_layout` was asked not to read them."""

    @property
    def transactions_path(self) -> Path:
        """``transactions_data.csv``, for DuckDB or Spark to read directly."""
        return self.folder / TRANSACTIONS_FILE

    def read_transactions(self, *, nrows: int | None = None) -> pd.DataFrame:
        """All transactions (or the first ``nrows``) in one frame: fine for samples, heavy for 13M rows."""
        return read_transactions(self.transactions_path, nrows=nrows)

    def iter_transactions(self, *, chunk_rows: int = 1_000_000) -> Iterator[pd.DataFrame]:
        """The transactions in frames of ``chunk_rows`` rows, in file order."""
        return iter_transactions(self.transactions_path, chunk_rows=chunk_rows)


def load_layout(folder: str | Path, *, fraud_labels: bool = True) -> TransactionsLayout:
    """Check that ``folder`` holds the five files with their columns, and read all but the transactions.

    Raises :class:`LayoutFileMissing` naming every missing file, :class:`LayoutColumnsMissing` naming the file
    and its missing columns, :class:`LayoutValueError` naming the file, column, row and value that cannot be read.

    Examples
    --------
    >>> import tempfile
    >>> from unseen.analytics.generate import generate_transactions
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     _ = generate_transactions(folder, rows=1_000, users=10, seed=2)
    ...     layout = load_layout(folder)
    ...     first = layout.read_transactions(nrows=5)
    >>> len(layout.users), layout.mcc_codes.shape, str(first["amount"].dtype), str(first["date"].dtype)
    (10, (109, 2), 'float64', 'datetime64[us]')
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise LayoutFileMissing(f"{folder} is not a folder; expected one holding {', '.join(LAYOUT_FILES)}")
    missing = [name for name in LAYOUT_FILES if not (folder / name).is_file()]
    if missing:
        raise LayoutFileMissing(f"{folder} lacks {', '.join(missing)}; the layout has {', '.join(LAYOUT_FILES)}")
    _check_columns(folder / TRANSACTIONS_FILE, TRANSACTION_COLUMNS, _header(folder / TRANSACTIONS_FILE))
    return TransactionsLayout(
        folder=folder,
        users=read_users(folder / USERS_FILE),
        cards=read_cards(folder / CARDS_FILE),
        mcc_codes=read_mcc_codes(folder / MCC_CODES_FILE),
        fraud_labels=read_fraud_labels(folder / FRAUD_LABELS_FILE) if fraud_labels else None,
    )


def parse_money(values: pd.Series, *, where: str = "") -> pd.Series:
    """Dollars written ``$24295``, ``$-77.00`` or ``$1,234.56`` as floats; blanks stay NaN.

    ``where`` names the file and column in the error raised for a value that is not money.
    """
    text = values.astype("str")
    stripped = text.str.strip().str.removeprefix("$").str.replace(",", "", regex=False)
    numbers = pd.to_numeric(stripped.where(stripped.str.fullmatch(r"-?\d+(\.\d+)?"), np.nan), errors="coerce")
    _refuse_unparsed(values, numbers, where, "dollars like '$24295' or '$-77.00'")
    return numbers.astype("float64")


def parse_date(values: pd.Series, *, where: str = "", format: str = DATE_FORMAT) -> pd.Series:
    """Timestamps written ``2010-01-01 00:01:00`` (or ``format``); blanks stay NaT."""
    parsed = pd.to_datetime(values, format=format, errors="coerce")
    expected = "a time like '2010-01-01 00:01:00'" if format == DATE_FORMAT else f"a date written {format}"
    _refuse_unparsed(values, parsed, where, expected)
    return parsed


def read_users(path: str | Path) -> pd.DataFrame:
    """``users_data.csv``: one row per card holder; incomes and debt as float dollars."""
    frame = _read_csv(path, USER_COLUMNS)
    for column in MONEY_COLUMNS[USERS_FILE]:
        frame[column] = parse_money(frame[column], where=f"{Path(path).name} column {column!r}")
    return frame


def read_cards(path: str | Path) -> pd.DataFrame:
    """``cards_data.csv``: one row per card; limit in dollars, ``MM/YYYY`` months as timestamps, flags as bools."""
    name = Path(path).name
    frame = _read_csv(path, CARD_COLUMNS)
    frame["credit_limit"] = parse_money(frame["credit_limit"], where=f"{name} column 'credit_limit'")
    for column in MONTH_COLUMNS:
        frame[column] = parse_date(frame[column], where=f"{name} column {column!r}", format=MONTH_FORMAT)
    for column, meaning in _FLAGS.items():
        flags = frame[column].map(meaning)
        _refuse_unparsed(frame[column], flags, f"{name} column {column!r}", " or ".join(map(repr, meaning)))
        frame[column] = flags.astype(bool)
    return frame


def read_mcc_codes(path: str | Path) -> pd.DataFrame:
    """``mcc_codes.json`` as a frame of ``mcc`` (int) and ``description``."""
    path = Path(path)
    data = _read_json(path)
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise LayoutValueError(f"{path.name} is not an object of code to description; expected "
                               '{"5812": "Eating Places and Restaurants", ...}')
    bad = [code for code in data if not str(code).strip().isdigit()]
    if bad:
        raise LayoutValueError(f"{path.name} has the code {bad[0]!r}; expected digits like \"5812\"")
    return pd.DataFrame({"mcc": np.array([int(c) for c in data], dtype=np.int64),
                         "description": pd.array(list(data.values()), dtype="str")})


def read_fraud_labels(path: str | Path) -> pd.DataFrame:
    """``train_fraud_labels.json`` as a frame of transaction ``id`` and ``is_fraud`` (bool), in file order.

    The real file holds 8.9M labels (159 MB); rather than build a Python dict of them, the flat JSON object is
    rewritten as two-column text and read by pandas' C parser: about a second and a few hundred MB.
    """
    path = Path(path)
    raw = path.read_bytes()
    flat = raw.translate(None, b'" \t\r\n')
    prefix, suffix = b"{" + FRAUD_LABELS_KEY.encode() + b":{", b"}}"
    if not (flat.startswith(prefix) and flat.endswith(suffix)):
        raise LayoutValueError(f"{path.name} is not {{\"{FRAUD_LABELS_KEY}\": {{transaction id: label}}}}; "
                               'expected {"target": {"7475327": "No", "7475328": "Yes", ...}}')
    body = flat[len(prefix):-len(suffix)]
    if not body:
        return pd.DataFrame({"id": np.array([], dtype=np.int64), "is_fraud": np.array([], dtype=bool)})
    pairs = io.BytesIO(body.replace(b",", b"\n"))
    try:
        table = pd.read_csv(pairs, sep=":", header=None, names=["id", "label"],
                            dtype={"id": "int64", "label": "category"}, keep_default_na=False)
    except ValueError:
        table = None  # a key is not a whole number: read again as text below to say which one
    if table is None or not set(table["label"].cat.categories) <= set(FRAUD_LABEL_VALUES):
        _refuse_bad_labels(path, body)
    return pd.DataFrame({"id": table["id"].to_numpy(), "is_fraud": (table["label"] == "Yes").to_numpy()})


def _refuse_bad_labels(path: Path, body: bytes) -> None:
    """Name the first key that is no transaction id or the first label that is neither "Yes" nor "No"."""
    table = pd.read_csv(io.BytesIO(body.replace(b",", b"\n")), sep=":", header=None, names=["id", "label"],
                        dtype={"id": "str", "label": "str"}, keep_default_na=False)
    ids = pd.to_numeric(table["id"].where(table["id"].str.fullmatch(r"\d+"), np.nan), errors="coerce")
    _refuse_unparsed(table["id"], ids, f"{path.name} key", "a transaction id like \"7475327\"")
    is_fraud = table["label"].map({"Yes": True, "No": False})
    _refuse_unparsed(table["label"], is_fraud, f"{path.name} label", " or ".join(map(repr, FRAUD_LABEL_VALUES)))
    raise LayoutValueError(f"{path.name} cannot be read as transaction ids and labels")


def read_transactions(path: str | Path, *, nrows: int | None = None) -> pd.DataFrame:
    """``transactions_data.csv`` (or its first ``nrows`` rows) in one frame; see :func:`iter_transactions`."""
    frames = list(iter_transactions(path, chunk_rows=nrows or 1_000_000, nrows=nrows))
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def iter_transactions(path: str | Path, *, chunk_rows: int = 1_000_000,
                      nrows: int | None = None) -> Iterator[pd.DataFrame]:
    """``transactions_data.csv`` in frames of ``chunk_rows``: ``date`` a timestamp, ``amount`` float dollars,
    blank ``merchant_state``, ``zip`` and ``errors`` missing (NaN)."""
    path = Path(path)
    if not path.is_file():
        raise LayoutFileMissing(f"{path} does not exist; expected {TRANSACTIONS_FILE} of the Kaggle layout")
    _check_columns(path, TRANSACTION_COLUMNS, _header(path))
    offset = 0
    try:
        with pd.read_csv(path, dtype=TRANSACTION_READ_DTYPES, chunksize=chunk_rows, nrows=nrows) as reader:
            for chunk in reader:
                yield _parse_transactions(chunk, path, offset)
                offset += len(chunk)
    except LayoutError:
        raise
    except ValueError as exc:
        raise LayoutValueError(f"{path.name}, in the rows from data row {offset + 1}: {exc}; expected the columns "
                               f"{','.join(TRANSACTION_COLUMNS)} written as in the Kaggle file") from None
    if offset == 0:
        empty = pd.read_csv(path, dtype=TRANSACTION_READ_DTYPES, nrows=0)
        yield _parse_transactions(empty, path, 0)


def _parse_transactions(chunk: pd.DataFrame, path: Path, offset: int) -> pd.DataFrame:
    chunk.index = pd.RangeIndex(offset, offset + len(chunk))
    chunk["date"] = parse_date(chunk["date"], where=f"{path.name} column 'date'")
    chunk["amount"] = parse_money(chunk["amount"], where=f"{path.name} column 'amount'")
    return chunk.reset_index(drop=True)


def _refuse_unparsed(original: pd.Series, parsed: pd.Series, where: str, expected: str) -> None:
    """Raise for the first value that was there but could not be parsed."""
    present = original.notna() & (original.astype("str").str.strip() != "")
    bad = present & parsed.isna()
    if bad.any():
        position = original.index[np.flatnonzero(bad.to_numpy())[0]]
        count = int(bad.sum())
        more = f" (and {count - 1} more)" if count > 1 else ""
        raise LayoutValueError(f"{where} data row {int(position) + 1} has {original[position]!r}{more}; "
                               f"expected {expected}")


def _header(path: Path) -> list[str]:
    with path.open("r", encoding="utf-8", newline="") as handle:
        first = handle.readline()
    return [name.strip().strip('"') for name in first.rstrip("\r\n").split(",")] if first else []


def _check_columns(path: Path, expected: tuple[str, ...], found: list[str]) -> None:
    missing = [c for c in expected if c not in found]
    if missing:
        shown = ",".join(found) if found else "no header at all"
        raise LayoutColumnsMissing(f"{path.name} lacks the columns {', '.join(missing)}; expected "
                                   f"{','.join(expected)} and found {shown}")


def _read_csv(path: str | Path, expected: tuple[str, ...]) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise LayoutFileMissing(f"{path} does not exist; expected {path.name} of the Kaggle layout")
    _check_columns(path, expected, _header(path))
    try:
        return pd.read_csv(path)
    except (ValueError, pd.errors.ParserError) as exc:
        raise LayoutValueError(f"{path.name} cannot be read as CSV: {exc}") from None


def _read_json(path: Path):
    if not path.is_file():
        raise LayoutFileMissing(f"{path} does not exist; expected {path.name} of the Kaggle layout")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LayoutValueError(f"{path.name} is not valid JSON: {exc}") from None
