"""What a retraining notebook hands back to the runner: ``result.json`` in the run folder.

The kernel does not know where papermill writes the executed notebook, so the runner passes the run folder as the
notebook's ``out_dir`` parameter, and the notebook writes the outcome of its training there.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

__all__ = ["RESULT_FILE", "read_result", "training_record", "write_result"]

RESULT_FILE = "result.json"


def training_record(result: Any) -> dict[str, Any]:
    """The facts of a ``unseen.ml.training.TrainingResult`` worth keeping with the run, as JSON-ready values."""
    return {
        "task": result.task,
        "version": result.version.version,
        "promoted": bool(result.decision.promoted),
        "reason": result.decision.reason,
        "incumbent": result.decision.incumbent,
        "metric": result.decision.metric,
        "metrics": _finite(result.metrics),
        "baseline": _finite(result.baseline),
        "pruned": list(result.pruned),
        "data_range": list(result.version.data_range),
        "n_samples": result.version.n_samples,
        "python": sys.executable,
    }


def write_result(out_dir: str | Path, record: dict[str, Any]) -> Path | None:
    """Write ``record`` to ``out_dir/result.json``; an empty ``out_dir`` (an interactive run) writes nothing."""
    if not str(out_dir):
        return None
    path = Path(out_dir) / RESULT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_finite(record), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return path


def read_result(run_dir: Path) -> dict[str, Any] | None:
    """The ``result.json`` a notebook wrote into ``run_dir``, or None when it wrote none."""
    try:
        return json.loads((Path(run_dir) / RESULT_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def _finite(value: Any) -> Any:
    """NaN and infinities become None (JSON has no spelling for them); numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
