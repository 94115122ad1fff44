"""Sliding windows: counts over time per key, expiry, bounded memory, safe under threads."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from unseen.monitor.windows import SlidingWindowCounter, StatusShareTracker

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def test_counts_events_in_the_window_per_key():
    counter = SlidingWindowCounter(horizon_seconds=60, resolution_seconds=1)
    for second in range(10):
        counter.add("a", T0 + timedelta(seconds=second + 0.5))
    counter.add("b", T0, value=3)
    now = T0 + timedelta(seconds=9.5)
    assert counter.count("a", now) == 10
    assert counter.count("a", now, window_seconds=4.2) == 5  # 5.5 .. 9.5
    assert counter.count("b", now) == 3
    assert counter.count("nobody", now) == 0


def test_accepts_seconds_as_well_as_datetimes():
    counter = SlidingWindowCounter(horizon_seconds=10, resolution_seconds=0.5)
    counter.add("a", T0.timestamp())
    assert counter.count("a", T0) == 1


def test_events_expire_after_the_window():
    counter = SlidingWindowCounter(horizon_seconds=10, resolution_seconds=1)
    counter.add("a", T0)
    assert counter.count("a", T0 + timedelta(seconds=9)) == 1
    assert counter.count("a", T0 + timedelta(seconds=11.5)) == 0
    counter.add("a", T0 + timedelta(seconds=30))
    assert counter.count("a", T0 + timedelta(seconds=30)) == 1  # the old event is gone, not added back


def test_the_count_is_exact_up_to_one_bucket_at_the_old_edge():
    counter = SlidingWindowCounter(horizon_seconds=1, resolution_seconds=0.1)
    for i in range(10):
        counter.add("a", 100.0 + i * 0.1 + 0.01)  # one event per bucket, 100.01 .. 100.91
    assert counter.count("a", now=100.95, window_seconds=1) == 10
    assert counter.count("a", now=101.05, window_seconds=1) == 10  # 100.01 is just out, its bucket still overlaps
    assert counter.count("a", now=101.15, window_seconds=1) == 9


def test_observe_adds_then_counts():
    counter = SlidingWindowCounter(horizon_seconds=1, resolution_seconds=0.05)
    counts = [counter.observe("ip", T0 + timedelta(milliseconds=40 * i)) for i in range(25)]
    assert counts == list(range(1, 26))


def test_late_events_land_in_their_own_bucket():
    counter = SlidingWindowCounter(horizon_seconds=10, resolution_seconds=1)
    counter.add("a", 105.5)
    counter.add("a", 101.5)  # arrives after a newer event
    counter.add("a", 103.5)
    assert counter.count("a", now=105.5, window_seconds=3) == 2  # 103.5 and 105.5
    assert counter.count("a", now=105.5, window_seconds=10) == 3


def test_the_number_of_keys_is_capped_least_recently_used_first():
    counter = SlidingWindowCounter(horizon_seconds=60, max_keys=3)
    for key in ("a", "b", "c"):
        counter.add(key, T0)
    counter.add("a", T0 + timedelta(seconds=1))  # a is fresh again
    counter.add("d", T0 + timedelta(seconds=2))
    assert len(counter) == 3
    assert "b" not in counter and {"a", "c", "d"} <= {k for k in ("a", "b", "c", "d") if k in counter}


def test_silent_keys_are_swept_out():
    counter = SlidingWindowCounter(horizon_seconds=10, resolution_seconds=1)
    for i in range(1000):
        counter.add(f"10.0.{i // 250}.{i % 250}", T0)
    later = T0 + timedelta(minutes=5)
    for i in range(200):
        counter.add("one busy client", later + timedelta(milliseconds=i))
    assert len(counter) < 1000 - 200 * 3  # memory does not wait for the key cap


def test_memory_per_key_is_bounded_by_the_horizon():
    counter = SlidingWindowCounter(horizon_seconds=10, resolution_seconds=1)
    for i in range(100_000):
        counter.add("flood", T0 + timedelta(milliseconds=i))
    assert len(counter._keys["flood"].indices) <= 11
    assert counter.count("flood", T0 + timedelta(milliseconds=99_999)) <= 11_000


def test_threads_lose_no_events():
    counter = SlidingWindowCounter(horizon_seconds=60, resolution_seconds=1)

    def hammer(worker: int) -> None:
        for i in range(2000):
            counter.add(f"key{i % 7}", T0 + timedelta(milliseconds=i))
            counter.count(f"key{worker}", T0 + timedelta(milliseconds=i))

    threads = [threading.Thread(target=hammer, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(counter.count(f"key{k}", T0 + timedelta(seconds=3)) for k in range(7)) == 8 * 2000


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"horizon_seconds": 0}, "horizon_seconds must be positive"),
    ({"horizon_seconds": 10, "resolution_seconds": 20}, "resolution_seconds must be in"),
    ({"horizon_seconds": 10, "max_keys": 0}, "max_keys must be at least 1"),
])
def test_bad_settings_are_refused_with_a_clear_message(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SlidingWindowCounter(**kwargs)


def test_a_window_longer_than_the_horizon_is_refused():
    counter = SlidingWindowCounter(horizon_seconds=10)
    with pytest.raises(ValueError, match=r"window_seconds must be in \(0, 10.0\], got 60"):
        counter.count("a", T0, window_seconds=60)


# --- the 4xx share ---------------------------------------------------------------------------------------------------

def test_tracks_the_share_of_client_errors_over_the_last_n_answers():
    tracker = StatusShareTracker(last_n=4, horizon_seconds=60)
    for i, status in enumerate([404, 404, 200, 500, 401, 200]):
        tracker.add("ip", T0 + timedelta(seconds=i), status)
    assert tracker.share("ip", T0 + timedelta(seconds=6)) == (4, 1)  # 200, 500, 401, 200: 5xx is not a client error
    assert tracker.share("other", T0) == (0, 0)


def test_old_answers_leave_the_share():
    tracker = StatusShareTracker(last_n=50, horizon_seconds=60)
    for i in range(10):
        tracker.add("ip", T0 + timedelta(seconds=i), 404)
    assert tracker.share("ip", T0 + timedelta(seconds=65)) == (4, 4)  # the answers after second 5
    assert tracker.observe("ip", T0 + timedelta(seconds=200), 200) == (1, 0)


def test_the_tracker_caps_and_sweeps_its_keys():
    tracker = StatusShareTracker(last_n=10, horizon_seconds=10, max_keys=100)
    for i in range(500):
        tracker.add(f"ip{i}", T0, 200)
    assert len(tracker) == 100
    tracker.add("late", T0 + timedelta(minutes=1), 200)
    assert len(tracker) < 100
