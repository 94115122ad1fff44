"""The synthetic request log: its layout, its determinism, and that each attack looks like its description."""

import json

import numpy as np
import pandas as pd
import pytest

from unseen.ml.anomaly import ATTACK_KINDS, LOG_COLUMNS, is_tool_agent, synthetic_requests, window_labels
from unseen.ml.anomaly._synthetic import APP_AGENT, BROWSER_AGENTS


def test_layout_is_the_request_log(log):
    assert list(log.columns) == [*LOG_COLUMNS, "attack"]
    assert str(log["at"].dt.tz) == "UTC" and log["at"].is_monotonic_increasing
    assert log["ip"].dtype == "str" and log["status"].dtype == np.int64
    assert log["session_id"].dtype == "Int64"
    assert all(isinstance(json.loads(reasons), list) for reasons in log["reasons"].unique())
    assert set(log["category"]) <= {"normal", "warning", "anomaly"}


def test_same_seed_same_log_other_seed_other_log():
    first = synthetic_requests(15, attackers_per_kind=1, hours=3, random_state=4)
    pd.testing.assert_frame_equal(first, synthetic_requests(15, attackers_per_kind=1, hours=3, random_state=4))
    assert not first.equals(synthetic_requests(15, attackers_per_kind=1, hours=3, random_state=5))


def test_attacks_start_after_the_normal_only_part(log):
    day_two = log["at"].min().normalize() + pd.Timedelta(days=1)
    attacks = log[log["attack"] != "normal"]
    assert attacks["at"].min() >= day_two
    assert set(attacks["attack"]) == set(ATTACK_KINDS)
    # Attackers have IPs of their own.
    assert not set(attacks["ip"]) & set(log.loc[log["attack"] == "normal", "ip"])


def test_normal_shoppers_use_browsers_or_the_app_and_pause_to_think(log):
    normal = log[log["attack"] == "normal"]
    assert set(normal["user_agent"]) <= {*BROWSER_AGENTS, APP_AGENT}
    gaps = normal.groupby("ip")["at"].diff().dt.total_seconds().dropna()
    assert 1.0 < gaps.median() < 20.0
    assert (normal["status"] >= 400).mean() < 0.05
    assert normal["path"].str.startswith("/operator").any()


def _per_ip_peak_rate(frame: pd.DataFrame) -> float:
    per_second = frame.groupby(["ip", frame["at"].dt.floor("s")]).size()
    return float(per_second.max())


def test_each_attack_looks_like_its_description(log):
    of = {kind: log[log["attack"] == kind] for kind in ATTACK_KINDS}
    assert _per_ip_peak_rate(of["flood"]) >= 100
    guesses = of["password_guessing"]
    assert set(guesses["path"]) == {"/api/auth/login"} and set(guesses["method"]) == {"POST"}
    assert (guesses["status"] == 401).mean() > 0.95
    scraping = of["scraping"]
    assert scraping["path"].str.fullmatch(r"/api/products/\d+").all()
    assert scraping["user_agent"].map(is_tool_agent).all() and (scraping["status"] == 404).mean() > 0.1
    ids = scraping.assign(id=scraping["path"].str.rsplit("/", n=1).str[-1].astype(int)).groupby("ip")["id"]
    assert ids.apply(lambda walk: bool((walk.diff().dropna() == 1).all())).all()
    cart = of["cart_spam"]
    assert set(cart["path"]) == {"/api/cart"} and cart["session_id"].notna().all()
    assert cart.groupby("session_id").size().min() > 100
    injection = of["sql_injection"]
    assert injection["query"].nunique() > 100
    assert injection["status"].isin([400, 404, 422]).mean() > 0.7


def test_window_labels_follow_the_attacks(log, windows, labels):
    assert len(labels) == len(windows)
    attack_ips = set(log.loc[log["attack"] != "normal", "ip"])
    assert (windows.loc[labels.to_numpy() != "normal", "ip"].isin(attack_ips)).all()
    assert set(labels) == {"normal", *ATTACK_KINDS}
    per_session = window_labels(log, by="session")
    assert set(per_session) == {"normal", "cart_spam"}  # the other attacks never log in


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"n_shoppers": 0}, "n_shoppers must be a positive integer"),
    ({"attacks": ["ddos"]}, "unknown attack kind"),
    ({"attackers_per_kind": -1}, "attackers_per_kind"),
    ({"hours": 0.5}, "hours must be"),
    ({"attack_after": 1.0}, "attack_after"),
    ({"intensity": 0}, "intensity must be a positive factor"),
])
def test_bad_arguments_are_named(kwargs, message):
    arguments = {"n_shoppers": 5, **kwargs}
    with pytest.raises(ValueError, match=message):
        synthetic_requests(**arguments)


def test_window_labels_need_the_label_column(log):
    with pytest.raises(ValueError, match="no label column 'kind'"):
        window_labels(log.head(10), label="kind")


def test_intensity_scales_the_attack_rates():
    def rate(intensity):
        log = synthetic_requests(5, attacks=["password_guessing"], attackers_per_kind=4, hours=4,
                                 intensity=intensity, random_state=2)
        attempts = log[log["attack"] != "normal"].groupby("ip")["at"]
        return (attempts.size() / (attempts.max() - attempts.min()).dt.total_seconds()).median()

    assert rate(0.1) < 0.2 * rate(1.0)
