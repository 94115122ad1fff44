"""RecommendationCache: bounded LRU, invalidation, thread safety."""

import threading

import pytest

from unseen.ml.recommend import RecommendationCache


def test_miss_then_hit_and_counters():
    cache = RecommendationCache(max_users=4)
    assert cache.get("ann") is None
    cache.put("ann", [("p1", 1.0)])
    assert cache.get("ann") == [("p1", 1.0)]
    assert (cache.hits, cache.misses) == (1, 1)
    assert "ann" in cache


def test_least_recently_used_user_is_evicted():
    cache = RecommendationCache(max_users=2)
    cache.put("ann", 1)
    cache.put("bob", 2)
    cache.get("ann")  # bob is now the least recently used
    cache.put("cid", 3)
    assert cache.get("bob") is None
    assert cache.get("ann") == 1
    assert cache.get("cid") == 3
    assert len(cache) == 2


def test_put_replaces_and_refreshes():
    cache = RecommendationCache(max_users=2)
    cache.put("ann", 1)
    cache.put("bob", 2)
    cache.put("ann", 10)
    cache.put("cid", 3)  # evicts bob: ann was written more recently
    assert cache.get("ann") == 10
    assert cache.get("bob") is None


def test_invalidate_and_clear():
    cache = RecommendationCache()
    cache.put("ann", 1)
    cache.put("bob", 2)
    cache.invalidate("ann")
    cache.invalidate("nobody")  # not an error
    assert cache.get("ann") is None
    assert cache.get("bob") == 2
    cache.clear()
    assert len(cache) == 0


@pytest.mark.parametrize("max_users", [0, -1, 1.5, True])
def test_bad_size_is_refused(max_users):
    with pytest.raises(ValueError, match="max_users"):
        RecommendationCache(max_users=max_users)


def test_concurrent_use_keeps_the_bound_and_loses_nothing_it_should_keep():
    cache = RecommendationCache(max_users=100)
    errors = []

    def worker(offset):
        try:
            for round_ in range(2_000):
                user = (offset * 7 + round_) % 300
                cache.put(user, [(user, float(round_))])
                value = cache.get(user)
                assert value is None or value[0][0] == user
                if round_ % 5 == 0:
                    cache.invalidate(user)
        except Exception as error:  # noqa: BLE001 - collected and re-raised in the main thread
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(offset,)) for offset in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(cache) <= 100
    assert cache.hits + cache.misses == 8 * 2_000
