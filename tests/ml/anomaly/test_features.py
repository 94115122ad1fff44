"""Window features on a hand-built log with known answers, path templates, and the online path against the batch."""

import json
import math
import time
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from unseen.ml.anomaly import (
    FEATURE_NAMES,
    RULE_FEATURE_NAMES,
    features_for_window,
    is_tool_agent,
    path_template,
    window_features,
)
from unseen.monitor.records import Category, RequestRecord

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"


@pytest.fixture
def hand_log() -> pd.DataFrame:
    """Two IPs on 20 November 2026 (UTC).

    10.0.0.1, window (10:00, 10:01]: a product page, a failed and a good login, a cart add, at :05, :15, :45, :50
    (gaps 10, 30, 5 s). Window (10:01, 10:02]: a 503 from curl at 10:01:30 and an operator page with no user
    agent at exactly 10:02:00, the window's end.
    10.0.0.2: a 404 at 10:00:59.5, alone in its window, and an operator's PATCH of a product at 10:05:00.
    """
    rows = [
        # at, ip, method, path, query, status, latency_ms, user_agent, response_bytes, category
        ("10:00:05", "10.0.0.1", "GET", "/products/3", "page=1", 200, 10.0, BROWSER, 1000, "normal"),
        ("10:00:15", "10.0.0.1", "POST", "/api/auth/login", "", 401, 20.0, BROWSER, 50, "warning"),
        ("10:00:45", "10.0.0.1", "POST", "/api/auth/login", "", 200, 30.0, BROWSER, 150, "normal"),
        ("10:00:50", "10.0.0.1", "POST", "/api/cart", "", 200, 40.0, BROWSER, 800, "normal"),
        ("10:01:30", "10.0.0.1", "GET", "/products/4", "", 503, 100.0, "curl/8.5.0", 0, "anomaly"),
        ("10:02:00", "10.0.0.1", "GET", "/operator/products", "", 200, 50.0, None, 2000, "normal"),
        ("10:00:59.5", "10.0.0.2", "GET", "/", "", 404, 5.0, BROWSER, 100, "normal"),
        ("10:05:00", "10.0.0.2", "PATCH", "/api/products/12", "", 200, 7.0, BROWSER, 300, "normal"),
    ]
    columns = ["at", "ip", "method", "path", "query", "status", "latency_ms", "user_agent", "response_bytes",
               "category"]
    log = pd.DataFrame(rows, columns=columns)
    log["at"] = pd.to_datetime("2026-11-20 " + log["at"], utc=True, format="ISO8601")
    log["session_id"] = pd.array([1, 1, 1, 1, None, None, 2, 2], dtype="Int64")
    # Shuffled: nothing may depend on the rows arriving in time order.
    return log.sample(frac=1.0, random_state=3).reset_index(drop=True)


def _hour(end: str) -> tuple[float, float]:
    stamp = pd.Timestamp(end)
    angle = 2 * math.pi * (stamp.hour + stamp.minute / 60 + stamp.second / 3600) / 24
    return math.sin(angle), math.cos(angle)


def test_columns_and_window_grid(hand_log):
    windows = window_features(hand_log)
    assert list(windows.columns) == ["ip", "window_start", "window_end", *FEATURE_NAMES]
    assert windows["ip"].tolist() == ["10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.2"]
    assert windows["window_end"].dt.strftime("%H:%M:%S").tolist() == ["10:01:00", "10:02:00", "10:01:00", "10:05:00"]
    assert (windows["window_end"] - windows["window_start"] == pd.Timedelta("60s")).all()
    assert str(windows["window_end"].dt.tz) == "UTC"
    assert (windows[list(FEATURE_NAMES)].dtypes == np.float64).all()


def test_counts_shares_and_inter_arrival_of_a_busy_window(hand_log):
    first = window_features(hand_log).iloc[0]
    gaps = np.array([10.0, 30.0, 5.0])
    expected = {
        "n_requests": 4, "requests_per_second": 3 / 45, "n_paths": 3, "n_path_templates": 3,
        "share_4xx": 0.25, "share_5xx": 0.0, "share_401": 0.25, "share_post": 0.75, "login_attempts": 2,
        "cart_adds": 1, "interarrival_mean_s": 15.0, "interarrival_max_s": 30.0,
        "interarrival_cv": gaps.std() / gaps.mean(), "latency_mean_ms": 25.0, "response_bytes_mean": 500.0,
        "share_tool_agent": 0.0, "n_user_agents": 1, "share_operator_routes": 0.0, "query_length_mean": 1.5,
    }
    expected["hour_sin"], expected["hour_cos"] = _hour("10:01:00")
    for name, value in expected.items():
        assert first[name] == pytest.approx(value, abs=1e-12), name


def test_window_end_is_inclusive_and_tools_and_operators_are_counted(hand_log):
    second = window_features(hand_log).iloc[1]
    # 10:02:00 sits on the end of (10:01, 10:02] and belongs to it.
    assert second["n_requests"] == 2
    assert second["interarrival_mean_s"] == 30.0 and second["interarrival_cv"] == 0.0
    assert second["share_5xx"] == 0.5
    assert second["share_tool_agent"] == 1.0  # curl, and a missing agent
    assert second["n_user_agents"] == 2
    assert second["share_operator_routes"] == 0.5


def test_a_lone_request_has_the_window_as_inter_arrival(hand_log):
    lone = window_features(hand_log).iloc[2]
    assert lone["n_requests"] == 1 and lone["requests_per_second"] == 0.0
    assert lone["interarrival_mean_s"] == lone["interarrival_max_s"] == 60.0
    assert lone["interarrival_cv"] == 0.0 and lone["share_4xx"] == 1.0
    # A PATCH of a product through the API is an operator route.
    assert window_features(hand_log).iloc[3]["share_operator_routes"] == 1.0


def test_sliding_windows(hand_log):
    windows = window_features(hand_log[hand_log["ip"] == "10.0.0.1"], window="60s", step="30s")
    assert windows["window_end"].dt.strftime("%H:%M:%S").tolist() == [
        "10:00:30", "10:01:00", "10:01:30", "10:02:00", "10:02:30"]
    assert windows["n_requests"].tolist() == [2, 4, 3, 2, 1]
    # (10:00:30, 10:01:30] holds the good login, the cart add and the 503 on a product page: three paths.
    assert windows["n_paths"].tolist() == [2, 3, 3, 2, 1]
    assert windows["n_user_agents"].tolist() == [1, 1, 2, 2, 1]


def test_windows_per_session_leave_out_requests_without_one(hand_log):
    windows = window_features(hand_log, by="session")
    assert windows.columns[0] == "session_id"
    assert windows["session_id"].tolist() == [1, 2, 2]
    assert windows["n_requests"].tolist() == [4, 1, 1]


def test_rule_shares_only_when_asked(hand_log):
    assert not set(RULE_FEATURE_NAMES) & set(window_features(hand_log).columns)
    windows = window_features(hand_log, include_rules=True)
    assert list(windows.columns[-2:]) == list(RULE_FEATURE_NAMES)
    assert windows["share_rule_warning"].tolist() == [0.25, 0.0, 0.0, 0.0]
    assert windows["share_rule_anomaly"].tolist() == [0.0, 0.5, 0.0, 0.0]


def test_rule_categories_as_enum_members(hand_log):
    log = hand_log.assign(category=hand_log["category"].map(Category).astype(object))
    windows = window_features(log, include_rules=True)
    assert windows["share_rule_warning"].tolist() == [0.25, 0.0, 0.0, 0.0]


def test_optional_columns_may_be_missing(hand_log):
    bare = hand_log[["at", "ip", "method", "path", "status"]]
    windows = window_features(bare)
    assert windows["n_requests"].tolist() == [4, 2, 1, 1]
    assert windows["share_tool_agent"].tolist() == [1.0, 1.0, 1.0, 1.0]  # no agent at all: tool-like
    assert windows["latency_mean_ms"].sum() == 0.0


def test_empty_log_gives_empty_frame(hand_log):
    windows = window_features(hand_log.iloc[:0])
    assert len(windows) == 0 and list(windows.columns[3:]) == list(FEATURE_NAMES)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"by": "user"}, "by must be one of"),
    ({"window": "soon"}, "window must be a duration"),
    ({"window": 0}, "positive duration"),
    ({"step": "90s"}, "step must not be longer than window"),
])
def test_bad_arguments_are_named(hand_log, kwargs, message):
    with pytest.raises(ValueError, match=message):
        window_features(hand_log, **kwargs)


def test_missing_columns_are_named(hand_log):
    with pytest.raises(ValueError, match=r"missing column\(s\) \['status'\]"):
        window_features(hand_log.drop(columns="status"))
    with pytest.raises(TypeError, match="pandas DataFrame"):
        window_features(hand_log.to_dict("records"))


@pytest.mark.parametrize(("path", "template"), [
    ("/api/products/123", "/api/products/{id}"),
    ("/api/products/-1", "/api/products/{id}"),
    ("/products/7/", "/products/{id}"),
    ("/api/products/7?fields=name", "/api/products/{id}"),
    ("/cart/42/quantity", "/cart/{id}/quantity"),
    ("/orders/0f8fad5b-d9cb-469f-a165-70867728950e", "/orders/{id}"),
    ("/files/9f86d081884c7d65", "/files/{id}"),
    ("/api/products/categories", "/api/products/categories"),
    ("/api/products/v2", "/api/products/v2"),
    ("/api/products/12abc", "/api/products/12abc"),
    ("/", "/"),
])
def test_path_template(path, template):
    assert path_template(path) == template


@pytest.mark.parametrize(("agent", "tool"), [
    (None, True), ("", True), ("   ", True), ("curl/8.5.0", True), ("python-requests/2.32.3", True),
    ("Scrapy/2.11.2 (+https://scrapy.org)", True), ("sqlmap/1.8.4#stable", True), ("Go-http-client/1.1", True),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", True),
    (BROWSER, False), ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15", False),
])
def test_tool_agents(agent, tool):
    assert is_tool_agent(agent) is tool


def _records(frame: pd.DataFrame) -> list[RequestRecord]:
    def optional(value):
        return None if pd.isna(value) else value

    return [
        RequestRecord(
            at=row.at.to_pydatetime(), ip=row.ip, method=row.method, path=row.path, query=row.query,
            status=int(row.status), latency_ms=float(row.latency_ms), user_agent=optional(row.user_agent),
            session_id=optional(row.session_id), request_bytes=int(row.request_bytes),
            response_bytes=int(row.response_bytes), category=Category(row.category),
        )
        for row in frame.itertuples(index=False)
    ]


@pytest.mark.parametrize(("by", "step"), [("ip", None), ("ip", "20s"), ("session", None)])
def test_online_features_equal_the_batch_features(log, by, step):
    names = list(FEATURE_NAMES + RULE_FEATURE_NAMES)
    key = {"ip": "ip", "session": "session_id"}[by]
    windows = window_features(log, by=by, step=step, include_rules=True)
    picked = np.random.default_rng(1).choice(len(windows), size=30, replace=False)
    for i in picked:
        window = windows.iloc[i]
        # The caller's buffer may hold a little more than the window; what lies outside it must not count.
        near = log[(log[key] == window[key]) & (log["at"] > window["window_start"] - pd.Timedelta("20s"))
                   & (log["at"] <= window["window_end"] + pd.Timedelta("20s"))]
        expected = window[names].to_numpy(dtype=float)
        online = features_for_window(_records(near), end=window["window_end"], include_rules=True)
        from_frame = features_for_window(near, end=window["window_end"], include_rules=True)
        np.testing.assert_allclose(online, expected, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(from_frame, expected, rtol=1e-9, atol=1e-9)


def test_online_window_ends_at_the_latest_record_by_default():
    at = datetime(2026, 11, 20, 10, 0, 0, tzinfo=timezone.utc)
    records = [RequestRecord(at=at.replace(second=s), ip="10.0.0.9", method="GET", path=f"/products/{s}", status=200)
               for s in (0, 10, 40)]
    x = features_for_window(records, window="35s")
    assert x[FEATURE_NAMES.index("n_requests")] == 2  # (10:00:05, 10:00:40]
    assert x[FEATURE_NAMES.index("n_path_templates")] == 1
    naive = [RequestRecord(at=record.at.replace(tzinfo=None), ip=record.ip, method=record.method, path=record.path,
                           status=record.status) for record in records]
    np.testing.assert_array_equal(features_for_window(naive, window="35s"), x)  # naive times are read as UTC


def test_online_errors():
    with pytest.raises(ValueError, match="records is empty"):
        features_for_window([])
    at = datetime(2026, 11, 20, 10, 0, 0, tzinfo=timezone.utc)
    record = RequestRecord(at=at, ip="10.0.0.9", method="GET", path="/", status=200)
    with pytest.raises(ValueError, match="no record falls inside the window"):
        features_for_window([record], end=at.replace(minute=5))
    with pytest.raises(TypeError, match="list of RequestRecord"):
        features_for_window(record)


def test_online_features_take_under_a_millisecond_for_200_records(log):
    busiest = log[log["attack"] == "scraping"]
    records = _records(busiest[busiest["ip"] == busiest["ip"].iloc[0]].head(200))
    assert len(records) == 200
    features_for_window(records)
    timings = []
    for _ in range(50):
        started = time.perf_counter()
        features_for_window(records)
        timings.append(time.perf_counter() - started)
    assert np.median(timings) < 1e-3


def test_a_frame_shaped_like_the_request_log_table_works(log):
    """Rows read from the RequestLog table: its columns only (no role), reasons as lists, times as stored."""
    from unseen.tables import RequestLog

    columns = [column.name for column in RequestLog.__table__.columns if column.name != "id"]
    table_rows = log.head(3000)[columns].assign(reasons=lambda frame: frame["reasons"].map(json.loads))
    expected = window_features(log.head(3000), include_rules=True)
    pd.testing.assert_frame_equal(window_features(table_rows, include_rules=True), expected)
