"""What every research notebook writes: a run folder with its parameters, data range, model versions and code version
beside its figures (PNG and SVG) and result tables (CSV and JSON), so that the paper's numbers can be traced to a run.

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as tmp:
...     run = RunFolder.create("00-example", {"k": 3}, out_dir=tmp)
...     path = run.save_table("scores", [{"model": "a", "f1": 0.5}])
...     sorted(p.name for p in run.path.iterdir())
['run.json', 'scores.csv', 'scores.json']
"""

from __future__ import annotations

import csv
import json
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from unseen.config import PROJECT_ROOT, Settings


def code_version() -> dict[str, Any]:
    """The commit the code came from and whether the working tree had changes (None outside a git checkout)."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                                timeout=10).stdout.strip() or None
        dirty = bool(subprocess.run(["git", "status", "--porcelain"], cwd=PROJECT_ROOT, capture_output=True,
                                    text=True, timeout=10).stdout.strip()) if commit else None
    except (OSError, subprocess.SubprocessError):
        commit, dirty = None, None
    return {"commit": commit, "uncommitted_changes": dirty}


@dataclass
class RunFolder:
    name: str
    path: Path
    meta: dict[str, Any]

    @classmethod
    def create(cls, name: str, parameters: dict[str, Any], *, out_dir: str | Path = "") -> RunFolder:
        """``out_dir``, or a fresh ``runs/notebooks/<name>/<UTC time>/`` when it is empty."""
        if out_dir:
            path = Path(out_dir)
        else:
            path = Settings().runs_dir / "notebooks" / name / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
        path.mkdir(parents=True, exist_ok=True)
        run = cls(name, path, {"notebook": name, "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                               "parameters": parameters, "code": code_version()})
        run.write_meta()
        return run

    def note(self, **values: Any) -> None:
        """Add facts to ``run.json`` (data range, model versions, ...)."""
        self.meta.update(values)
        self.write_meta()

    def write_meta(self) -> None:
        (self.path / "run.json").write_text(json.dumps(self.meta, indent=2, default=str) + "\n")

    def save_table(self, name: str, rows: list[dict[str, Any]] | Any) -> Path:
        """``name.csv`` and ``name.json`` from a list of dicts or a DataFrame; returns the CSV path."""
        if hasattr(rows, "to_dict"):
            rows = rows.to_dict("records")
        rows = list(rows)
        (self.path / f"{name}.json").write_text(json.dumps(rows, indent=2, default=str) + "\n")
        fields: list[str] = []
        for row in rows:
            fields += [key for key in row if key not in fields]
        with open(self.path / f"{name}.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
        return self.path / f"{name}.csv"

    def save_figure(self, figure, name: str) -> list[Path]:
        """A matplotlib figure as ``name.png`` (150 dpi) and ``name.svg``."""
        paths = [self.path / f"{name}.png", self.path / f"{name}.svg"]
        figure.savefig(paths[0], dpi=150, bbox_inches="tight")
        figure.savefig(paths[1], bbox_inches="tight")
        return paths
