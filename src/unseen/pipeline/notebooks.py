"""``unseen notebooks`` and ``make notebooks``: execute the research notebooks with papermill, small or full.

Every numbered notebook in ``notebooks/`` runs in a fresh kernel of this very interpreter (the kernel the scheduled
retraining uses), with its ``out_dir`` parameter pointing at a new run folder,
``runs/notebooks/<name>/<UTC time>/``, where the executed copy lands beside the figures and tables the notebook
writes. ``small=True`` injects the notebook's table from ``notebooks/small.toml``, parameters that make it run in
about a minute (what CI and the tests execute); without it the notebook's own defaults run, which the paper's
figures come from. A notebook that fails does not stop the others: its error is in its result and the executed
copy, traceback included, is kept.
"""

from __future__ import annotations

import re
import time
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from unseen.config import PROJECT_ROOT, Settings
from unseen.pipeline.jobs import notebook_parameters

__all__ = ["NOTEBOOKS_DIR", "NotebookRun", "execute_notebook", "research_notebooks", "run_notebooks",
           "small_parameters"]

NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
SMALL_FILE = "small.toml"
_NUMBERED = re.compile(r"^\d\d-[a-z0-9-]+\.ipynb$")


@dataclass
class NotebookRun:
    """One executed notebook: where its run folder and executed copy are, how long it took, and its error."""

    name: str
    folder: Path
    executed: Path
    parameters: dict[str, Any]
    seconds: float = 0.0
    error: str | None = None
    files: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


def research_notebooks(folder: Path = NOTEBOOKS_DIR) -> list[Path]:
    """The numbered research notebooks (``NN-name.ipynb``) in ``folder``, in order."""
    return sorted(p for p in Path(folder).glob("*.ipynb") if _NUMBERED.match(p.name))


def small_parameters(folder: Path = NOTEBOOKS_DIR) -> dict[str, dict[str, Any]]:
    """The tables of ``notebooks/small.toml``, by notebook name (the file name without ``.ipynb``)."""
    path = Path(folder) / SMALL_FILE
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"no {SMALL_FILE} in {folder}: it gives the small parameters of every notebook") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path} is not valid TOML: {exc}") from None


def select_notebooks(names: list[str] | None, folder: Path = NOTEBOOKS_DIR) -> list[Path]:
    """The notebooks named (by number ``03``, by full name, or by file name), or all of them.

    Raises ``ValueError`` naming what matched nothing and what there is."""
    notebooks = research_notebooks(folder)
    if not names:
        return notebooks
    chosen, unknown = [], []
    for name in names:
        stem = name.removesuffix(".ipynb")
        found = [p for p in notebooks if p.stem == stem or p.stem.split("-", 1)[0] == stem]
        if not found:
            unknown.append(name)
        chosen += [p for p in found if p not in chosen]
    if unknown:
        known = ", ".join(p.stem for p in notebooks)
        raise ValueError(f"no research notebook {', '.join(map(repr, unknown))}; expected a number or a name "
                         f"among: {known}")
    return chosen


def execute_notebook(notebook: Path, parameters: dict[str, Any], folder: Path, *, timeout_s: int = 1800,
                     settings: Settings | None = None) -> NotebookRun:
    """Execute ``notebook`` with ``parameters`` (plus ``out_dir=folder`` and, when it declares it, the reference
    data folder) in a kernel of this interpreter; the executed copy is ``folder/<name>.ipynb``.

    Raises ``ValueError`` for a parameter the notebook does not declare (papermill would only warn, and the run
    would silently use the default). An error inside the notebook is returned in the result, not raised.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from unseen.pipeline.runner import KERNEL_NAME, _kernel_manager_class

    settings = settings or Settings()
    declared = notebook_parameters(notebook)
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise ValueError(f"{notebook.name} has no parameter {', '.join(map(repr, unknown))}; its parameters "
                         f"are: {', '.join(declared)}")
    given: dict[str, Any] = {"out_dir": str(folder)} if "out_dir" in declared else {}
    if "reference_data" in declared:
        given["reference_data"] = str(settings.reference_data_dir)
    given.update(parameters)
    folder.mkdir(parents=True, exist_ok=True)
    run = NotebookRun(notebook.stem, folder, folder / notebook.name, given)
    started = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(notebook), str(run.executed), parameters=given, kernel_name=KERNEL_NAME,
            kernel_manager_class=_kernel_manager_class(), progress_bar=False, log_output=False,
            cwd=str(notebook.parent), start_timeout=60, execution_timeout=timeout_s,
        )
    except PapermillExecutionError as exc:
        run.error = f"cell {exc.exec_count}: {exc.ename}: {exc.evalue}"
    finally:
        run.seconds = time.perf_counter() - started
    run.files = sorted(p.name for p in folder.iterdir())
    return run


def run_notebooks(names: list[str] | None = None, *, small: bool = True, out_dir: Path | None = None,
                  settings: Settings | None = None, folder: Path = NOTEBOOKS_DIR, on_start=None) -> list[NotebookRun]:
    """Execute the notebooks named (all when None), one after another, each into a new run folder under
    ``out_dir`` (``runs/notebooks``). ``on_start(path)`` is called before each, for progress."""
    settings = settings or Settings()
    notebooks = select_notebooks(names, folder)
    tables = small_parameters(folder) if small else {}
    missing = [p.stem for p in notebooks if small and p.stem not in tables]
    if missing:
        raise ValueError(f"{SMALL_FILE} has no table for {', '.join(missing)}; add one with the notebook's small "
                         f"parameters, e.g. [\"{missing[0]}\"]")
    root = out_dir or settings.runs_dir / "notebooks"
    stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    runs = []
    for notebook in notebooks:
        if on_start:
            on_start(notebook)
        runs.append(execute_notebook(notebook, dict(tables.get(notebook.stem, {})), root / notebook.stem / stamp,
                                     settings=settings))
    return runs
