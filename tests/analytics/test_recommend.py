"""Merchants for users and potential customers for merchants, on a time split of generated transactions: item-kNN
finds the merchants users go on to pay at far better than popularity, and the similarity methods find a merchant's
next customers far better than the most active users. At the level of MCC categories it does not beat popularity,
and the test says so: the generator draws a user's categories from shared category weights, not from a taste that
co-occurrence could reveal."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from unseen.analytics.recommend import (
    CustomerFinder,
    evaluate_potential_customers,
    evaluate_user_recommendations,
    explain_user_recommendations,
    interactions,
    recommend_for_users,
    split_interactions,
)


@pytest.fixture(scope="module")
def merchants(generated):
    folder, _ = generated
    return split_interactions(folder, item="merchant", test_months=12)


def test_the_split_is_by_time_and_relevant_items_are_new_to_the_user(merchants) -> None:
    assert merchants.test_start == pd.Timestamp("2018-11-01")
    relevant = merchants.new_items()
    seen = set(zip(merchants.train["user_id"], merchants.train["item_id"]))
    assert relevant and all((user, item) not in seen for user, items in relevant.items() for item in items)
    customers = merchants.new_customers()
    assert all(user in relevant and merchant in relevant[user] for merchant, users in customers.items()
               for user in users)


def test_item_knn_recommends_new_merchants_far_better_than_popularity(merchants) -> None:
    table = evaluate_user_recommendations(merchants, k=10).set_index("model")
    assert table.loc["item_knn", "users"] > 500
    for metric in ("precision", "recall", "ndcg", "hit_rate"):
        assert table.loc["item_knn", metric] > 3 * table.loc["popularity", metric], metric
    assert table.loc["item_knn", "coverage"] > table.loc["popularity", "coverage"]


def test_potential_customers_beat_the_most_active_users(merchants) -> None:
    table = evaluate_potential_customers(merchants, k=10, max_merchants=300).set_index("method")
    assert (table["merchants"] == 300).all()
    for method in ("item_knn", "customer_centroid"):
        assert table.loc[method, "recall"] > 5 * table.loc["most_active", "recall"], method
        assert table.loc[method, "hit_rate"] > 0.15, method


def test_potential_customers_are_not_customers_yet(merchants) -> None:
    finder = CustomerFinder().fit(merchants.train)
    merchant = merchants.train["item_id"].value_counts().index[0]
    current = set(merchants.train.loc[merchants.train["item_id"] == merchant, "user_id"])
    for method in ("item_knn", "customer_centroid", "most_active"):
        found = finder.potential_customers(merchant, n=20, method=method)
        assert len(found) == 20 and not set(found["user_id"]) & current, method
        assert found["score"].is_monotonic_decreasing
    with pytest.raises(ValueError, match="no customer"):
        finder.potential_customers(-1)
    with pytest.raises(ValueError, match="method"):
        finder.potential_customers(merchant, method="random")


def test_recommendations_for_users_leave_out_their_merchants(merchants) -> None:
    from unseen.ml.recommend import ItemKNNRecommender

    model = ItemKNNRecommender(n_neighbors=50, shrinkage=10.0).fit(merchants.train)
    users = merchants.train["user_id"].unique()[:5].tolist()
    lists = recommend_for_users(model, merchants.train, users, n=5)
    assert set(lists["user_id"]) == set(users) and (lists.groupby("user_id").size() == 5).all()
    seen = set(zip(merchants.train["user_id"], merchants.train["item_id"]))
    assert not any((u, i) in seen for u, i in zip(lists["user_id"], lists["item_id"]))


def test_a_user_s_recommendations_are_explained_by_their_own_merchants() -> None:
    """User 1 pays at 10 (weight 3) and 20 (weight 4). Every merchant's weights have norm 5, so the cosines are
    sim(10, 30) = 4 * 3 / 25 (user 2), sim(20, 30) = 3 * 4 / 25 (user 3) and sim(20, 40) = 3 * 1 / (5 * 1): 30 scores
    3 * 0.48 + 4 * 0.48 = 3.36, 40 scores 4 * 0.6 = 2.4."""
    from unseen.ml.recommend import ItemKNNRecommender

    history = pd.DataFrame({"user_id": [1, 1, 2, 2, 3, 3, 3], "item_id": [10, 20, 10, 30, 20, 30, 40],
                            "weight": [3.0, 4.0, 4.0, 3.0, 3.0, 4.0, 1.0]})
    model = ItemKNNRecommender().fit(history)
    explained = explain_user_recommendations(model, history, 1)
    assert list(explained.columns) == ["rank", "item_id", "score", "because", "contributions", "explained_score",
                                       "explained_share"]
    assert explained["rank"].tolist() == [1, 2] and explained["item_id"].tolist() == [30, 40]
    assert explained["because"].tolist() == [[20, 10], [20]]
    assert explained["contributions"].iloc[0] == pytest.approx([1.92, 1.44])
    assert explained["contributions"].iloc[1] == pytest.approx([2.4])
    assert explained["score"].tolist() == pytest.approx([3.36, 2.4])
    assert explained["explained_score"].tolist() == pytest.approx(explained["score"].tolist())
    assert explained["explained_share"].tolist() == pytest.approx([1.0, 1.0])
    # Only the largest contributor: 1.92 of 3.36 is 4/7 of the score.
    assert explain_user_recommendations(model, history, 1, top=1)["explained_share"].iloc[0] == pytest.approx(4 / 7)
    with pytest.raises(ValueError, match=r"user 99 has no row in the history; expected one of its 3 user_id"):
        explain_user_recommendations(model, history, 99)


def test_a_merchant_s_potential_customers_are_explained_by_merchants_they_share_with_its_customers() -> None:
    """Merchant 7's customers are users 1, 2 and 3; of them, two use merchant 10, one 20 and one 30, none 40. Every
    weight is 1, so without shrinkage the cosines with 7 are 2/3 (10), 1/3 (20), 1/sqrt(6) (30) and 0 (40)."""
    history = pd.DataFrame({"user_id": [1, 1, 1, 2, 2, 3, 3, 4, 4, 4, 5, 5, 6],
                            "item_id": [7, 10, 20, 7, 10, 7, 30, 10, 20, 30, 20, 40, 40], "weight": 1.0})
    finder = CustomerFinder(shrinkage=0.0).fit(history)
    found = finder.explain_potential_customers(7)
    assert list(found.columns) == ["rank", "user_id", "score", "merchants_in_training", "shared_merchants",
                                   "shared_with_customers"]
    assert found["rank"].tolist() == [1, 2, 3] and found["user_id"].tolist() == [4, 5, 6]
    assert found["score"].tolist() == pytest.approx([1 + 1 / math.sqrt(6), 1 / 3, 0.0], abs=1e-6)
    assert found["merchants_in_training"].tolist() == [3, 2, 1]
    # User 4: 20 and 30 tie with one customer each; the catalogue's order keeps 20.
    assert found["shared_merchants"].tolist() == [[10, 20], [20], []]
    assert found["shared_with_customers"].tolist() == [[2, 1], [1], []]
    assert finder.explain_potential_customers(7, n=1, top=1)["shared_merchants"].tolist() == [[10]]
    with pytest.raises(ValueError, match=r"merchant 99 has no customer in the training data; expected one of the 5"):
        finder.explain_potential_customers(99)


def test_mcc_categories_item_knn_only_matches_popularity(generated) -> None:
    folder, _ = generated
    table = evaluate_user_recommendations(split_interactions(folder, item="mcc"), k=10).set_index("model")
    # No better and no worse than the popular categories: within 15% of each other on nDCG.
    assert table.loc["item_knn", "ndcg"] == pytest.approx(table.loc["popularity", "ndcg"], rel=0.15)
    assert table.loc["popularity", "hit_rate"] > 0.3


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="item must be"):
        interactions(pd.DataFrame({"client_id": [1], "mcc": [5411], "transactions": [3]}), item="city")
    with pytest.raises(ValueError, match="transactions"):
        interactions(pd.DataFrame({"client_id": [1], "mcc": [5411]}), item="mcc")


def test_the_command_refuses_bad_options(generated) -> None:
    from typer.testing import CliRunner

    from unseen.cli import app

    folder, _ = generated
    result = CliRunner().invoke(app, ["analytics", "recommend", "--data", str(folder), "--item", "city"])
    assert result.exit_code == 2 and "item must be one of merchant, mcc" in result.output.replace("\n", " ")


def test_the_command_lists_a_user_s_merchants_and_a_merchant_s_customers_with_their_reasons(generated,
                                                                                             merchants) -> None:
    from typer.testing import CliRunner

    from unseen.cli import app

    folder, _ = generated
    user = int(merchants.train["user_id"].iloc[0])
    merchant = int(merchants.train["item_id"].value_counts().index[0])
    result = CliRunner().invoke(app, ["analytics", "recommend", "--data", str(folder), "--k", "3", "--user", str(user),
                                      "--merchant", str(merchant)])
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())  # the console wraps long lines
    assert f"user {user}'s recommended merchants, because of the user's own merchants" in output
    assert output.count("): because of ") == 3 and "% of the score" in output
    assert f"merchant {merchant}'s likeliest new customers, with their merchants its" in output
    assert output.count(" of them)") >= 3


def test_the_random_floor_is_the_exact_expectation_of_a_random_ranking() -> None:
    """Merchant 7 has one customer (user 1) and two non-customers, one of whom (user 2) becomes a customer: one random
    pick finds them half the time; a list of two always does."""
    from types import SimpleNamespace

    from unseen.analytics.recommend import random_customers_expectation

    split = SimpleNamespace(train=pd.DataFrame({"user_id": [1, 2, 3], "item_id": [7, 8, 8]}),
                            new_customers=lambda: {7: {2}})
    one = random_customers_expectation(split, k=1)
    assert (one["precision"], one["recall"], one["hit_rate"], one["map"]) == (0.5, 0.5, 0.5, 0.5)
    two = random_customers_expectation(split, k=2)
    assert two["recall"] == two["hit_rate"] == 1.0 and two["precision"] == 0.5  # one hit in a list of two
    assert two["method"] == "random (expected)" and two["merchants"] == 1
