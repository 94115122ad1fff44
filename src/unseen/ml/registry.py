"""Versioned models on the file system: register, list, load (checksum verified), promote, prune.

Layout under the registry's root::

    <task>/<version>/model.joblib     the fitted model, written with joblib
    <task>/<version>/metadata.json    what it is, what data it saw, how well it did, which code made it
    <task>/promoted.json              which version serves; replaced atomically
    <task>/.lock                      held (fcntl.flock) while registering, promoting or pruning

A version is written under a hidden temporary folder and renamed into place, and the pointer is replaced with
``os.replace``, so a reader in another process (the API) sees the old state or the new one, never half of either.
Versions are immutable once registered. A serving process polls :meth:`ModelRegistry.fingerprint`, which reads
one tiny file, and on a change calls :meth:`ModelRegistry.load_promoted`, which returns the model together with the
metadata of the version it came from, even while a retraining promotes and prunes at the same time.

Loading unpickles: load only from a registry you trust. The checksum catches corruption, not tampering.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import logging
import math
import numbers
import os
import platform
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import joblib
import numpy as np

import unseen
from unseen.config import PROJECT_ROOT

__all__ = ["ChecksumMismatchError", "ModelRegistry", "ModelVersion", "PromotionDecision", "RegistryError"]

logger = logging.getLogger(__name__)

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,40}$")
"""What task names and version ids look like: nothing that can climb out of the root (no dots, no slashes)."""
MODEL_FILE = "model.joblib"
METADATA_FILE = "metadata.json"
POINTER_FILE = "promoted.json"
LOCK_FILE = ".lock"
METADATA_SCHEMA = 1
_INCOMING_PREFIX = ".incoming-"
_TRASH_PREFIX = ".trash-"
# A register that crashed leaves its temporary folder behind; none takes hours to write, so prune may clear it.
_STALE_INCOMING_SECONDS = 6 * 3600
_GIT_TIMEOUT_SECONDS = 2.0
_LOAD_ATTEMPTS = 5
_VERSION_STAMP = "%Y%m%d-%H%M%S-%f"


class RegistryError(Exception):
    """Something asked of the registry that it cannot do; the message says what exists or what was expected."""


class ChecksumMismatchError(RegistryError):
    """A model file's SHA-256 differs from the one recorded when it was registered."""

    def __init__(self, path: Path, expected: str, actual: str):
        self.path, self.expected, self.actual = path, expected, actual
        super().__init__(f"checksum mismatch for {path}: expected sha256 {expected}, got {actual}; "
                         "the file is corrupt or was changed after it was registered")


@dataclass(frozen=True)
class ModelVersion:
    """One registered model: its metadata, where it lives and whether it is the promoted one."""

    task: str
    version: str
    created: datetime
    params: dict[str, Any]
    metrics: dict[str, Any]
    data_range: tuple[str, str]
    n_samples: int
    notes: str | None
    code_version: dict[str, Any]
    libraries: dict[str, str | None]
    checksum: str
    file_size: int
    path: Path
    promoted: bool = False

    @property
    def model_path(self) -> Path:
        return self.path / MODEL_FILE

    def metric(self, name: str) -> float | None:
        """The recorded metric ``name`` (``"auc"``, or ``"holdout.auc"`` for nested metrics); None if absent or NaN."""
        value = _lookup(self.metrics, name)
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class PromotionDecision:
    """What :meth:`ModelRegistry.promote_if_better` decided, and why."""

    task: str
    candidate: str
    incumbent: str | None
    metric: str
    candidate_value: float | None
    incumbent_value: float | None
    promoted: bool
    reason: str


class ModelRegistry:
    """File-system registry of model versions per task, safe for several processes at once.

    Parameters
    ----------
    root : path
        Folder holding one sub-folder per task (the project passes its git-ignored ``models/``).

    Examples
    --------
    >>> import tempfile
    >>> from sklearn.dummy import DummyClassifier
    >>> folder = tempfile.TemporaryDirectory()
    >>> registry = ModelRegistry(folder.name)
    >>> model = DummyClassifier().fit([[0], [1], [1]], [0, 1, 1])
    >>> v = registry.register("churn", model, params=model.get_params(), metrics={"holdout": {"auc": 0.5}},
    ...                       data_range=("2026-01-01", "2026-03-31"), n_samples=3)
    >>> registry.promote_if_better("churn", v.version, "holdout.auc").reason
    'first promoted version of churn'
    >>> registry.load("churn").predict([[5]])
    array([1])
    >>> registry.promoted("churn").version == v.version
    True
    >>> folder.cleanup()
    """

    def __init__(self, root: Path | str):
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"ModelRegistry({str(self.root)!r})"

    def tasks(self) -> list[str]:
        """The tasks with a folder in the registry, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and NAME_PATTERN.match(p.name))

    def register(self, task: str, model: Any, *, params: Mapping[str, Any], metrics: Mapping[str, Any],
                 data_range: Sequence[Any], n_samples: int, notes: str | None = None) -> ModelVersion:
        """Save ``model`` as a new version of ``task`` (not promoted) and return it.

        Parameters
        ----------
        task : str
            Task name matching ``NAME_PATTERN``, such as ``"anomaly"``.
        model : object
            Anything joblib can pickle, usually a fitted estimator.
        params : mapping
            Training parameters; values JSON cannot hold are recorded by their ``repr``.
        metrics : mapping of str to number or mapping
            Scores on the held-out slice, possibly nested (``{"holdout": {"auc": 0.91}}``). NaN is stored as null.
        data_range : (start, end)
            First and last time of the training data: ISO strings, dates, datetimes or timestamps.
        n_samples : int
            How many samples the model was trained on.
        notes : str, optional
            Free text for people.

        Returns
        -------
        ModelVersion
            The new version; its id sorts after every earlier version of the task.
        """
        task_dir = self._task_dir(task)
        start, end = _check_data_range(data_range)
        if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < 1:
            raise RegistryError(f"n_samples must be a positive integer; got {n_samples!r}")
        metrics_json = _check_metrics(metrics, "metrics")
        params_json = _jsonable(dict(params))
        task_dir.mkdir(parents=True, exist_ok=True)
        incoming = task_dir / f"{_INCOMING_PREFIX}{secrets.token_hex(8)}"
        incoming.mkdir()
        try:
            # The slow part (pickling a large model) happens before the lock, so it does not hold up readers.
            model_path = incoming / MODEL_FILE
            joblib.dump(model, model_path)
            _fsync_file(model_path)
            checksum, file_size = _sha256(model_path.read_bytes()), model_path.stat().st_size
            with self._locked(task):
                created = datetime.now(UTC)
                version = self._next_version(task, created)
                metadata = {
                    "schema": METADATA_SCHEMA, "task": task, "version": version, "created": created.isoformat(),
                    "params": params_json, "metrics": metrics_json,
                    "data": {"start": start, "end": end, "n_samples": int(n_samples)},
                    "notes": notes, "code_version": _code_version(), "libraries": _library_versions(),
                    "model": {"file": MODEL_FILE, "sha256": checksum, "size": file_size},
                }
                _write_json_durably(incoming / METADATA_FILE, metadata)
                _fsync_dir(incoming)
                os.rename(incoming, task_dir / version)
                _fsync_dir(task_dir)
        except BaseException:
            shutil.rmtree(incoming, ignore_errors=True)
            raise
        logger.info("registered %s/%s (%d bytes, metrics %s)", task, version, file_size, metrics_json)
        return self._read_version(task, version, promoted_version=None)

    def list(self, task: str) -> list[ModelVersion]:
        """Every version of ``task``, newest first, with ``promoted`` set on the promoted one ([] for a new task)."""
        promoted_version = (self._read_pointer(task) or {}).get("version")
        versions = []
        for version in self._version_ids(task):
            try:
                versions.append(self._read_version(task, version, promoted_version))
            except RegistryError:
                if (self._task_dir(task) / version).exists():
                    raise  # not pruned by another process meanwhile, so genuinely unreadable
        return versions

    def get(self, task: str, version: str) -> ModelVersion:
        """The metadata of one version; a clear error lists what exists when the task or version is unknown."""
        task_dir = self._existing_task_dir(task)
        _check_name(version, "version")
        if not (task_dir / version / METADATA_FILE).is_file():
            raise RegistryError(f"unknown version {version!r} of task {task!r}; versions: {self._describe(task)}")
        return self._read_version(task, version, (self._read_pointer(task) or {}).get("version"))

    def load(self, task: str, version: str | None = None) -> Any:
        """The model of ``version`` (None: the promoted one), after checking its SHA-256 against the metadata."""
        if version is None:
            return self.load_promoted(task)[1]
        return joblib.load(io.BytesIO(self._verified_bytes(self.get(task, version))))

    def load_promoted(self, task: str) -> tuple[ModelVersion, Any]:
        """The promoted version and its model, as one consistent pair: what a serving process swaps in.

        If another process promotes a new version and prunes this one between reading the pointer and reading
        the file, the new pointer is read and the load tried again.
        """
        self._existing_task_dir(task)
        for _ in range(_LOAD_ATTEMPTS):
            pointer = self._read_pointer(task)
            if pointer is None:
                raise RegistryError(f"task {task!r} has no promoted version; versions: {self._describe(task)}")
            try:
                version = self.get(task, pointer["version"])
                model = joblib.load(io.BytesIO(self._verified_bytes(version)))
            except RegistryError:
                if (self._read_pointer(task) or {}).get("version") == pointer["version"]:
                    raise
                continue
            return replace(version, promoted=True), model
        raise RegistryError(f"the promoted version of {task!r} changed {_LOAD_ATTEMPTS} times while loading it")

    def promoted(self, task: str) -> ModelVersion | None:
        """The promoted version of ``task``, or None when nothing has been promoted yet."""
        pointer = self._read_pointer(task)
        return None if pointer is None else self.get(task, pointer["version"])

    def promote(self, task: str, version: str, *, reason: str = "promoted by hand") -> ModelVersion:
        """Make ``version`` the one that serves (after checking its file); promoting it again changes nothing."""
        with self._locked(task):
            return self._promote_locked(task, version, reason)

    def promote_if_better(self, task: str, version: str, metric: str, higher_is_better: bool = True,
                          min_improvement: float = 0.0) -> PromotionDecision:
        """Promote ``version`` if its held-out ``metric`` beats the promoted version's by more than ``min_improvement``.

        The first version of a task is always promoted. Equal scores are not promoted with the default
        ``min_improvement=0``; a small negative ``min_improvement`` accepts a fresher model that is at most that
        much worse. A candidate without a finite score is never promoted; an incumbent without one is replaced.
        The comparison and the pointer update happen under one lock, so two retrainings cannot both win.
        """
        if not isinstance(min_improvement, numbers.Real) or not math.isfinite(min_improvement):
            raise RegistryError(f"min_improvement must be a finite number; got {min_improvement!r}")
        with self._locked(task):
            candidate = self.get(task, version)
            if _lookup(candidate.metrics, metric) is _MISSING:
                raise RegistryError(f"version {version!r} of {task!r} records no metric {metric!r}; "
                                    f"it records: {', '.join(_metric_names(candidate.metrics)) or 'none'}")
            pointer = self._read_pointer(task)
            incumbent = None if pointer is None else self.get(task, pointer["version"])
            decision = _decide_promotion(task, candidate, incumbent, metric, higher_is_better, min_improvement)
            if decision.promoted:
                self._promote_locked(task, version, decision.reason)
        logger.info("promote_if_better %s/%s: %s", task, version, decision.reason)
        return decision

    def prune(self, task: str, keep: int = 5, *, min_age_seconds: float = 600.0) -> list[str]:
        """Delete all but the newest ``keep`` versions and return the deleted ids, newest first.

        The promoted version is never deleted, nor is one registered less than ``min_age_seconds`` ago: a
        retraining running at the same time may not have judged its fresh candidate yet.
        """
        if isinstance(keep, bool) or not isinstance(keep, numbers.Integral) or keep < 0:
            raise RegistryError(f"keep must be a non-negative integer; got {keep!r}")
        if not isinstance(min_age_seconds, numbers.Real) or not min_age_seconds >= 0:
            raise RegistryError(f"min_age_seconds must be a non-negative number; got {min_age_seconds!r}")
        task_dir = self._task_dir(task)
        if not task_dir.is_dir():
            return []
        removed = []
        with self._locked(task):
            promoted_version = (self._read_pointer(task) or {}).get("version")
            youngest_prunable = datetime.now(UTC) - timedelta(seconds=float(min_age_seconds))
            for version in self._version_ids(task)[keep:]:
                if version != promoted_version and self._read_version(task, version, None).created <= youngest_prunable:
                    # Renaming first makes the version vanish at once for readers, even if deletion is interrupted.
                    trash = task_dir / f"{_TRASH_PREFIX}{version}-{secrets.token_hex(4)}"
                    os.rename(task_dir / version, trash)
                    shutil.rmtree(trash)
                    removed.append(version)
            self._clear_leftovers(task_dir)
        if removed:
            logger.info("pruned %d version(s) of %s: %s", len(removed), task, ", ".join(removed))
        return removed

    def fingerprint(self, task: str) -> str | None:
        """A token that changes exactly when the promoted version of ``task`` changes (None: nothing promoted).

        Cheap enough to poll: it reads one small file and loads nothing.
        """
        pointer = self._read_pointer(task)
        return None if pointer is None else f"{pointer['sequence']}:{pointer['version']}"

    def changed_since(self, task: str, token: str | None) -> bool:
        """Whether the promoted version changed since :meth:`fingerprint` returned ``token``."""
        return self.fingerprint(task) != token

    def _task_dir(self, task: str) -> Path:
        return self.root / _check_name(task, "task name")

    def _existing_task_dir(self, task: str) -> Path:
        task_dir = self._task_dir(task)
        if not task_dir.is_dir():
            known = ", ".join(self.tasks()) or "none yet"
            raise RegistryError(f"unknown task {task!r} in {self.root}; tasks: {known}")
        return task_dir

    def _version_ids(self, task: str) -> list[str]:
        task_dir = self._task_dir(task)
        if not task_dir.is_dir():
            return []
        return sorted((p.name for p in task_dir.iterdir()
                       if NAME_PATTERN.match(p.name) and (p / METADATA_FILE).is_file()), reverse=True)

    def _describe(self, task: str, limit: int = 10) -> str:
        versions = self._version_ids(task)
        if not versions:
            return "none registered"
        more = f" and {len(versions) - limit} older" if len(versions) > limit else ""
        return ", ".join(versions[:limit]) + more

    def _next_version(self, task: str, created: datetime) -> str:
        # Called under the lock: the id must sort after every existing one even if the clock stepped back.
        stamp = created.replace(tzinfo=None)
        newest = next(iter(self._version_ids(task)), None)
        if newest is not None:
            try:
                newest_stamp = datetime.strptime(newest[1:23], _VERSION_STAMP)
            except ValueError:
                newest_stamp = None
            if newest_stamp is not None and stamp <= newest_stamp:
                stamp = newest_stamp + timedelta(microseconds=1)
        return f"v{stamp.strftime(_VERSION_STAMP)}-{secrets.token_hex(3)}"

    def _read_version(self, task: str, version: str, promoted_version: str | None) -> ModelVersion:
        path = self._task_dir(task) / version
        try:
            meta = json.loads((path / METADATA_FILE).read_text(encoding="utf-8"))
            return ModelVersion(
                task=meta["task"], version=meta["version"], created=datetime.fromisoformat(meta["created"]),
                params=meta["params"], metrics=meta["metrics"], data_range=(meta["data"]["start"], meta["data"]["end"]),
                n_samples=meta["data"]["n_samples"], notes=meta["notes"], code_version=meta["code_version"],
                libraries=meta["libraries"], checksum=meta["model"]["sha256"], file_size=meta["model"]["size"],
                path=path, promoted=version == promoted_version)
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise RegistryError(f"unreadable metadata {path / METADATA_FILE}: {error!r}") from error

    def _verified_bytes(self, version: ModelVersion) -> bytes:
        try:
            data = version.model_path.read_bytes()
        except OSError as error:
            raise RegistryError(f"cannot read model file {version.model_path}: {error}") from error
        actual = _sha256(data)
        if actual != version.checksum:
            raise ChecksumMismatchError(version.model_path, version.checksum, actual)
        return data

    def _read_pointer(self, task: str) -> dict[str, Any] | None:
        path = self._task_dir(task) / POINTER_FILE
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            raise RegistryError(f"unreadable promotion pointer {path}: {error!r}") from error

    def _promote_locked(self, task: str, version: str, reason: str) -> ModelVersion:
        target = self.get(task, version)
        self._verified_bytes(target)
        pointer = self._read_pointer(task)
        if pointer is not None and pointer["version"] == version:
            return replace(target, promoted=True)
        _write_json_durably(self._task_dir(task) / POINTER_FILE, {
            "task": task, "version": version, "promoted_at": datetime.now(UTC).isoformat(),
            "sequence": (pointer or {}).get("sequence", 0) + 1,
            "previous": None if pointer is None else pointer["version"], "reason": reason,
        })
        logger.info("promoted %s/%s: %s", task, version, reason)
        return replace(target, promoted=True)

    @contextmanager
    def _locked(self, task: str) -> Iterator[None]:
        task_dir = self._task_dir(task)
        task_dir.mkdir(parents=True, exist_ok=True)
        with open(task_dir / LOCK_FILE, "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    @staticmethod
    def _clear_leftovers(task_dir: Path) -> None:
        # Called under the lock: trash and pointer temporaries are only made under it, so any found now are
        # leftovers of a crash. Incoming folders are written before the lock is taken, so only old ones are.
        now = time.time()
        for path in task_dir.iterdir():
            try:
                leftover = (path.name.startswith(_TRASH_PREFIX) or path.name.startswith(f".{POINTER_FILE}.")
                            or (path.name.startswith(_INCOMING_PREFIX)
                                and now - path.stat().st_mtime > _STALE_INCOMING_SECONDS))
            except FileNotFoundError:  # an incoming folder renamed into place meanwhile
                continue
            if leftover:
                logger.warning("removing leftover %s", path)
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)


def _decide_promotion(task: str, candidate: ModelVersion, incumbent: ModelVersion | None, metric: str,
                      higher_is_better: bool, min_improvement: float) -> PromotionDecision:
    new = candidate.metric(metric)
    old = None if incumbent is None else incumbent.metric(metric)

    def decision(promoted: bool, reason: str) -> PromotionDecision:
        return PromotionDecision(task, candidate.version, None if incumbent is None else incumbent.version,
                                 metric, new, old, promoted, reason)

    if incumbent is None:
        return decision(True, f"first promoted version of {task}")
    if incumbent.version == candidate.version:
        return decision(False, f"{candidate.version} is already the promoted version")
    if new is None:
        return decision(False, f"{metric} of {candidate.version} is not a finite number")
    if old is None:
        return decision(True, f"the promoted {incumbent.version} records no finite {metric} to compare with")
    improvement = new - old if higher_is_better else old - new
    direction = "higher" if higher_is_better else "lower"
    if improvement > min_improvement:
        return decision(True, f"{metric} {new:.6g} beats {old:.6g} of {incumbent.version} by {improvement:.6g} "
                              f"({direction} is better; min_improvement {min_improvement:g})")
    return decision(False, f"{metric} {new:.6g} against {old:.6g} of {incumbent.version}: improvement "
                           f"{improvement:.6g} is not above min_improvement {min_improvement:g} "
                           f"({direction} is better)")


def _check_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise RegistryError(f"invalid {what} {name!r}: expected 1 to 41 characters matching {NAME_PATTERN.pattern} "
                            "(lowercase letter first, then lowercase letters, digits, '_' or '-')")
    return name


def _check_data_range(data_range: Sequence[Any]) -> tuple[str, str]:
    if isinstance(data_range, (str, bytes)) or not isinstance(data_range, Sequence) or len(data_range) != 2:
        raise RegistryError(f"data_range must be a pair (start, end); got {data_range!r}")
    start, end = data_range
    try:
        reversed_range = end < start
    except TypeError as error:
        raise RegistryError(f"data_range start and end cannot be compared: {start!r}, {end!r}") from error
    if reversed_range:
        raise RegistryError(f"data_range ends before it starts: start {start!r}, end {end!r}")
    return _iso(start), _iso(end)


def _iso(moment: Any) -> str:
    if isinstance(moment, str):
        return moment
    if hasattr(moment, "isoformat"):  # date, datetime, pandas.Timestamp
        return moment.isoformat()
    if isinstance(moment, np.datetime64):
        return str(np.datetime_as_string(moment))
    raise RegistryError(f"data_range bounds must be ISO strings, dates or datetimes; got {moment!r}")


def _check_metrics(metrics: Any, where: str) -> dict[str, Any]:
    if not isinstance(metrics, Mapping):
        raise RegistryError(f"{where} must be a mapping of names to numbers; got {metrics!r}")
    checked: dict[str, Any] = {}
    for name, value in metrics.items():
        key = f"{where}.{name}"
        if not isinstance(name, str):
            raise RegistryError(f"metric names must be strings; got {name!r} in {where}")
        if isinstance(value, Mapping):
            checked[name] = _check_metrics(value, key)
        elif isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
            checked[name] = int(value)
        elif isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
            checked[name] = float(value) if math.isfinite(value) else None
        else:
            raise RegistryError(f"{key} must be a number; got {value!r}")
    return checked


_MISSING = object()


def _lookup(metrics: Mapping[str, Any], name: str) -> Any:
    if name in metrics:
        return metrics[name]
    value: Any = metrics
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _metric_names(metrics: Mapping[str, Any], prefix: str = "") -> list[str]:
    names = []
    for name, value in metrics.items():
        names.extend(_metric_names(value, f"{prefix}{name}.") if isinstance(value, Mapping) else [prefix + name])
    return names


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return repr(value)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _write_json_durably(path: Path, content: Mapping[str, Any]) -> None:
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(content, handle, indent=2, allow_nan=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def checkout_state(repository: Path) -> tuple[str | None, bool | None]:
    """The commit checked out in ``repository`` and whether tracked files differ from it; (None, None) if unknown."""
    if not (repository / ".git").exists():
        return None, None
    try:
        head = subprocess.run(["git", "-C", str(repository), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=_GIT_TIMEOUT_SECONDS, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None, None
    try:
        status = subprocess.run(["git", "-C", str(repository), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=_GIT_TIMEOUT_SECONDS, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return head or None, None
    return head or None, bool(status.strip())


@lru_cache(maxsize=1)
def _code_version() -> dict[str, Any]:
    # Cached: the code a process runs is what it imported, whatever the checkout does afterwards.
    from_checkout = Path(unseen.__file__).resolve().is_relative_to(PROJECT_ROOT / "src")
    commit, dirty = checkout_state(PROJECT_ROOT) if from_checkout else (None, None)
    return {"package": unseen.__version__, "git_commit": commit, "git_dirty": dirty}


@lru_cache(maxsize=1)
def _library_versions() -> dict[str, str | None]:
    # Installed distributions, read without importing them: registering a plain array need not load scikit-learn.
    # Cached for the same reason as the code version: a process keeps the libraries it imported.
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for distribution in ("scikit-learn", "numpy", "scipy", "joblib"):
        try:
            versions[distribution] = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            versions[distribution] = None
    return versions
