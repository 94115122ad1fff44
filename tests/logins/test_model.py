"""Per-user login risk: the frequency model (Freeman et al.), the one-class SVM, and the threshold tables."""

from __future__ import annotations

import doctest
import math
import random

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from unseen.logins import model as model_module
from unseen.logins.context import LoginContext
from unseen.logins.model import (
    FEATURES,
    SCORED_FEATURES,
    FrequencyRiskModel,
    LoginHistory,
    OneClassSVMRiskModel,
    login_features,
    threshold_for,
    thresholds_table,
)

HOMES = [("US", "AT&T", "198.51"), ("US", "Comcast", "73.12"), ("GB", "BT", "81.2"), ("DE", "Telekom", "87.1"),
         ("FR", "Orange", "90.3"), ("US", "Verizon", "71.4")]
COMPUTERS = [("Chrome", "Windows", "desktop"), ("Chrome", "Windows", "desktop"), ("Safari", "Mac OS X", "desktop"),
             ("Firefox", "Windows", "desktop"), ("Edge", "Windows", "desktop")]
PHONES = [("Mobile Safari", "iOS", "mobile"), ("Chrome Mobile", "Android", "mobile")]
TRIPS = [("ES", "Telefonica", "88.0"), ("IT", "TIM", "79.5"), ("CA", "Rogers", "99.2")]
ALICE = "alice"


def login(ip: str, country: str | None, network: str | None, browser: str = "Chrome", os: str = "Windows",
          device: str = "desktop", hour: int = 19) -> LoginContext:
    return LoginContext(ip=ip, country=country, country_name=None, region=None, city=None, asn=None,
                        asn_name=network, browser=browser, browser_version="124", os=os, device=device, hour=hour,
                        weekday=2)


def population(seed: int, users: int = 60, per_user: int = 30) -> list[tuple[int, LoginContext]]:
    """Users who mostly log in from one home line and computer, sometimes from a phone, a new address of the same
    provider, or a trip abroad; interleaved in time order."""
    rng = random.Random(seed)
    rounds: list[list[tuple[int, LoginContext]]] = [[] for _ in range(per_user)]
    for user in range(users):
        country, network, net = rng.choice(HOMES)
        home, computer, phone = f"{net}.{rng.randrange(256)}", rng.choice(COMPUTERS), rng.choice(PHONES)
        usual_hour = rng.choice([8, 13, 19, 21])
        for i in range(per_user):
            where, ip = (country, network), f"{home}.{rng.randrange(1, 255)}"
            draw = rng.random()
            if draw < 0.05:
                trip_country, trip_network, trip_net = rng.choice(TRIPS)
                where, ip = (trip_country, trip_network), f"{trip_net}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            elif draw < 0.10:
                ip = f"{net}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            agent = phone if rng.random() < 0.15 else computer
            hour = (usual_hour + rng.choice([-1, 0, 0, 1, 2])) % 24
            rounds[i].append((user, login(ip, *where, *agent, hour=hour)))
    return [pair for one_round in rounds for pair in one_round]


ALICE_LOGINS = [(ALICE, login(f"198.51.100.{i + 1}", "US", "AT&T")) for i in range(30)]
HABITUAL = login("198.51.100.200", "US", "AT&T")
NEW_DEVICE_AT_HOME = login("198.51.100.201", "US", "AT&T", "Mobile Safari", "iOS", "mobile")
TRAVELLER = login("88.0.7.9", "ES", "Telefonica")
TAKEOVER = login("46.211.0.1", "UA", "Kyivstar PJSC", "Firefox", "Linux")


@pytest.fixture(scope="module")
def legitimate() -> list[tuple[object, LoginContext]]:
    return population(seed=0) + ALICE_LOGINS


def fitted(kind: str, logins):
    model = FrequencyRiskModel() if kind == "frequency" else OneClassSVMRiskModel(random_state=0)
    return model.fit_sequence(logins)


MODELS = ["frequency", "svm"]


@pytest.mark.parametrize("kind", MODELS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_takeover_outranks_a_trip_and_a_new_device_which_outrank_a_habitual_login(kind, seed):
    model = fitted(kind, population(seed) + ALICE_LOGINS)
    habitual, new_device, traveller, takeover = (model.score(ALICE, context).risk
                                                 for context in (HABITUAL, NEW_DEVICE_AT_HOME, TRAVELLER, TAKEOVER))
    assert habitual < traveller < takeover
    assert habitual < new_device < takeover
    assert takeover - max(traveller, new_device) > 2.0  # clearly, not by a rounding error


@pytest.mark.parametrize("kind", MODELS)
def test_new_features_name_what_the_user_never_had(kind, legitimate):
    model = fitted(kind, legitimate)
    assert model.score(ALICE, HABITUAL).new_features == []
    assert model.score(ALICE, NEW_DEVICE_AT_HOME).new_features == ["browser", "os", "device"]
    assert model.score(ALICE, TRAVELLER).new_features == ["ip_prefix", "asn", "country"]
    assert model.score(ALICE, TAKEOVER).new_features == ["ip_prefix", "asn", "country", "browser", "os"]
    score = model.score(ALICE, TAKEOVER)
    assert (score.n_user_logins, score.cold_start) == (30, False)


@pytest.mark.parametrize("kind", MODELS)
def test_a_user_without_history_is_a_cold_start(kind, legitimate):
    score = fitted(kind, legitimate).score("newcomer", TAKEOVER)
    assert (score.cold_start, score.new_features, score.n_user_logins) == (True, [], 0)
    assert set(score.contributions) == set(SCORED_FEATURES)  # the default comparison


def test_the_frequency_model_falls_back_to_the_population_on_a_cold_start(legitimate):
    # Without history only the population speaks: values no customer uses (Ukraine, Linux) weigh for an attacker,
    # values most customers use weigh against.
    model = fitted("frequency", legitimate)
    assert model.score("newcomer", TAKEOVER).risk > 0 > model.score("newcomer", HABITUAL).risk
    plain = FrequencyRiskModel(anywhere=0.0).fit_sequence(legitimate)
    assert plain.score("newcomer", TAKEOVER).risk == 0.0 == plain.score("newcomer", HABITUAL).risk


def test_a_long_history_counts_as_max_history_logins(legitimate):
    capped = FrequencyRiskModel(max_history=5).fit_sequence(legitimate)
    full = FrequencyRiskModel().fit_sequence(legitimate)
    # Alice's thirty logins count as five: travelling costs her less, but still more than her habits.
    assert capped.score(ALICE, TRAVELLER).risk < full.score(ALICE, TRAVELLER).risk
    assert capped.score(ALICE, TRAVELLER).risk > capped.score(ALICE, HABITUAL).risk
    with pytest.raises(ValueError, match="anywhere must be a share"):
        FrequencyRiskModel(anywhere=1.5).fit_sequence(legitimate)


@pytest.mark.parametrize("kind", MODELS)
def test_update_is_seen_by_the_next_score(kind, legitimate):
    model = fitted(kind, legitimate)
    before = model.score("newcomer", TRAVELLER)
    model.update("newcomer", TRAVELLER)
    after = model.score("newcomer", TRAVELLER)
    assert (after.cold_start, after.n_user_logins) == (False, 1)
    assert after.risk != before.risk
    trip = model.score(ALICE, TRAVELLER)
    model.update(ALICE, TRAVELLER)
    again = model.score(ALICE, TRAVELLER)
    assert (again.n_user_logins, again.new_features) == (31, [])
    assert again.risk != trip.risk


def test_update_keeps_lowering_the_frequency_risk_of_a_repeated_login(legitimate):
    model = fitted("frequency", legitimate)
    for user in ("newcomer", ALICE):
        risks = []
        for _ in range(5):
            risks.append(model.score(user, TRAVELLER).risk)
            model.update(user, TRAVELLER)
        assert all(later < earlier for earlier, later in zip(risks, risks[1:]))


@pytest.mark.parametrize("kind", MODELS)
def test_a_model_must_be_fitted_before_use(kind):
    model = FrequencyRiskModel() if kind == "frequency" else OneClassSVMRiskModel()
    with pytest.raises(NotFittedError, match="fit_sequence"):
        model.score(ALICE, HABITUAL)
    with pytest.raises(NotFittedError):
        model.update(ALICE, HABITUAL)


def test_frequency_contributions_are_the_log_ratios_freeman_et_al_describe(legitimate):
    model = fitted("frequency", legitimate)
    score = model.score(ALICE, TAKEOVER)
    assert math.isclose(sum(score.contributions.values()), score.risk)
    # A value the user never had costs log((n + alpha) / alpha) times the attacker's odds of using it against the
    # population's; with anywhere=0 that factor is one, whatever the value's popularity.
    for name in score.new_features:
        attacker = model.attacker_probability(name, login_features(TAKEOVER)[name])
        population = model.population_probability(name, login_features(TAKEOVER)[name])
        assert math.isclose(score.contributions[name], math.log((30 + 2.0) / 2.0) + math.log(attacker / population))
    plain = FrequencyRiskModel(anywhere=0.0).fit_sequence(legitimate).score(ALICE, TAKEOVER)
    for name in plain.new_features:
        assert math.isclose(plain.contributions[name], math.log((30 + 2.0) / 2.0))
    # A familiar value lowers the risk.
    assert all(value < 0 for value in model.score(ALICE, HABITUAL).contributions.values())


def test_frequency_weights_scale_each_feature(legitimate):
    plain = fitted("frequency", legitimate).score(ALICE, TRAVELLER)
    no_country = FrequencyRiskModel(weights={"country": 0.0}).fit_sequence(legitimate).score(ALICE, TRAVELLER)
    assert no_country.contributions["country"] == 0.0
    assert math.isclose(no_country.risk, plain.risk - plain.contributions["country"])


def test_the_frequency_model_uses_only_the_features_asked_for(legitimate):
    score = FrequencyRiskModel(features=["device", "country"]).fit_sequence(legitimate).score(ALICE, TAKEOVER)
    assert list(score.contributions) == ["country", "device"]
    assert score.new_features == ["country"]


def test_fit_keeps_the_history_it_is_given():
    history = LoginHistory.from_contexts(ALICE_LOGINS)
    model = FrequencyRiskModel().fit(history)
    model.update(ALICE, TAKEOVER)
    assert history.n_user(ALICE) == 31


@pytest.mark.parametrize(("model", "message"), [
    (FrequencyRiskModel(alpha=0), "alpha"),
    (FrequencyRiskModel(alpha=float("nan")), "alpha"),
    (FrequencyRiskModel(features=["country", "city"]), "features"),
    (FrequencyRiskModel(features=[]), "features"),
    (FrequencyRiskModel(weights={"city": 1.0}), "city"),
    (FrequencyRiskModel(weights={"country": -1.0}), "country"),
    (OneClassSVMRiskModel(max_samples=1), "max_samples"),
    (OneClassSVMRiskModel(features=["asn", "asn"]), "features"),
])
def test_bad_parameters_are_refused_when_fitting(model, message):
    with pytest.raises(ValueError, match=message):
        model.fit_sequence(ALICE_LOGINS)


def test_the_svm_needs_logins_to_learn_from():
    with pytest.raises(ValueError, match="at least 2"):
        OneClassSVMRiskModel().fit_sequence(ALICE_LOGINS[:1])


def test_the_svm_trains_on_a_subsample_but_remembers_every_login(legitimate):
    model = OneClassSVMRiskModel(max_samples=300, random_state=0).fit_sequence(legitimate)
    assert model.scaler_.n_samples_seen_ == 300
    assert model.n_training_logins_ == len(legitimate) == len(model.history_)
    again = OneClassSVMRiskModel(max_samples=300, random_state=0).fit_sequence(legitimate)
    assert model.score(ALICE, TAKEOVER).risk == again.score(ALICE, TAKEOVER).risk


def test_svm_contributions_share_out_the_risk_above_the_usual_login(legitimate):
    model = fitted("svm", legitimate)
    usual = model.score(ALICE, HABITUAL)
    score = model.score(ALICE, TAKEOVER)
    assert math.isclose(sum(score.contributions.values()), score.risk - usual.risk, abs_tol=1e-9)
    assert all(score.contributions[name] == 0.0 for name in SCORED_FEATURES if name not in score.new_features)
    assert all(value == 0.0 for value in usual.contributions.values())


def test_login_history_counts_users_and_population():
    history = LoginHistory.from_contexts(ALICE_LOGINS + [("bob", TAKEOVER), ("bob", TRAVELLER)])
    assert (len(history), history.n_user(ALICE), history.n_user("bob"), history.n_user("carol")) == (32, 30, 2, 0)
    assert history.user_count(ALICE, "country", "US") == 30
    assert history.user_count("bob", "country", "US") == 0
    assert history.user_count("carol", "country", "US") == 0
    assert history.population_count("browser", "Chrome") == 31
    assert history.population_count("country", "UA") == 1


def test_login_features_fill_unknowns_and_band_the_hour():
    values = login_features(login("not-an-ip", None, None, hour=23))
    assert values == {"ip_prefix": "?", "asn": "?", "country": "?", "browser": "Chrome", "os": "Windows",
                      "device": "desktop", "hour_band": "3"}
    numbered = LoginContext(ip="8.8.8.8", country="US", country_name=None, region=None, city=None, asn=15169,
                            asn_name="GOOGLE", browser="Chrome", browser_version="1", os="Windows", device="desktop",
                            hour=5, weekday=0)
    assert (login_features(numbered)["asn"], login_features(numbered)["hour_band"]) == ("15169", "0")


@pytest.fixture(scope="module")
def scores() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(0.0, 1.0, 1000), rng.normal(3.0, 1.0, 300)


def test_thresholds_table_is_monotonic_and_capped(scores):
    legit, takeover = scores
    table = thresholds_table(legit, takeover)
    assert len(table) <= 200
    thresholds = [row["threshold"] for row in table]
    assert thresholds == sorted(thresholds) and len(set(thresholds)) == len(thresholds)
    for column in ("takeover_challenged", "legitimate_challenged"):
        shares = [row[column] for row in table]
        assert all(later <= earlier for earlier, later in zip(shares, shares[1:]))
        assert shares[0] == 1.0 and 0.0 <= shares[-1] < 0.01
    assert all(row["takeover_challenged"] >= row["legitimate_challenged"] for row in table)


def test_thresholds_table_lists_every_distinct_risk_when_there_are_few():
    table = thresholds_table([1.0, 1.0, 2.0], [2.0, 5.0])
    assert [row["threshold"] for row in table] == [1.0, 2.0, 5.0]
    assert [row["legitimate_challenged"] for row in table] == [1.0, pytest.approx(1 / 3), 0.0]
    assert [row["takeover_challenged"] for row in table] == [1.0, 1.0, 0.5]


@pytest.mark.parametrize("share", [0.0, 0.001, 0.01, 0.05, 0.2, 0.5, 1.0])
def test_threshold_for_challenges_at_most_the_share_and_is_the_lowest_that_does(scores, share):
    legit = scores[0]
    threshold = threshold_for(legit, share)
    assert np.mean(legit >= threshold) <= share
    lower = legit[legit < threshold]
    if lower.size:  # the next observed risk down would challenge too many
        assert np.mean(legit >= lower.max()) > share


def test_threshold_for_counts_exactly():
    risks = [float(value) for value in range(10)]
    assert threshold_for(risks, 0.2) == 8.0
    assert threshold_for(risks, 0.0) > 9.0
    assert threshold_for(risks, 1.0) == 0.0


@pytest.mark.parametrize(("call", "message"), [
    (lambda: thresholds_table([], [1.0]), "scores_legit"),
    (lambda: thresholds_table([1.0], [float("nan")]), "scores_takeover"),
    (lambda: thresholds_table([1.0], [2.0], thresholds=[]), "thresholds"),
    (lambda: threshold_for([1.0, 2.0], 1.5), "max_legit_share"),
    (lambda: threshold_for([1.0, 2.0], True), "max_legit_share"),
])
def test_threshold_helpers_refuse_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_examples_run_as_doctests():
    result = doctest.testmod(model_module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} doctest example(s) failed in {model_module.__name__}"


def test_an_unknown_network_is_no_evidence_either_way(legitimate):
    # GeoIP names no network for some addresses: an unknown one matching an unknown home is not a habit.
    model = fitted("frequency", legitimate)
    unknown = login("46.211.0.2", "UA", None, "Firefox", "Linux")
    score = model.score(ALICE, unknown)
    assert login_features(unknown)["asn"] == "?" and score.contributions["asn"] == 0.0


def test_the_hour_is_recorded_but_compared_only_when_asked_for(legitimate):
    """A login at an hour the user never logs in at is not riskier by default (the hour is a weak signal and, in a
    simulation, only the wall clock's); with ``features=FEATURES`` the models compare it too."""
    history = LoginHistory.from_contexts(legitimate)
    night = login("198.51.100.200", "US", "AT&T", hour=3)
    assert login_features(night)["hour_band"] == "0"
    default = FrequencyRiskModel().fit(history)
    assert default.score(ALICE, night).risk == pytest.approx(default.score(ALICE, HABITUAL).risk)
    with_hour = FrequencyRiskModel(features=FEATURES).fit(history)
    assert with_hour.score(ALICE, night).risk > with_hour.score(ALICE, HABITUAL).risk
    assert "hour_band" in with_hour.score(ALICE, night).new_features
