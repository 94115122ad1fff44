"""notebooks/12-merchant-recommendations.ipynb runs top to bottom with its small parameters and writes the run folder
a researcher reads: a time split whose relevant items are new to each user, item-kNN finding the merchants users go
on to pay at far better than popularity (and only matching it on MCC categories, as tests/analytics/test_recommend.py
establishes for this data), lists that never repeat a user's training merchants (checked against the split rebuilt
here from the same seed), potential-customer methods far above the most active users and chance, and examples whose
reasons are the user's own merchants."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from tests.notebooks.run import run_small
from unseen.analytics import features, generate_transactions
from unseen.analytics.recommend import split_interactions

NAME = "12-merchant-recommendations"
FIGURES = ("users_by_k", "users_by_neighbours", "customers_at_k")
TABLES = ("split", "users_at_k", "users_by_k", "users_by_neighbours", "customers_at_k", "user_recommendations",
          "example_user", "example_user_history", "example_merchant")
METRICS = ("precision", "recall", "ndcg", "map", "hit_rate")


def _by(rows: list[dict], *keys: str) -> dict:
    return {tuple(row[key] for key in keys) if len(keys) > 1 else row[keys[0]]: row for row in rows}


@pytest.mark.timeout(600)
def test_merchant_recommendations_notebook(tmp_path: Path) -> None:
    small, meta, tables = run_small(NAME, tmp_path, FIGURES, TABLES)
    data, summary, parameters = meta["data"], meta["summary"], meta["parameters"]
    k = parameters["k"]
    assert data["generated"] and data["transactions"] == small["rows"]
    assert data["first"] < data["train_until"] < data["test_from"] <= data["last"]
    assert data["test_from"].endswith("-01")  # the test period starts on the first of a month
    assert meta["models"]["item_knn"]["n_neighbors"] == parameters["neighbours"]

    # The split: both item kinds have users with new items, and new pairs are part of the test period's pairs.
    split = _by(tables["split"], "item")
    for item in ("merchant", "mcc"):
        assert split[item]["users_with_new_items"] > 500, item
        assert 0 < split[item]["new_pairs"] <= split[item]["test_pairs"], item

    # Every metric is a share; each table evaluates the same users.
    for table in ("users_at_k", "users_by_k", "users_by_neighbours", "customers_at_k"):
        for row in tables[table]:
            for metric in (*METRICS, "coverage"):
                if metric in row:
                    assert 0.0 <= row[metric] <= 1.0, (table, metric, row)
    at_k = _by(tables["users_at_k"], "item", "model")
    assert at_k["merchant", "item_knn"]["users"] == split["merchant"]["users_with_new_items"]

    # Merchants: item-kNN far better than popularity on every metric and in coverage; MCC categories: level.
    for metric in ("precision", "recall", "ndcg", "hit_rate"):
        assert at_k["merchant", "item_knn"][metric] > 3 * at_k["merchant", "popularity"][metric], metric
    assert at_k["merchant", "item_knn"]["coverage"] > 10 * at_k["merchant", "popularity"]["coverage"]
    assert at_k["mcc", "item_knn"]["ndcg"] == pytest.approx(at_k["mcc", "popularity"]["ndcg"], rel=0.15)
    assert at_k["mcc", "popularity"]["hit_rate"] > 0.3
    assert summary["merchant_ndcg_ratio"] > 3 and summary["mcc_ndcg_ratio"] < 1.15

    # Against k: a longer list keeps the shorter as its head, so recall and hit rate never fall; item-kNN stays ahead
    # on merchants at every k and every number of neighbours.
    by_k = pd.DataFrame(tables["users_by_k"])
    assert sorted(by_k["k"].unique()) == sorted(small["k_grid"])
    for (item, model), group in by_k.groupby(["item", "model"]):
        group = group.sort_values("k")
        assert group["recall"].is_monotonic_increasing and group["hit_rate"].is_monotonic_increasing, (item, model)
    merchant_k = by_k[by_k["item"] == "merchant"].pivot(index="k", columns="model", values="ndcg")
    assert (merchant_k["item_knn"] > 3 * merchant_k["popularity"]).all()
    by_neighbours = pd.DataFrame(tables["users_by_neighbours"])
    assert sorted(by_neighbours["neighbours"].unique()) == sorted(small["neighbour_grid"])
    merchant_n = by_neighbours[by_neighbours["item"] == "merchant"].pivot(index="neighbours", columns="model",
                                                                          values="ndcg")
    assert (merchant_n["item_knn"] > 2 * merchant_n["popularity"]).all()
    assert merchant_n["popularity"].nunique() == 1  # the baseline has no neighbours

    # Recommended merchants are never ones the user had in training: checked against the split rebuilt from the
    # same seed, not only against the notebook's own count. The lists reproduce the evaluated hit rate.
    folder = tmp_path / "transactions"
    generate_transactions(folder, rows=small["rows"], users=small["users"], seed=small["seed"])
    merchants = split_interactions(folder, item="merchant", test_months=parameters["test_months"])
    assert f"{merchants.test_start:%Y-%m-%d}" == data["test_from"]
    seen = set(zip(merchants.train["user_id"].tolist(), merchants.train["item_id"].tolist()))
    lists = pd.DataFrame(tables["user_recommendations"])
    assert summary["recommended_seen_pairs"] == 0
    assert not any((user, item) in seen for user, item in zip(lists["user_id"], lists["item_id"]))
    assert (lists.groupby("user_id").size() == k).all()
    assert lists["user_id"].nunique() == at_k["merchant", "item_knn"]["users"]
    relevant = merchants.new_items()
    assert all(paid == (item in relevant[user])
               for user, item, paid in zip(lists["user_id"], lists["item_id"], lists["paid_in_test"]))
    assert lists.groupby("user_id")["paid_in_test"].any().mean() == pytest.approx(
        at_k["merchant", "item_knn"]["hit_rate"])

    # Potential customers: both similarity methods far above the most active users and a random ranking.
    customers = _by(tables["customers_at_k"], "method")
    assert set(customers) == {"item_knn", "customer_centroid", "most_active", "random (expected)"}
    assert customers["item_knn"]["merchants"] == small["max_merchants"]
    for method in ("item_knn", "customer_centroid"):
        for baseline in ("most_active", "random (expected)"):
            assert customers[method]["recall"] > 5 * customers[baseline]["recall"], (method, baseline)
            assert customers[method]["ndcg"] > 5 * customers[baseline]["ndcg"], (method, baseline)
        assert customers[method]["hit_rate"] > 0.15, method
    assert customers["random (expected)"]["precision"] < 0.01

    # The example user: k new merchants, best first, each explained by the user's own training merchants, and the
    # explanation adds up to the score.
    example = pd.DataFrame(tables["example_user"])
    history = {row["merchant_id"] for row in tables["example_user_history"]}
    user = summary["example_user"]
    assert history == {item for u, item in seen if u == user}
    assert len(example) == k and list(example["rank"]) == list(range(1, k + 1))
    assert example["score"].is_monotonic_decreasing
    assert not set(example["merchant_id"]) & history
    for row in example.itertuples():
        assert set(row.because) <= history and len(row.because) <= 3
        assert math.isclose(row.explained_score, row.score, rel_tol=1e-5, abs_tol=1e-9)
        assert 0.0 <= row.explained_share <= 1.0 + 1e-9
    assert example.loc[example["score"] > 0, "because"].map(len).gt(0).all()

    # The example merchant: its likeliest new customers are not customers yet; became_customer is the test truth.
    merchant = summary["example_merchant"]
    current = {u for u, item in seen if item == merchant}
    found = pd.DataFrame(tables["example_merchant"])
    assert len(found) == k and found["score"].is_monotonic_decreasing
    assert not set(found["user_id"]) & current
    new_customers = merchants.new_customers().get(merchant, set())
    # It is the shop in a town (not online) with the most new customers.
    city = features.user_merchant_interactions(folder).groupby("merchant_id")["merchant_city"].first()
    assert city[merchant] != "ONLINE"
    assert len(new_customers) == max(len(users) for m, users in merchants.new_customers().items()
                                     if city[m] != "ONLINE")
    assert all(became == (u in new_customers) for u, became in zip(found["user_id"], found["became_customer"]))
    # The reasons are the candidate's own merchants, counted among the merchant's current customers.
    train = merchants.train
    for row in found.itertuples():
        theirs = set(train.loc[train["user_id"] == row.user_id, "item_id"])
        assert set(row.shared_merchants) <= theirs and len(row.shared_merchants) <= 2
        for shared, count in zip(row.shared_merchants, row.shared_with_customers):
            users_there = set(train.loc[train["item_id"] == shared, "user_id"])
            assert count == len(users_there & current) > 0
    assert summary["customers_best_method"] in {"item_knn", "customer_centroid"}
