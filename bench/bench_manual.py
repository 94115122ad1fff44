"""Benchmark the hand-written estimators of ``unseen.ml.manual`` against scikit-learn's.

Run from the repository root:

    .venv/bin/python bench/bench_manual.py                # every dataset, 7 timed fits each
    .venv/bin/python bench/bench_manual.py --repeats 3 --n-estimators 20   # quicker

Each dataset that scikit-learn ships is split once, stratified, with a fixed seed (75/25).
Both sides of a comparison get the same settings: logistic regression the same ``C`` behind a
``StandardScaler`` in a Pipeline, trees the same ``max_depth`` and ``random_state``, forests
the same number of trees, depth, ``max_features="sqrt"`` and ``random_state``.

Fit time is the median over ``--repeats`` timed fits after one untimed warm-up fit, the two
sides taking turns so that load from other processes falls on both alike; the ratio is manual
/ scikit-learn, so below 1 means the hand-written one is faster. BLAS and OpenMP are held to
``--threads`` threads (default one) on both sides: the comparison is of algorithms, and
threads on a shared machine mostly measure the machine.

Both tree implementations pick at random (by ``random_state``) between splits that are exactly
equally good, and on iris and wine one test sample is worth more than 2 points, so a single
seed's gap can be one coin flip. The "mean gap" column therefore repeats the tree and forest
comparison over ``--spread-seeds`` model seeds on the same split.

Targets: logistic regression within 1 accuracy point of scikit-learn and at most 3x its fit
time; the tree within 2 points at equal depth and at most 10x the fit time. The forest has no
target and is reported for information. The exit status is 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass

from rich.console import Console
from rich.progress import track
from rich.table import Table
from sklearn import datasets
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier as SklearnForest
from sklearn.linear_model import LogisticRegression as SklearnLogistic
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier as SklearnTree
from threadpoolctl import threadpool_limits

from unseen.ml.manual import DecisionTreeClassifier, LogisticRegression, RandomForestClassifier

DATASETS = {
    "breast_cancer": datasets.load_breast_cancer,
    "wine": datasets.load_wine,
    "digits": datasets.load_digits,
    "iris": datasets.load_iris,
}
# Largest accuracy gap (percentage points) and fit-time ratio allowed; None means no target.
TARGETS = {
    "logistic": (1.0, 3.0),
    "tree": (2.0, 10.0),
    "forest": (None, None),
}
SEEDED_MODELS = ("tree", "forest")

# Rich assumes 80 columns when output is piped; the table needs about 120.
console = Console(width=None if sys.stdout.isatty() else 130)


@dataclass
class Comparison:
    """Test accuracy and median fit time of a hand-written model and scikit-learn's."""

    dataset: str
    model: str
    manual_accuracy: float
    sklearn_accuracy: float
    manual_seconds: float
    sklearn_seconds: float
    mean_gap: float | None = None
    """Mean accuracy gap (points) over several model seeds; None for deterministic models."""

    @property
    def accuracy_gap(self) -> float:
        """Manual minus scikit-learn accuracy, in percentage points."""
        return 100.0 * (self.manual_accuracy - self.sklearn_accuracy)

    @property
    def time_ratio(self) -> float:
        return self.manual_seconds / self.sklearn_seconds

    @property
    def meets_target(self) -> bool | None:
        max_gap, max_ratio = TARGETS[self.model]
        if max_gap is None:
            return None
        return abs(self.accuracy_gap) <= max_gap and self.time_ratio <= max_ratio


def model_pair(model: str, args: argparse.Namespace, seed: int) -> tuple:
    """Hand-written and scikit-learn estimator for ``model``, configured alike."""
    if model == "logistic":
        return (
            make_pipeline(StandardScaler(), LogisticRegression(C=args.C)),
            make_pipeline(StandardScaler(), SklearnLogistic(C=args.C)),
        )
    if model == "tree":
        return (
            DecisionTreeClassifier(max_depth=args.max_depth, random_state=seed),
            SklearnTree(max_depth=args.max_depth, random_state=seed),
        )
    forest = {
        "n_estimators": args.n_estimators,
        "max_depth": args.forest_max_depth,
        "max_features": "sqrt",
        "random_state": seed,
    }
    return RandomForestClassifier(**forest), SklearnForest(**forest)


def timed_fits(manual, reference, X, y, repeats: int) -> tuple[float, float, object, object]:
    """Median fit seconds of both estimators, taking turns, after one warm-up fit each."""
    manual, reference = clone(manual).fit(X, y), clone(reference).fit(X, y)
    manual_times, reference_times = [], []
    for _ in range(repeats):
        for estimator, times in ((manual, manual_times), (reference, reference_times)):
            candidate = clone(estimator)
            start = time.perf_counter()
            candidate.fit(X, y)
            times.append(time.perf_counter() - start)
    return statistics.median(manual_times), statistics.median(reference_times), manual, reference


def mean_gap_over_seeds(model, args, X_train, X_test, y_train, y_test) -> float:
    """Mean test-accuracy gap in points over ``args.spread_seeds`` model seeds."""
    gaps = []
    for seed in range(args.spread_seeds):
        manual, reference = model_pair(model, args, seed)
        manual_accuracy = manual.fit(X_train, y_train).score(X_test, y_test)
        gaps.append(manual_accuracy - reference.fit(X_train, y_train).score(X_test, y_test))
    return 100.0 * statistics.fmean(gaps)


def compare(args: argparse.Namespace) -> list[Comparison]:
    """Fit and score every model pair on every dataset."""
    splits = {}
    for dataset in args.datasets:
        X, y = DATASETS[dataset](return_X_y=True)
        splits[dataset] = train_test_split(
            X, y, test_size=args.test_size, stratify=y, random_state=args.seed
        )
    tasks = [(dataset, model) for dataset in args.datasets for model in args.models]
    results = []
    for dataset, model in track(tasks, description="fitting", console=console):
        X_train, X_test, y_train, y_test = splits[dataset]
        manual_seconds, sklearn_seconds, manual, reference = timed_fits(
            *model_pair(model, args, args.seed), X_train, y_train, args.repeats
        )
        mean_gap = None
        if model in SEEDED_MODELS and args.spread_seeds > 0:
            mean_gap = mean_gap_over_seeds(model, args, *splits[dataset])
        results.append(
            Comparison(
                dataset=dataset,
                model=model,
                manual_accuracy=manual.score(X_test, y_test),
                sklearn_accuracy=reference.score(X_test, y_test),
                manual_seconds=manual_seconds,
                sklearn_seconds=sklearn_seconds,
                mean_gap=mean_gap,
            )
        )
    return results


def render(results: list[Comparison], args: argparse.Namespace) -> Table:
    """The comparison as one rich table."""
    table = Table(
        title=(
            f"unseen.ml.manual vs scikit-learn (split seed {args.seed}, test size "
            f"{args.test_size}, median of {args.repeats} fits, {args.threads} thread(s))"
        ),
        caption=(
            f"gap = manual - sklearn accuracy in points; mean gap over model seeds "
            f"0-{args.spread_seeds - 1}; ratio = manual / sklearn fit time. Targets: logistic "
            f"|gap| <= 1 and ratio <= 3; tree (max_depth={args.max_depth}) |gap| <= 2 and "
            "ratio <= 10; forest none."
        ),
    )
    for column in ("dataset", "model", "manual acc", "sklearn acc", "gap", "mean gap",
                   "manual fit", "sklearn fit", "ratio", "target"):
        table.add_column(column, justify="left" if column in ("dataset", "model") else "right")
    for result in results:
        verdict = {True: "[green]met[/]", False: "[red]MISSED[/]", None: "-"}[result.meets_target]
        table.add_row(
            result.dataset,
            result.model,
            f"{result.manual_accuracy:.4f}",
            f"{result.sklearn_accuracy:.4f}",
            f"{result.accuracy_gap:+.2f}",
            "-" if result.mean_gap is None else f"{result.mean_gap:+.2f}",
            f"{1000 * result.manual_seconds:.1f} ms",
            f"{1000 * result.sklearn_seconds:.1f} ms",
            f"{result.time_ratio:.2f}",
            verdict,
        )
    return table


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", choices=list(DATASETS), default=list(DATASETS))
    parser.add_argument("--models", nargs="+", choices=list(TARGETS), default=list(TARGETS))
    parser.add_argument("--seed", type=int, default=0, help="split and model seed")
    parser.add_argument("--test-size", type=float, default=0.25)
    parser.add_argument("--repeats", type=int, default=7, help="timed fits per model")
    parser.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP threads, both sides")
    parser.add_argument("--spread-seeds", type=int, default=10,
                        help="model seeds for the mean gap of tree and forest (0 to skip)")
    parser.add_argument("--C", type=float, default=1.0, help="inverse L2 strength, both sides")
    parser.add_argument("--max-depth", type=int, default=5, help="tree depth, both sides")
    parser.add_argument("--n-estimators", type=int, default=100, help="trees per forest")
    parser.add_argument("--forest-max-depth", type=int, default=None, help="forest tree depth")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with threadpool_limits(limits=args.threads):
        results = compare(args)
    console.print(render(results, args))
    missed = [f"{r.dataset}/{r.model}" for r in results if r.meets_target is False]
    if missed:
        console.print(f"[red]Targets missed:[/] {', '.join(missed)}")
        return 1
    console.print("[green]Every target met.[/]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
