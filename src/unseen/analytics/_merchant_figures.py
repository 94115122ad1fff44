"""Matplotlib figures of a :class:`~unseen.analytics.merchants.MerchantReport` (kept apart from the queries)."""

from __future__ import annotations

import numpy as np


def draw_report(report) -> dict:
    import matplotlib

    matplotlib.use("Agg", force=False)
    return {
        "sales_by_month": _monthly(report.sales["month"]),
        "weekday_hour": _heatmap(report.sales["weekday_hour"]),
        "channels_by_month": _channels(report.sales["channel_month"]),
        "top_mccs": _bars(report.sales["mcc"].head(15), "description", "Net sales by merchant category (top 15)"),
        "top_cities": _bars(report.sales["city"].assign(
            place=lambda f: f["merchant_city"] + np.where(f["merchant_state"] != "", ", " + f["merchant_state"], ""))
            .head(15), "place", "Net sales by city (top 15; ONLINE is card-not-present)"),
        "segments": _segments(report.segments),
        "declining_merchants": _declining(report.declining),
    }


def _monthly(frame):
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(9, 3.5))
    axis.plot(frame["month"], frame["amount"] / 1e3, color="#1f77b4")
    axis.set_ylabel("net sales (thousand $)")
    axis.set_title("Net card sales per month")
    axis.grid(alpha=0.3)
    return figure


def _heatmap(frame):
    import matplotlib.pyplot as plt

    from unseen.analytics.merchants import WEEKDAYS

    grid = np.zeros((7, 24))
    grid[frame["weekday"].to_numpy(), frame["hour"].to_numpy()] = frame["amount"].to_numpy()
    figure, axis = plt.subplots(figsize=(9, 3.2))
    image = axis.imshow(grid / 1e3, aspect="auto", cmap="viridis")
    axis.set_yticks(range(7), WEEKDAYS)
    axis.set_xticks(range(0, 24, 2))
    axis.set_xlabel("hour of day")
    axis.set_title("Net sales by weekday and hour (thousand $)")
    figure.colorbar(image, ax=axis)
    return figure


def _channels(frame):
    import matplotlib.pyplot as plt

    wide = frame.pivot_table(index="month", columns="channel", values="transactions", aggfunc="sum").fillna(0)
    shares = wide.div(wide.sum(axis=1), axis=0)
    figure, axis = plt.subplots(figsize=(9, 3.5))
    axis.stackplot(shares.index, *[shares[c] for c in shares.columns], labels=list(shares.columns), alpha=0.85)
    axis.set_ylim(0, 1)
    axis.set_ylabel("share of transactions")
    axis.set_title("Payment method over time (chip cards replace swipes)")
    axis.legend(loc="upper left", fontsize=8)
    return figure


def _bars(frame, label: str, title: str):
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(8, 0.35 * len(frame) + 1))
    names = [text if len(text) <= 45 else text[:42] + "..." for text in frame[label].astype(str)]
    axis.barh(names[::-1], (frame["amount"] / 1e3).to_numpy()[::-1], color="#2ca02c")
    axis.set_xlabel("net sales (thousand $)")
    axis.set_title(title)
    return figure


def _segments(segments):
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    for segment, group in segments.groupby("kmeans_segment"):
        axes[0].scatter(group["transactions"], group["amount"].clip(lower=1), s=8, alpha=0.6,
                        label=f"k-means {segment}")
    axes[0].set_xscale("log")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("transactions")
    axes[0].set_ylabel("net spend ($)")
    axes[0].set_title("Customers by k-means segment")
    axes[0].legend(fontsize=7)
    counts = segments["rfm_segment"].value_counts()
    axes[1].barh(counts.index[::-1], counts.to_numpy()[::-1], color="#9467bd")
    axes[1].set_xlabel("customers")
    axes[1].set_title("RFM segments")
    figure.tight_layout()
    return figure


def _declining(frame):
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(8, 0.35 * max(len(frame), 1) + 1))
    if len(frame):
        names = [f"{m} ({d[:28]})" for m, d in zip(frame["merchant_id"], frame["description"])]
        axis.barh(names[::-1], (100 * frame["relative_change"]).to_numpy()[::-1], color="#d62728")
        axis.axvline(0, color="black", linewidth=0.8)
    axis.set_xlabel("change in sales against the platform's, last months vs the months before (%)")
    axis.set_title("Declining merchants")
    return figure
