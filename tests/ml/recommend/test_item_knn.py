"""ItemKNNRecommender: similarities, top-k sparsity, fold-in, exclusions, fallback, determinism."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from unseen.ml.recommend import ItemKNNRecommender, PopularityRecommender, user_item_matrix


def dense_similarity(interactions, similarity, shrinkage=0.0):
    """Brute-force item x item similarity, the reference the blockwise code must match."""
    matrix, _ = user_item_matrix(interactions)
    x = matrix.toarray().astype(np.float64)
    present = x > 0
    if similarity == "jaccard":
        x = present.astype(np.float64)
        both = x.T @ x
        count = x.sum(axis=0)
        full = both / (count[:, None] + count[None, :] - both + shrinkage)
    else:
        if similarity == "adjusted_cosine":
            means = x.sum(axis=1) / np.maximum(present.sum(axis=1), 1)
            x = np.where(present, x - means[:, None], 0.0)
        norm = np.sqrt((x**2).sum(axis=0))
        with np.errstate(invalid="ignore", divide="ignore"):
            full = (x.T @ x) / (np.outer(norm, norm) + shrinkage)
        full = np.nan_to_num(full)
    np.fill_diagonal(full, 0.0)
    return full


@pytest.mark.parametrize("similarity", ["cosine", "adjusted_cosine", "jaccard"])
@pytest.mark.parametrize("shrinkage", [0.0, 5.0])
def test_similarity_matches_brute_force(two_aisles, similarity, shrinkage):
    model = ItemKNNRecommender(n_neighbors=1000, similarity=similarity, shrinkage=shrinkage).fit(two_aisles)
    expected = np.clip(dense_similarity(two_aisles, similarity, shrinkage), 0, None)  # only positive neighbours kept
    np.testing.assert_allclose(model.similarity_.toarray(), expected, atol=1e-6)


@pytest.mark.parametrize("similarity", ["cosine", "jaccard"])
def test_full_similarity_is_symmetric_with_empty_diagonal(two_aisles, similarity):
    model = ItemKNNRecommender(n_neighbors=1000, similarity=similarity).fit(two_aisles)
    full = model.similarity_.toarray()
    np.testing.assert_allclose(full, full.T, atol=1e-6)
    assert not full.diagonal().any()


def test_keeps_only_the_top_k_neighbours_per_item(two_aisles):
    k = 3
    model = ItemKNNRecommender(n_neighbors=k).fit(two_aisles)
    full = np.clip(dense_similarity(two_aisles, "cosine"), 0, None)
    kept = model.similarity_.toarray()
    assert model.similarity_.getnnz(axis=1).max() <= k
    for row in range(full.shape[0]):
        kth_best = np.sort(full[row])[::-1][k - 1]
        nonzero = kept[row][kept[row] > 0]
        assert len(nonzero) == min(k, int((full[row] > 0).sum()))
        assert nonzero.min() >= kth_best - 1e-6


def test_blockwise_equals_one_block(two_aisles):
    one_block = ItemKNNRecommender(n_neighbors=4, block_size=10_000).fit(two_aisles)
    item_by_item = ItemKNNRecommender(n_neighbors=4, block_size=1).fit(two_aisles)
    assert (one_block.similarity_ != item_by_item.similarity_).nnz == 0


def test_fitted_attributes(two_aisles):
    model = ItemKNNRecommender(n_neighbors=5).fit(two_aisles)
    assert model.item_ids_.tolist() == sorted(two_aisles["item_id"].unique())
    assert model.n_items_ == len(model.item_ids_)
    assert model.similarity_.shape == (model.n_items_, model.n_items_)
    counts = two_aisles.groupby("item_id").size()
    np.testing.assert_array_equal(model.item_popularity_, counts[model.item_ids_].to_numpy())


def test_recommends_from_the_users_aisle(two_aisles):
    model = ItemKNNRecommender(n_neighbors=5).fit(two_aisles)
    camper = [item for item, _ in model.recommend({"c0": 1.0, "c1": 2.0}, n=5)]
    cook = [item for item, _ in model.recommend({"k0": 1.0, "k1": 2.0}, n=5)]
    assert all(item.startswith("c") for item in camper)
    assert all(item.startswith("k") for item in cook)


def test_fold_in_changes_results_without_refitting(two_aisles):
    model = ItemKNNRecommender(n_neighbors=5).fit(two_aisles)
    similarity_before = model.similarity_.copy()
    before = model.recommend(["c0", "c1"], n=5)
    after = model.recommend(["c0", "c1", "k0", "k1", "k2"], n=5)
    assert before != after
    assert any(item.startswith("k") for item, _ in after)
    assert (model.similarity_ != similarity_before).nnz == 0


def test_weights_of_the_users_items_matter(two_aisles):
    model = ItemKNNRecommender(n_neighbors=5).fit(two_aisles)
    leaning_camp = model.recommend({"c0": 10.0, "k0": 0.1}, n=3)
    leaning_kitchen = model.recommend({"c0": 0.1, "k0": 10.0}, n=3)
    assert leaning_camp[0][0].startswith("c")
    assert leaning_kitchen[0][0].startswith("k")


def test_seen_items_are_excluded_by_default(two_aisles):
    model = ItemKNNRecommender(n_neighbors=5).fit(two_aisles)
    seen = ["c0", "c1", "c2"]
    assert not {item for item, _ in model.recommend(seen, n=30)} & set(seen)
    with_seen = {item for item, _ in model.recommend(seen, n=30, exclude_seen=False)}
    assert set(seen) <= with_seen


def test_exclude_removes_items_and_n_caps_the_list(two_aisles):
    model = ItemKNNRecommender(n_neighbors=5).fit(two_aisles)
    first = model.recommend(["c0"], n=3)
    excluded = [first[0][0], "no such item"]
    again = model.recommend(["c0"], n=3, exclude=excluded)
    assert first[0][0] not in [item for item, _ in again]
    assert len(again) == 3
    everything = model.recommend(["c0"], n=1000)
    assert len(everything) == model.n_items_ - 1
    assert model.recommend(["c0"], n=0) == []


def test_scores_never_increase_along_the_list(two_aisles):
    model = ItemKNNRecommender(n_neighbors=3).fit(two_aisles)
    scores = [score for _, score in model.recommend({"c3": 2.0, "k7": 1.0}, n=20)]
    assert scores == sorted(scores, reverse=True)


def test_a_user_with_no_known_items_gets_the_popular_items(two_aisles):
    model = ItemKNNRecommender(n_neighbors=5).fit(two_aisles)
    popular = [item for item, _ in PopularityRecommender().fit(two_aisles).recommend([], n=5)]
    assert [item for item, _ in model.recommend([], n=5)] == popular
    assert [item for item, _ in model.recommend({"never seen": 3.0}, n=5)] == popular
    scores = [score for _, score in model.recommend([], n=5)]
    assert all(score > 0 for score in scores)


def test_thin_users_still_get_a_full_list(two_aisles):
    model = ItemKNNRecommender(n_neighbors=1).fit(two_aisles)
    assert len(model.recommend(["c9"], n=10)) == 10


def test_recommend_many_matches_recommend(two_aisles):
    model = ItemKNNRecommender(n_neighbors=5).fit(two_aisles)
    many = model.recommend_many(two_aisles, n=4, users=["u1", "u80", "newcomer"], batch_size=2)
    assert set(many) == {"u1", "u80", "newcomer"}
    for user in ("u1", "u80"):
        rows = two_aisles[two_aisles["user_id"] == user]
        single = model.recommend(dict(zip(rows["item_id"], rows["weight"])), n=4)
        assert [item for item, _ in many[user]] == [item for item, _ in single]
        np.testing.assert_allclose([s for _, s in many[user]], [s for _, s in single], rtol=1e-6)
    assert [item for item, _ in many["newcomer"]] == [item for item, _ in model.recommend([], n=4)]


def test_recommend_many_defaults_to_every_user(two_aisles):
    model = ItemKNNRecommender(n_neighbors=5).fit(two_aisles)
    many = model.recommend_many(two_aisles, n=3)
    assert set(many) == set(two_aisles["user_id"])
    for user, recommendations in many.items():
        seen = set(two_aisles.loc[two_aisles["user_id"] == user, "item_id"])
        assert not seen & {item for item, _ in recommendations}


def test_fitting_is_deterministic_and_ignores_row_order(two_aisles):
    first = ItemKNNRecommender(n_neighbors=4).fit(two_aisles)
    again = ItemKNNRecommender(n_neighbors=4).fit(two_aisles)
    shuffled = ItemKNNRecommender(n_neighbors=4).fit(two_aisles.sample(frac=1.0, random_state=3))
    request = {"c2": 1.0, "k4": 1.0}
    assert first.recommend(request, n=10) == again.recommend(request, n=10)
    assert [item for item, _ in first.recommend(request, n=10)] == [
        item for item, _ in shuffled.recommend(request, n=10)
    ]


def test_repeated_pairs_are_summed(two_aisles):
    doubled = pd.concat([two_aisles, two_aisles.assign(weight=0.0)])
    a = ItemKNNRecommender(n_neighbors=4).fit(two_aisles)
    b = ItemKNNRecommender(n_neighbors=4).fit(doubled)
    np.testing.assert_allclose(a.similarity_.toarray(), b.similarity_.toarray())


def test_pickle_round_trip(two_aisles):
    model = ItemKNNRecommender(n_neighbors=4).fit(two_aisles)
    restored = pickle.loads(pickle.dumps(model))
    assert restored.recommend(["c1"], n=5) == model.recommend(["c1"], n=5)


def test_unfitted_model_refuses_to_recommend():
    with pytest.raises(NotFittedError):
        ItemKNNRecommender().recommend(["a"])


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"similarity": "pearson"}, "similarity"),
        ({"n_neighbors": 0}, "n_neighbors"),
        ({"shrinkage": -1.0}, "shrinkage"),
        ({"similarity_power": 0.0}, "similarity_power"),
    ],
)
def test_bad_parameters_are_named(two_aisles, parameters, message):
    with pytest.raises(ValueError, match=message):
        ItemKNNRecommender(**parameters).fit(two_aisles)


@pytest.mark.parametrize(
    ("interactions", "message"),
    [
        (pd.DataFrame({"user_id": [1], "item_id": [2]}), "missing column"),
        (pd.DataFrame({"user_id": [1], "item_id": [2], "weight": [-1.0]}), "negative"),
        (pd.DataFrame({"user_id": [1], "item_id": [2], "weight": [np.nan]}), "missing"),
        (pd.DataFrame({"user_id": [None], "item_id": [2], "weight": [1.0]}), "user_id or item_id"),
        (pd.DataFrame({"user_id": [], "item_id": [], "weight": []}), "empty"),
        (np.ones((3, 3)), "DataFrame"),
    ],
)
def test_bad_interactions_get_a_clear_message(interactions, message):
    with pytest.raises(ValueError, match=message):
        ItemKNNRecommender().fit(interactions)


@pytest.mark.parametrize("n", [-1, 2.5, "10"])
def test_bad_n_is_refused(two_aisles, n):
    model = ItemKNNRecommender().fit(two_aisles)
    with pytest.raises(ValueError, match="n must be"):
        model.recommend(["c0"], n=n)


def test_a_string_is_not_taken_for_a_list_of_items(two_aisles):
    model = ItemKNNRecommender().fit(two_aisles)
    with pytest.raises(ValueError, match="user_items"):
        model.recommend("c0")


def test_an_item_with_weight_zero_still_counts_as_seen(two_aisles):
    model = ItemKNNRecommender(n_neighbors=5).fit(two_aisles)
    history = pd.DataFrame({"user_id": ["x", "x"], "item_id": ["c0", "c1"], "weight": [1.0, 0.0]})
    listed = {item for item, _ in model.recommend_many(history, n=30)["x"]}
    assert not listed & {"c0", "c1"}
    assert not {item for item, _ in model.recommend({"c0": 1.0, "c1": 0.0}, n=30)} & {"c0", "c1"}
