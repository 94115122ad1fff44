"""The study library of notebook 02 (``_study_log`` and ``_study``). The bot net stays under the per-IP rate limits
and the replayed rules miss it, while they flag SQL injection at its first request. Detectors fitted on the normal
period alone flag the flood windows and keep their false-positive budget. The tables count what they say they
count."""

import doctest
import json

import numpy as np
import pandas as pd
import pytest

from unseen.ml.anomaly import (
    BEHAVIOUR_FEATURES,
    IsolationForestDetector,
    OneClassSVMDetector,
    synthetic_requests,
    window_features,
    window_labels,
)
from unseen.ml.anomaly import _study, _study_log
from unseen.ml.anomaly._study import (
    DISTRIBUTED_FLOOD,
    add_distributed_flood,
    detection_delays,
    detection_summary,
    fit_on_normal_period,
    flagged_by_rules,
    judge_with_rules,
    peak_requests,
    recall_by_kind,
    threshold_policies,
)
from unseen.monitor.rules import RuleThresholds

SEED = 3
START = pd.Timestamp("2026-11-19", tz="UTC")
HOURS = 48.0
TRAIN_END = START + pd.Timedelta(hours=HOURS / 2)
LIMITS = RuleThresholds()


@pytest.fixture(scope="module")
def study_log() -> pd.DataFrame:
    """Two days of 120 shoppers, three attacks of each kind and a bot net of 20, all on the second day."""
    log = synthetic_requests(120, hours=HOURS, start=START, random_state=SEED)
    return add_distributed_flood(log, bots=20, period=(START, START + pd.Timedelta(hours=HOURS)), random_state=SEED)


@pytest.fixture(scope="module")
def verdicts(study_log) -> pd.DataFrame:
    return judge_with_rules(study_log)


@pytest.fixture(scope="module")
def study_windows(study_log) -> tuple[pd.DataFrame, np.ndarray]:
    windows = window_features(study_log, by="ip", window="60s", step="10s")
    labels = window_labels(study_log, by="ip", window="60s", step="10s").to_numpy(dtype=object)
    return windows, labels


@pytest.fixture(scope="module")
def runs(study_windows):
    windows, _ = study_windows
    detectors = {"isolation_forest": IsolationForestDetector(random_state=0),
                 "one_class_svm": OneClassSVMDetector(random_state=0)}
    return fit_on_normal_period(windows, detectors, features=list(BEHAVIOUR_FEATURES), train_end=TRAIN_END,
                                target_fpr=0.01)


@pytest.mark.parametrize("module", [_study_log, _study], ids=["_study_log", "_study"])
def test_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


# --- the bot net ---------------------------------------------------------------------------------------------------


def test_the_bot_net_has_addresses_of_its_own_and_starts_after_the_normal_period(study_log):
    bots = study_log[study_log["attack"] == DISTRIBUTED_FLOOD]
    others = study_log[study_log["attack"] != DISTRIBUTED_FLOOD]
    assert bots["ip"].nunique() == 20 and not bots["ip"].isin(set(others["ip"])).any()
    assert bots["at"].min() > TRAIN_END and bots["at"].max() < START + pd.Timedelta(hours=HOURS)
    assert (bots["method"] == "GET").all() and (bots["status"] == 200).all()
    assert bots["session_id"].isna().all() and bots["user_agent"].str.startswith("Mozilla/5.0").all()
    assert study_log["at"].is_monotonic_increasing
    assert study_log.dtypes.equals(synthetic_requests(5, hours=1, random_state=0).dtypes)


def test_every_bot_stays_under_the_rate_limits_while_the_bot_net_breaks_them_in_sum(study_log):
    bots = study_log[study_log["attack"] == DISTRIBUTED_FLOOD]
    assert peak_requests(bots, LIMITS.flood_short_window_s).max() <= LIMITS.flood_short_limit
    assert peak_requests(bots, LIMITS.flood_long_window_s).max() <= LIMITS.flood_long_limit
    # All bots together, as if they were one address, exceed the per-minute limit many times over.
    as_one = peak_requests(bots.assign(ip="bot net"), LIMITS.flood_long_window_s)["bot net"]
    assert as_one > 5 * LIMITS.flood_long_limit


def test_the_rules_never_flag_a_bot_that_paces_itself(study_log):
    # At up to one request a second a bot stays well away from the per-minute limit, even with the counter's
    # rounding at the old edge of its window.
    calm = add_distributed_flood(study_log.iloc[:0], bots=10, rate=(0.5, 1.0),
                                 period=(START, START + pd.Timedelta(hours=2)), random_state=1)
    assert len(calm) > 0
    assert (judge_with_rules(calm)["category"] == "normal").all()


def test_the_same_seed_gives_the_same_bot_net_and_floods_come_at_their_own_times(study_log):
    log = study_log[study_log["attack"] == "normal"].reset_index(drop=True)
    once = add_distributed_flood(log, bots=5, floods=2, random_state=4)
    assert once.equals(add_distributed_flood(log, bots=5, floods=2, random_state=4))
    bots = once[once["attack"] == DISTRIBUTED_FLOOD]
    assert bots["ip"].nunique() == 10
    starts = bots.groupby("ip")["at"].min().sort_values()
    assert starts.iloc[5] - starts.iloc[4] > pd.Timedelta(minutes=1)  # two bot nets, not one of ten
    assert add_distributed_flood(log, bots=0).equals(log)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"bots": -1}, "bots must be a non-negative integer"),
    ({"floods": 1.5}, "floods must be a non-negative integer"),
    ({"rate": (2.0, 1.0)}, "rate must be a pair"),
    ({"duration_s": (0.0, 10.0)}, "duration_s must be a pair"),
    ({"attack_after": 1.0}, "attack_after must be a share"),
    ({"period": (START, START)}, "period must be a pair"),
])
def test_bad_flood_arguments_are_named(study_log, kwargs, message):
    with pytest.raises(ValueError, match=message):
        add_distributed_flood(study_log.iloc[:100], **kwargs)


def test_peak_requests_counts_the_busiest_window_ending_at_a_request():
    at = START + pd.to_timedelta([0.0, 0.2, 0.9, 1.0, 5.0, 0.0], unit="s")
    log = pd.DataFrame({"ip": ["a"] * 5 + ["b"], "at": at})
    # (0, 1.0] holds 0.2, 0.9 and 1.0; the request at 0.0 is just outside the second that ends at 1.0.
    assert peak_requests(log, 1.0).to_dict() == {"a": 3, "b": 1}
    assert peak_requests(log, 10.0).to_dict() == {"a": 5, "b": 1}


# --- the rules, replayed -------------------------------------------------------------------------------------------


def test_the_rules_flag_every_sql_injection_at_its_first_request(study_log, verdicts):
    injections = study_log[study_log["attack"] == "sql_injection"]
    assert (verdicts.loc[injections.index, "category"] == "anomaly").all()
    for _, requests in injections.groupby("ip"):
        first = verdicts.loc[requests.index[0]]
        assert first["anomaly_kind"] == "sql_injection"
        assert any(reason.startswith("sqli:") for reason in json.loads(first["reasons"]))


def test_the_rules_flag_no_shopper_and_no_bot_but_every_burst(study_log, verdicts):
    assert (verdicts.loc[study_log["attack"] == "normal", "category"] != "anomaly").all()
    assert (verdicts.loc[study_log["attack"] == DISTRIBUTED_FLOOD, "category"] != "anomaly").all()
    for _, requests in study_log[study_log["attack"] == "flood"].groupby("ip"):
        judged = verdicts.loc[requests.index]
        # The flood's first requests are within the limit; from the 21st in a second on, it is a flood.
        assert (judged["category"].iloc[:LIMITS.flood_short_limit] != "anomaly").all()
        assert judged["category"].iloc[LIMITS.flood_short_limit] == "anomaly"
        assert judged["anomaly_kind"].iloc[-1] == "flood"


def test_rule_verdicts_follow_the_rows_of_the_log_in_any_order(study_log, verdicts):
    part = study_log.iloc[:3000]
    shuffled = part.sample(frac=1.0, random_state=0)
    pd.testing.assert_frame_equal(judge_with_rules(shuffled).loc[part.index], verdicts.loc[part.index])


def test_windows_holding_a_flagged_request_are_flagged(study_log, verdicts, study_windows):
    windows, labels = study_windows
    flagged = flagged_by_rules(study_log, verdicts["category"], by="ip", window="60s", step="10s")
    assert flagged.shape == (len(windows),)
    assert flagged[labels == "sql_injection"].all()
    assert not flagged[labels == "normal"].any()
    assert not flagged[labels == DISTRIBUTED_FLOOD].any()
    with_warnings = flagged_by_rules(study_log, verdicts["category"], by="ip", window="60s", step="10s",
                                     flagged=("warning", "anomaly"))
    assert (with_warnings >= flagged).all() and with_warnings.sum() > flagged.sum()
    with pytest.raises(ValueError, match="flagged must name"):
        flagged_by_rules(study_log, verdicts["category"], flagged=("block",))


# --- detectors fitted on the normal period -------------------------------------------------------------------------


def test_the_detectors_learn_from_judged_normal_windows_only(runs, study_windows):
    windows, labels = study_windows
    ends = windows["window_end"]
    for run in runs.values():
        assert run.train.any() and run.calibration.any() and not (run.train & run.calibration).any()
        fitted = run.train | run.calibration
        assert (ends[fitted] <= TRAIN_END).all() and (labels[fitted] == "normal").all()
        assert (windows.loc[fitted, "n_requests"] >= 10).all()
        assert ends[run.train].max() <= ends[run.calibration].min()  # calibration is the latest part
        assert run.detector.n_features_in_ == len(BEHAVIOUR_FEATURES)
        assert run.fit_seconds > 0 and run.score_seconds > 0


def test_the_threshold_keeps_the_budget_on_the_held_out_windows_and_on_later_ones(runs, study_windows):
    windows, labels = study_windows
    later_normal = (windows["window_end"] > TRAIN_END).to_numpy() & (labels == "normal") & \
        (windows["n_requests"] >= 10).to_numpy()
    for name, run in runs.items():
        assert run.threshold == run.detector.threshold_
        assert run.flagged[run.calibration].mean() <= 0.01
        # Later normal windows were never seen; over ten seeds their rate averaged about the 1% budget, at most 2.4%.
        assert run.flagged[later_normal].mean() <= 0.03, name
        assert not run.flagged[~run.judged].any()


@pytest.mark.parametrize("kind", ["flood", DISTRIBUTED_FLOOD, "password_guessing", "scraping", "sql_injection"])
def test_detectors_fitted_on_the_normal_period_flag_the_attack_windows(runs, study_windows, kind):
    windows, labels = study_windows
    of_kind = (labels == kind) & (windows["n_requests"] >= 10).to_numpy()
    assert of_kind.sum() >= 10
    assert runs["one_class_svm"].flagged[of_kind].mean() >= 0.9
    # The forest cannot rank a window beyond the training range above the most extreme shopper (its splits stop
    # there); over ten seeds it still flagged at least half of the bot net's windows.
    assert runs["isolation_forest"].flagged[of_kind].mean() >= (0.5 if kind == DISTRIBUTED_FLOOD else 0.9)


def test_windows_excluded_from_the_normal_period_are_not_learnt_from(study_windows):
    windows, _ = study_windows
    exclude = (windows.index % 2 == 0)
    runs = fit_on_normal_period(windows, {"if": IsolationForestDetector(n_estimators=20, random_state=0)},
                                features=["n_requests", "requests_per_second"], train_end=TRAIN_END,
                                exclude=exclude)
    assert not (runs["if"].train & exclude).any() and not (runs["if"].calibration & exclude).any()


def test_a_normal_period_without_windows_is_refused(study_windows):
    windows, _ = study_windows
    with pytest.raises(ValueError, match="normal period needs more"):
        fit_on_normal_period(windows, {"if": IsolationForestDetector()}, features=["n_requests"],
                             train_end=windows["window_end"].min() - pd.Timedelta(days=1))
    with pytest.raises(ValueError, match="calibration must be a share"):
        fit_on_normal_period(windows, {"if": IsolationForestDetector()}, features=["n_requests"],
                             train_end=TRAIN_END, calibration=1.0)


# --- the tables ----------------------------------------------------------------------------------------------------


def test_recall_by_kind_and_the_summary_count_windows_per_label():
    labels = np.array(["flood", "flood", "flood", "normal", "normal", "normal", "normal", "scraping"], dtype=object)
    flags = {"model": np.array([1, 1, 0, 1, 0, 0, 0, 1], dtype=bool)}
    table = recall_by_kind(flags, labels).set_index("kind")
    assert table.loc["flood", "share_flagged"] == pytest.approx(2 / 3)
    assert table.loc["normal", "share_flagged"] == 0.25 and table.loc["scraping", "flagged"] == 1
    masked = recall_by_kind(flags, labels, mask=labels != "scraping")
    assert set(masked["kind"]) == {"flood", "normal"}
    (summary,) = detection_summary(flags, labels).to_dict("records")
    assert summary["precision"] == 0.75 and summary["recall"] == 0.75 and summary["fpr"] == 0.25
    assert summary["macro_recall"] == pytest.approx((2 / 3 + 1.0) / 2)
    with pytest.raises(ValueError, match="model: 3 flags for 8 windows"):
        recall_by_kind({"model": np.ones(3, dtype=bool)}, labels)


def test_detection_delays_time_each_attacker_from_its_first_request(study_log, verdicts, study_windows, runs):
    windows, _ = study_windows
    flags = {name: run.flagged for name, run in runs.items()}
    delays = detection_delays(study_log, windows, flags, rule_categories=verdicts["category"])
    attackers = study_log.loc[study_log["attack"] != "normal", "ip"].nunique()
    assert len(delays) == attackers * (1 + 2 * len(flags))
    rules = delays[delays["method"] == "rules"].set_index("ip")
    injections = rules[rules["kind"] == "sql_injection"]
    assert (injections["delay_s"] == 0).all() and (injections["requests_until"] == 1).all()
    assert not rules.loc[rules["kind"] == DISTRIBUTED_FLOOD, "detected"].any()
    svm = delays[delays["method"] == "one_class_svm"].set_index("ip")
    either = delays[delays["method"] == "rules or one_class_svm"].set_index("ip")
    assert either["detected"].equals(svm["detected"] | rules["detected"])
    earliest = pd.concat([svm["delay_s"], rules["delay_s"]], axis=1).min(axis=1)
    pd.testing.assert_series_equal(either["delay_s"], earliest, check_names=False)
    assert (delays.loc[delays["detected"], "delay_s"] >= 0).all()


def test_threshold_policies_trade_false_positives_for_recall(runs, study_windows):
    windows, labels = study_windows
    test = (windows["window_end"] > TRAIN_END).to_numpy()
    for run in runs.values():
        policies = threshold_policies(run, labels, test, budgets=(0.0001, 0.001, 0.01, 0.05)).set_index("policy")
        budgets = policies.loc[["budget 0.0%", "budget 0.1%", "budget 1.0%", "budget 5.0%"]]
        assert budgets["threshold"].is_monotonic_decreasing and budgets["recall"].is_monotonic_increasing
        assert not budgets.loc["budget 0.0%", "resolvable"] and budgets.loc["budget 5.0%", "resolvable"]
        assert budgets["calibration_windows"].eq(run.calibration.sum()).all()
        assert policies.loc["budget 1.0%", "threshold"] == pytest.approx(run.threshold)
        assert not budgets["needs_labels"].any() and policies.loc["oracle best F1", "needs_labels"]
        f1 = 2 * policies["precision"] * policies["recall"] / (policies["precision"] + policies["recall"])
        assert f1["oracle best F1"] >= f1.drop("oracle best F1").max() - 1e-12
