"""Train a task's model from the shop's data, register it, and promote it only if it beats the promoted one.

``unseen train TASK`` and the scheduled retraining notebooks call these functions; each returns what it did so the
caller can print or record it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from unseen.ml.registry import ModelRegistry, ModelVersion, PromotionDecision

Progress = Callable[[str], None]


@dataclass
class TrainingResult:
    task: str
    version: ModelVersion
    decision: PromotionDecision
    metrics: dict[str, Any]
    baseline: dict[str, Any] = field(default_factory=dict)
    pruned: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RecommendParameters:
    n_neighbors: int = 30
    similarity: str = "cosine"
    shrinkage: float = 10.0
    half_life_days: float = 30.0
    test_days: int = 30
    k: int = 10


def train_recommend(engine: Engine, registry: ModelRegistry, params: RecommendParameters = RecommendParameters(), *,
                    keep: int = 5, progress: Progress | None = None) -> TrainingResult:
    """Item-kNN on every product event: judged on the last ``test_days`` (trained before them), then refitted on all
    events and registered; promoted if its nDCG@k beats the promoted version's."""
    from unseen.ml.recommend import ItemKNNRecommender
    from unseen.ml.recommend._shop import fit_on_events, load_item_events, time_split_evaluation

    def make_model() -> ItemKNNRecommender:
        return ItemKNNRecommender(n_neighbors=params.n_neighbors, similarity=params.similarity,
                                  shrinkage=params.shrinkage)

    say = progress or (lambda _message: None)
    say("loading events")
    events = load_item_events(engine)
    if events.empty:
        raise ValueError("there are no product events to learn from; run `unseen seed` or let shoppers browse first")
    say(f"evaluating on the last {params.test_days} days")
    reports = time_split_evaluation(events, make_model, test_days=params.test_days, k=params.k,
                                    half_life_days=params.half_life_days)
    say("fitting on every event")
    model = fit_on_events(make_model(), events, half_life_days=params.half_life_days)
    version = registry.register(
        "recommend", model, params=params.__dict__, metrics={"holdout": reports["item_knn"]},
        data_range=(events["at"].min().isoformat(), events["at"].max().isoformat()), n_samples=len(events),
        notes=f"item-kNN over {events['user_id'].nunique()} users and {events['product_id'].nunique()} products",
    )
    decision = registry.promote_if_better("recommend", version.version, "holdout.ndcg")
    pruned = registry.prune("recommend", keep=keep)
    return TrainingResult("recommend", version, decision, reports["item_knn"], reports["popularity"], pruned)


def evaluate_recommend(engine: Engine | None, params: RecommendParameters = RecommendParameters(), *,
                       movielens: bool = True) -> list[dict[str, Any]]:
    """Item-kNN against popularity: on the shop's last ``test_days`` (when ``engine`` is given) and on MovieLens 100k
    under the Microsoft Recommenders protocol, beside their published SAR row. One row per dataset and model."""
    from unseen.ml.recommend import (
        MOVIELENS_PARAMETERS,
        SAR_REFERENCE,
        ItemKNNRecommender,
        PopularityRecommender,
        evaluate_top_k,
        load_movielens_100k,
        stratified_split,
    )
    from unseen.ml.recommend._shop import load_item_events, time_split_evaluation

    rows: list[dict[str, Any]] = []
    if engine is not None:
        events = load_item_events(engine)
        reports = time_split_evaluation(
            events, lambda: ItemKNNRecommender(n_neighbors=params.n_neighbors, similarity=params.similarity,
                                               shrinkage=params.shrinkage),
            test_days=params.test_days, k=params.k, half_life_days=params.half_life_days)
        rows += [{"dataset": f"shop, last {params.test_days} days", "model": name, **report}
                 for name, report in reports.items()]
    if movielens:
        ratings = load_movielens_100k()
        train, test = stratified_split(ratings, ratio=0.75, seed=42)
        for name, model in (("item_knn", ItemKNNRecommender(**MOVIELENS_PARAMETERS)), ("popularity", PopularityRecommender())):
            rows.append({"dataset": "MovieLens 100k", "model": name, **evaluate_top_k(model, train, test, k=10, weight=None)})
        rows.append({"dataset": "MovieLens 100k", "model": "SAR (published)", **SAR_REFERENCE})
    return rows


@dataclass(frozen=True)
class TrendsParameters:
    test_months: int = 6
    alpha: float = 0.2
    top: int = 10
    margin_share: float = 0.3


@dataclass
class DemandOutlook:
    """What the trends model knows after training: the chosen method, and the forecasts operators look at."""

    method: str
    comparison: Any  # DataFrame: mean MASE, sMAPE and coverage per model on the held-out months
    categories: Any  # DataFrame: next months' forecast per category with intervals
    sellers: Any  # DataFrame: next month's top and bottom products with intervals
    invest: Any  # DataFrame: expected growth times margin, with uncertainty
    last_month: str


def train_trends(engine: Engine, registry: ModelRegistry, params: TrendsParameters = TrendsParameters(), *,
                 keep: int = 5, progress: Progress | None = None) -> TrainingResult:
    """Backtest every forecaster on monthly category demand, choose the lowest mean MASE, forecast categories and
    products with it, and register the outlook; promoted when its MASE beats the promoted one's."""
    from unseen.ml.trends import (
        candidate_forecasters,
        compare_models,
        demand_series,
        forecast_demand,
        invest_ranking,
        load_order_lines,
        monthly_demand,
        next_month_sellers,
        summarise_comparison,
    )

    say = progress or (lambda _message: None)
    say("loading orders")
    lines = load_order_lines(engine)
    if lines.empty:
        raise ValueError("there are no orders to learn from; run `unseen seed` or let shoppers buy first")
    categories = monthly_demand(lines, level="category")
    if categories["month"].nunique() < 2 * 12:
        raise ValueError(f"{categories['month'].nunique()} complete months of sales; seasonal models need at least 24")
    say(f"backtesting on the last {params.test_months} months")
    models = candidate_forecasters()
    summary = summarise_comparison(compare_models(demand_series(categories), models, test_size=params.test_months,
                                                  alpha=params.alpha))
    method = str(summary.index[0])
    chosen = models[method]
    say(f"forecasting with {method}")
    products = monthly_demand(lines, level="product")
    outlook = DemandOutlook(
        method=method, comparison=summary,
        categories=forecast_demand(categories, chosen, h=3, alpha=params.alpha),
        sellers=next_month_sellers(products, chosen, top=params.top, alpha=params.alpha),
        invest=invest_ranking(products, margin_share=params.margin_share, model_factory=chosen, alpha=params.alpha),
        last_month=str(categories["month"].max().date()),
    )
    metrics = {"holdout": {"mase": float(summary.loc[method, "mase"]), "smape": float(summary.loc[method, "smape"]),
                           "seasonal_naive_mase": float(summary.loc["seasonal naive", "mase"])}}
    version = registry.register(
        "trends", outlook, params={**params.__dict__, "method": method}, metrics=metrics,
        data_range=(lines["ordered_at"].min().isoformat(), lines["ordered_at"].max().isoformat()), n_samples=len(lines),
        notes=f"{categories['key'].nunique()} categories, {products['key'].nunique()} products",
    )
    decision = registry.promote_if_better("trends", version.version, "holdout.mase", higher_is_better=False)
    baseline = {"mase": metrics["holdout"]["seasonal_naive_mase"],
                "smape": float(summary.loc["seasonal naive", "smape"])}
    return TrainingResult("trends", version, decision, metrics["holdout"], baseline, registry.prune("trends", keep=keep))


@dataclass(frozen=True)
class ClusteringParameters:
    k: int | None = None  # None: chosen by silhouette
    random_state: int = 0


@dataclass
class Segmentation:
    """A fitted behaviour segmentation: scale the features, assign a cluster, name it."""

    pipeline: Any  # sklearn Pipeline: BehaviourFeatures, then BehaviourKMeans
    names: dict[int, str]
    profiles: Any  # DataFrame per cluster
    comparison: Any  # DataFrame: k-means against DBSCAN


def train_clustering(engine: Engine, registry: ModelRegistry, params: ClusteringParameters = ClusteringParameters(),
                     *, keep: int = 5, progress: Progress | None = None) -> TrainingResult:
    """Behaviour features per user, k-means (k by silhouette) compared with DBSCAN, named segments; registered, and
    promoted when its silhouette beats the promoted segmentation's."""
    from sklearn.pipeline import make_pipeline

    from unseen.ml.clustering import (
        BehaviourFeatures,
        BehaviourKMeans,
        behaviour_features,
        cluster_profiles,
        cluster_quality,
        compare_clusterings,
        load_events,
        load_orders,
        name_clusters,
    )

    say = progress or (lambda _message: None)
    say("loading events")
    events = load_events(engine)
    if events.empty:
        raise ValueError("there are no events to learn from; run `unseen seed` or let shoppers browse first")
    features = behaviour_features(events, load_orders(engine))
    if len(features) < 10:
        raise ValueError(f"only {len(features)} users have events; clustering needs at least 10")
    say("comparing k-means and DBSCAN")
    scaler = BehaviourFeatures().fit(features)
    comparison = compare_clusterings(scaler.transform(features))
    pipeline = make_pipeline(BehaviourFeatures(), BehaviourKMeans(k=params.k or "auto", random_state=params.random_state))
    labels = pipeline.fit_predict(features)
    profiles = cluster_profiles(features, labels)
    names = name_clusters(profiles)
    quality = cluster_quality(pipeline[0].transform(features), labels)
    metrics = {"holdout": {k: float(v) for k, v in quality.items() if isinstance(v, (int, float))}}
    segmentation = Segmentation(pipeline=pipeline, names=dict(names), profiles=profiles, comparison=comparison)
    version = registry.register(
        "clustering", segmentation, params=params.__dict__, metrics=metrics,
        data_range=(events["at"].min().isoformat(), events["at"].max().isoformat()), n_samples=len(features),
        notes=f"{len(set(labels))} segments over {len(features)} users",
    )
    decision = registry.promote_if_better("clustering", version.version, "holdout.silhouette")
    dbscan = comparison.loc["DBSCAN"] if "DBSCAN" in comparison.index else None
    baseline = {"silhouette": float(dbscan["silhouette"]), "n_clusters": float(dbscan["n_clusters"])} if dbscan is not None else {}
    return TrainingResult("clustering", version, decision, metrics["holdout"], baseline,
                          registry.prune("clustering", keep=keep))


def evaluate_trends(engine: Engine, params: TrendsParameters = TrendsParameters()) -> list[dict[str, Any]]:
    """Every forecaster on monthly category demand over the last ``test_months`` rolling origins: one row a model."""
    from unseen.ml.trends import (
        candidate_forecasters,
        compare_models,
        demand_series,
        load_order_lines,
        monthly_demand,
        summarise_comparison,
    )

    lines = load_order_lines(engine)
    if lines.empty:
        raise ValueError("there are no orders to evaluate on; run `unseen seed` first")
    series = demand_series(monthly_demand(lines, level="category"))
    summary = summarise_comparison(compare_models(series, candidate_forecasters(), test_size=params.test_months,
                                                  alpha=params.alpha))
    return [{"model": name, **{k: float(v) for k, v in row.items()}} for name, row in summary.iterrows()]


def evaluate_clustering(engine: Engine) -> list[dict[str, Any]]:
    """k-means (k by silhouette) against DBSCAN (eps from the k-distance knee) on the users' behaviour features."""
    from unseen.ml.clustering import BehaviourFeatures, behaviour_features, compare_clusterings, load_events, load_orders

    events = load_events(engine)
    if events.empty:
        raise ValueError("there are no events to evaluate on; run `unseen seed` first")
    features = behaviour_features(events, load_orders(engine))
    comparison = compare_clusterings(BehaviourFeatures().fit_transform(features))
    return [{"model": name, **{k: float(v) for k, v in row.items()}} for name, row in comparison.iterrows()]


def evaluate_anomaly(*, shoppers: int = 200, attackers_per_kind: int = 3, intensity: float = 1.0,
                     target_fpr: float = 0.01, seed: int = 0) -> list[dict[str, Any]]:
    """Isolation Forest against One-Class SVM on a labelled synthetic request log: two days of shoppers, attacks on
    the second; per-IP 60 s windows; trained on the first day, thresholds at ``target_fpr``. One row a detector."""
    import pandas as pd

    from unseen.ml.anomaly import (
        FEATURE_NAMES,
        IsolationForestDetector,
        OneClassSVMDetector,
        compare_detectors,
        synthetic_requests,
        window_features,
        window_labels,
    )

    log = synthetic_requests(shoppers, attackers_per_kind=attackers_per_kind, intensity=intensity, random_state=seed)
    windows = window_features(log, by="ip", window="60s")
    labels = window_labels(log, by="ip", window="60s")
    first_day = (windows["window_end"] <= log["at"].min().normalize() + pd.Timedelta(days=1)).to_numpy()
    X = windows[list(FEATURE_NAMES)].to_numpy()
    detectors = {"isolation_forest": IsolationForestDetector(contamination=target_fpr, random_state=seed),
                 "one_class_svm": OneClassSVMDetector(contamination=target_fpr, random_state=seed)}
    table = compare_detectors(X[first_day], X[~first_day], labels[~first_day], detectors)
    return [{"model": name, **{k: float(v) for k, v in row.items() if isinstance(v, (int, float))}}
            for name, row in table.iterrows()]


@dataclass(frozen=True)
class AnomalyParameters:
    detector: str = "one_class_svm"
    """The One-Class SVM extrapolates: a window far from every normal one scores at the top. An Isolation Forest
    cannot: a rate beyond anything in training lands in the same leaf as the fastest shopper, so on the simulator's
    log it left the floods below its threshold (`unseen evaluate anomaly` compares both on labelled data)."""
    window: str = "60s"
    step: str = "5s"
    target_fpr: float = 0.001
    min_requests: int = 10
    days: float = 7.0
    """Only the last ``days`` of the request log are read."""
    synthetic_attackers: int = 3
    """Synthetic attackers of each kind the model is also judged on (labelled, so every version is comparable)."""
    seed: int = 0


REQUEST_COLUMNS = ("at", "ip", "method", "path", "query", "status", "latency_ms", "user_agent", "user_id",
                   "session_id", "request_bytes", "response_bytes", "category", "blocked")


def load_request_log(engine: Engine, *, days: float | None = None):
    """The request log as a DataFrame (newest ``days`` only, when given), in time order."""
    import pandas as pd
    from sqlalchemy import select

    from unseen.tables import RequestLog

    table = RequestLog.__table__
    query = select(*(table.c[name] for name in REQUEST_COLUMNS)).order_by(table.c.at, table.c.id)
    if days is not None:
        from sqlalchemy import func

        with engine.connect() as conn:
            newest = conn.execute(select(func.max(table.c.at))).scalar()
        if newest is not None:
            query = query.where(table.c.at > pd.Timestamp(newest).to_pydatetime() - pd.Timedelta(days=days))
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(query).all(), columns=list(REQUEST_COLUMNS))
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    frame["blocked"] = frame["blocked"].fillna(False).astype(bool)
    frame["session_id"] = frame["session_id"].astype("Float64")
    return frame


def _attack_recall(model, windows, by: str) -> dict[str, float | int]:
    from unseen.ml.anomaly import FEATURE_NAMES

    judged = windows[windows["n_requests"] >= model.min_requests]
    if len(judged) == 0:
        return {"windows": 0, "recall": float("nan")}
    verdicts = model.judge(by, judged[list(FEATURE_NAMES)].to_numpy(), explain=1)
    return {"windows": len(judged), "recall": sum(v.anomalous for v in verdicts) / len(judged)}


def train_anomaly(engine: Engine, registry: ModelRegistry, params: AnomalyParameters = AnomalyParameters(), *,
                  exclude_networks: Sequence[str] = (), keep: int = 5,
                  progress: Progress | None = None) -> TrainingResult:
    """The monitor's anomaly model from the request log: per-IP and per-session windows of the clients the rules
    let through; the threshold keeps ``target_fpr`` of held-out clean windows. Judged on windows of clients the rules
    flagged (when the log has any) and on labelled synthetic attacks; promoted if its balanced accuracy (mean of
    recall on attacks and specificity on held-out clean windows) is not worse than the promoted version's by more
    than 0.01 (a fresher model of the same quality replaces an older one)."""
    import numpy as np

    from unseen.ml.anomaly import synthetic_requests, window_features, window_labels
    from unseen.ml.anomaly._window_model import fit_window_model

    from unseen.ml.anomaly._window_model import DETECTORS

    if params.detector not in DETECTORS:
        raise ValueError(f"detector must be one of {', '.join(DETECTORS)}; got {params.detector!r}")
    say = progress or (lambda _message: None)
    say("loading the request log")
    log = load_request_log(engine, days=params.days)
    if log.empty:
        raise ValueError("the request log is empty; let shoppers use the shop (or run `unseen simulate --attacks "
                         "none`) with monitoring on first")
    exclude: set[str] = set()
    if exclude_networks:  # the operator's own addresses (the allowlist) are not shoppers
        from unseen.monitor.network import in_networks, parse_networks

        networks = parse_networks(list(exclude_networks))
        exclude = {ip for ip in log["ip"].unique() if in_networks(ip, networks)}
    say(f"fitting {params.detector} on {len(log):,} requests")
    model = fit_window_model(log, detector=params.detector, window=params.window, step=params.step,
                             target_fpr=params.target_fpr, min_requests=params.min_requests, exclude=exclude,
                             random_state=params.seed)
    say("judging on known and synthetic attacks")
    metrics: dict[str, Any] = {"ip": dict(model.report["ip"]), "session": dict(model.report["session"])}
    flagged_ips = set(log.loc[log["category"] == "anomaly", "ip"]) - set(exclude)
    known = window_features(log[log["ip"].isin(flagged_ips)], by="ip", window=params.window, step=params.step)
    metrics["ip"]["rule_flagged"] = _attack_recall(model, known, "ip")
    synthetic = synthetic_requests(50, attackers_per_kind=params.synthetic_attackers, hours=6.0,
                                   random_state=params.seed)
    windows = window_features(synthetic, by="ip", window=params.window, step=params.step)
    labels = window_labels(synthetic, by="ip", window=params.window, step=params.step)
    metrics["ip"]["synthetic_attacks"] = _attack_recall(model, windows[np.asarray(labels) != "normal"], "ip")
    recalls = [r["recall"] for r in (metrics["ip"]["rule_flagged"], metrics["ip"]["synthetic_attacks"])
               if r["windows"]]
    recall = float(np.mean(recalls)) if recalls else float("nan")
    metrics["holdout"] = {"recall": recall, "fpr": metrics["ip"]["holdout_fpr"],
                          "balanced_accuracy": (recall + 1 - metrics["ip"]["holdout_fpr"]) / 2}
    version = registry.register(
        "anomaly", model, params=params.__dict__, metrics=metrics, data_range=tuple(model.report["data_range"]),
        n_samples=len(log), notes=f"{params.detector} over {metrics['ip']['clients']} IPs and "
                                  f"{metrics['session']['clients']} sessions, {params.window} windows",
    )
    decision = registry.promote_if_better("anomaly", version.version, "holdout.balanced_accuracy",
                                          min_improvement=-0.01)
    pruned = registry.prune("anomaly", keep=keep)
    flat = {"holdout fpr (ip)": metrics["ip"]["holdout_fpr"], "holdout fpr (session)": metrics["session"]["holdout_fpr"],
            "recall: rule-flagged clients": metrics["ip"]["rule_flagged"]["recall"],
            "recall: synthetic attacks": metrics["ip"]["synthetic_attacks"]["recall"],
            "balanced accuracy": metrics["holdout"]["balanced_accuracy"]}
    return TrainingResult("anomaly", version, decision, flat, {}, pruned)
