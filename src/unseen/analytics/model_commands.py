"""``unseen analytics fraud``, ``churn`` and ``recommend``: train and evaluate on a layout folder, write the tables,
store what other systems read, and end with a one-screen summary.

Bad input (a folder that is not the layout, too little data for the split, a bad option) raises
:class:`~unseen.analytics.loader.LayoutError` or ValueError before or during the work; the commands turn both into
exit code 2.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from unseen.analytics.loader import load_layout

FRAUD_TABLE_COLUMNS = {"average_precision": "AP", "roc_auc": "ROC-AUC", "recall_at_precision": "recall@P",
                       "precision_at_k_per_day": "P@k/day", "test_precision_at_valid_threshold": "test P (thr.)",
                       "test_recall_at_valid_threshold": "test R (thr.)", "fit_seconds": "fit s"}


def _write(frame: pd.DataFrame, stem: Path) -> None:
    frame.to_csv(stem.with_suffix(".csv"), index=False)
    stem.with_suffix(".json").write_text(frame.to_json(orient="records", indent=2, date_format="iso"))


def _out_folder(out: str | Path | None, runs_dir: Path, name: str) -> Path:
    folder = Path(out) if out else runs_dir / name / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    if folder.is_file():
        raise ValueError(f"--out {str(folder)!r} is a file; expected a folder for the tables")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def fraud_command(*, data: str | Path, out: str | Path | None, runs_dir: Path, console: Console,
                  features: str | Path | None = None, test_months: int = 12, valid_months: int = 12, k: int = 10,
                  max_train_rows: int = 300_000, seed: int = 0, n_jobs: int = 2) -> dict:
    """Build (or read) the transaction features, train and evaluate the fraud models, write ``fraud_models``,
    ``periods`` and ``alerts`` (the best model's daily top-k with explanations) into ``out`` and print the table."""
    from unseen.analytics.features import FRAUD_FEATURES, ID_COLUMNS, read_features, write_features
    from unseen.analytics.fraud import train_fraud_models

    folder = _out_folder(out, runs_dir, "fraud")
    started = time.perf_counter()
    if features is None:
        with console.status(f"reading the layout in {escape(str(data))} ..."):
            layout = load_layout(data)
        features = folder / "features.parquet"
        with console.status("building the transaction features with DuckDB ..."):
            write_features(layout, features, temp_directory=folder / ".features.tmp")
    elif not Path(features).is_file():
        raise ValueError(f"--features {str(features)!r} is not a file; expected the Parquet file of "
                         "`unseen analytics features`")
    wanted = [c for c in ID_COLUMNS if c in ("id", "date", "card_id", "is_fraud")] + list(FRAUD_FEATURES)
    with console.status("reading the labelled features ..."):
        # Only labelled rows are trained on or scored: for the 13M-row layout that leaves 8.9M rows in memory.
        frame = read_features(features, columns=wanted, labelled_only=True)
    with console.status("training the fraud models ...") as status:
        report = train_fraud_models(frame, test_months=test_months, valid_months=valid_months, k=k,
                                    max_train_rows=max_train_rows, seed=seed, n_jobs=n_jobs,
                                    progress=lambda line: status.update(escape(line) + " ..."))
    _write(report.table, folder / "fraud_models")
    _write(report.periods.reset_index(), folder / "periods")
    models = report.table[report.table["model"].isin(report.models)]
    best = models.sort_values("average_precision", ascending=False)["model"].iloc[0]
    alerts = report.top_alerts(best, features=frame)
    _write(alerts, folder / "alerts")
    summary = {"best_model": best, "seconds": time.perf_counter() - started, "out": str(folder),
               "train_sample": report.train_sample, "notes": report.notes}
    (folder / "summary.json").write_text(json.dumps(summary, indent=2, default=str))

    table = Table(title=f"unseen analytics fraud: {report.notes[0]}")
    table.add_column("model")
    for label in FRAUD_TABLE_COLUMNS.values():
        table.add_column(label.replace("@k", f"@{k}").replace("@P", f"@{report.precision:.0%}P"), justify="right")
    for row in report.table.to_dict("records"):
        table.add_row(escape(row["model"]), *[f"{row[c]:.1f}" if c == "fit_seconds" else f"{row[c]:.3f}"
                                              for c in FRAUD_TABLE_COLUMNS])
    console.print(table)
    console.print(f"P@{k}/day of a perfect ranking: {report.top_k_ceiling:.3f}; thresholds chosen on validation "
                  f"({escape(report.notes[1])}). Trained on {report.train_sample['positives']:,} frauds and "
                  f"{report.train_sample['negatives']:,} others. Best: {best}; its alerts with reasons are in "
                  f"{escape(str(folder / 'alerts.csv'))} ({summary['seconds']:.0f} s).")
    return summary


def churn_command(*, data: str | Path, engine, console: Console, days: int = 90, model: str = "gradient_boosting",
                  test_cutoffs: int = 6, seed: int = 0) -> dict:
    """Train and evaluate the churn models, then fit ``model`` on every labelled cut-off, score the users active
    at the latest cut-off and store the predictions in ``churn_prediction`` (replacing that cut-off's rows)."""
    from unseen.analytics.churn import (
        churn_dataset,
        daily_activity,
        predict_churn,
        store_churn_predictions,
        train_churn_models,
    )

    started = time.perf_counter()
    with console.status(f"reading daily activity from {escape(str(data))} ..."):
        activity = daily_activity(data)
    with console.status("churn rows at monthly cut-offs ..."):
        dataset = churn_dataset(activity, days=days)
    with console.status("training and evaluating the churn models ..."):
        report = train_churn_models(dataset, days=days, test_cutoffs=test_cutoffs, seed=seed)
    with console.status(f"predicting with {model} and storing ..."):
        predictions = predict_churn(dataset, model=model, days=days, seed=seed)
        version = f"{days}d-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
        stored = store_churn_predictions(engine, predictions, model=model, version=version)
    table = Table(title=f"unseen analytics churn: no transaction in {days} days "
                        f"(test cut-offs {report.test_cutoffs[0]:%Y-%m} to {report.test_cutoffs[-1]:%Y-%m}, "
                        f"churn rate {report.churn_rate['test']:.1%})")
    for column in ("model", "ROC-AUC", "AP", "lift top 10%"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for row in report.table.to_dict("records"):
        table.add_row(escape(row["label"]), f"{row['roc_auc']:.3f}", f"{row['average_precision']:.3f}",
                      f"{row['lift_top_decile']:.2f}")
    console.print(table)
    as_of = predictions["as_of"].iloc[0]
    console.print(f"stored {stored:,} predictions of {model} (version {version}) as of {as_of} in churn_prediction; "
                  f"the likeliest to leave: "
                  + ", ".join(f"user {u} ({p:.0%})" for u, p in predictions.head(5)[["user_id", "probability"]]
                              .itertuples(index=False))
                  + f" ({time.perf_counter() - started:.0f} s)")
    return {"stored": stored, "as_of": str(as_of), "version": version, "table": report.table}


def recommend_command(*, data: str | Path, console: Console, item: str = "merchant", k: int = 10,
                      test_months: int = 12, merchant: int | None = None, user: int | None = None) -> dict:
    """Evaluate item-kNN against popularity (and, for merchants, the potential-customer methods) on a time split;
    list a merchant's likeliest new customers or a user's recommended merchants when asked, each with its reason
    (the merchants it shares with the merchant's customers, or the user's items that carry the score)."""
    from unseen.analytics.recommend import (
        CustomerFinder,
        evaluate_potential_customers,
        evaluate_user_recommendations,
        explain_user_recommendations,
        split_interactions,
    )
    from unseen.ml.recommend import ItemKNNRecommender

    with console.status(f"reading user x {item} interactions from {escape(str(data))} ..."):
        split = split_interactions(data, item=item, test_months=test_months)
    with console.status("evaluating ..."):
        users_table = evaluate_user_recommendations(split, k=k)
        customers_table = evaluate_potential_customers(split, k=k) if item == "merchant" else None
    table = Table(title=f"unseen analytics recommend: {item}s new to each user from {split.test_start:%Y-%m-%d}, "
                        f"at k = {k} ({int(users_table['users'].iloc[0]):,} users)")
    for column in ("for users", "precision", "recall", "nDCG", "hit rate", "coverage"):
        table.add_column(column, justify="left" if column == "for users" else "right")
    for row in users_table.to_dict("records"):
        table.add_row(row["model"], *(f"{row[c]:.3f}" for c in ("precision", "recall", "ndcg", "hit_rate",
                                                               "coverage")))
    console.print(table)
    if customers_table is not None:
        table = Table(title=f"potential customers: each merchant's new customers, at k = {k} "
                            f"({int(customers_table['merchants'].iloc[0]):,} merchants)")
        for column in ("for merchants", "precision", "recall", "nDCG", "hit rate"):
            table.add_column(column, justify="left" if column == "for merchants" else "right")
        for row in customers_table.to_dict("records"):
            table.add_row(row["method"], *(f"{row[c]:.3f}" for c in ("precision", "recall", "ndcg", "hit_rate")))
        console.print(table)
    history = pd.concat([split.train, split.test], ignore_index=True)
    listed: dict[str, list] = {}
    if merchant is not None:
        if item != "merchant":
            raise ValueError("--merchant needs --item merchant")
        found = CustomerFinder().fit(history).explain_potential_customers(merchant, n=k)
        listed["customers"] = found["user_id"].tolist()
        listed["customer_reasons"] = found
        customers_now = history.loc[history["item_id"] == merchant, "user_id"].nunique()
        console.print(f"merchant {merchant}'s likeliest new customers, with their merchants its {customers_now:,} "
                      "customers also use:")
        for row in found.itertuples():
            shared = ", ".join(f"{m} ({c} of them)" for m, c in zip(row.shared_merchants, row.shared_with_customers))
            console.print(f"  {row.rank}. user {row.user_id} (score {row.score:.3f}): "
                          + (shared or "no merchant in common with its customers"))
    if user is not None:
        if user not in set(history["user_id"].tolist()):
            raise ValueError(f"user {user} has no transaction in the data")
        model = ItemKNNRecommender(n_neighbors=50, shrinkage=10.0).fit(history)
        found = explain_user_recommendations(model, history, user, n=k)
        listed["items"] = found["item_id"].tolist()
        listed["item_reasons"] = found
        console.print(f"user {user}'s recommended {item}s, because of the user's own {item}s (their part of the "
                      "score):")
        for row in found.itertuples():
            because = ", ".join(f"{i} ({c:.2f})" for i, c in zip(row.because, row.contributions))
            console.print(f"  {row.rank}. {item} {row.item_id} (score {row.score:.3f}): "
                          + (f"because of {because}; {row.explained_share:.0%} of the score" if because
                             else f"none of the user's {item}s is like it; a popular {item}"))
    return {"users": users_table, "customers": customers_table, **listed}
