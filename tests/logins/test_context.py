"""What is known about a login: real geoip2fast lookups, User-Agent parsing, time, and addresses drawn by country."""

from __future__ import annotations

import doctest
import random
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta, timezone

import geoip2fast
import pytest

from unseen.logins import context as context_module
from unseen.logins.context import GeoResolver, LoginContext, parse_user_agent, random_address, resolve

CHROME_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/124.0.0.0 Safari/537.36")
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
FIREFOX_UBUNTU = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
SAFARI_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                 "Version/17.4 Mobile/15E148 Safari/604.1")
SAFARI_IPAD = ("Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
               "Version/17.4 Mobile/15E148 Safari/604.1")
CHROME_ANDROID = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/124.0.0.0 Mobile Safari/537.36")
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
AT = datetime(2024, 5, 6, 19, 30, tzinfo=UTC)  # a Monday


@pytest.fixture(scope="module")
def geo() -> GeoResolver:
    return GeoResolver()


# Answers checked against the shipped database (geoip2fast 1.2.2) before being written down here.
@pytest.mark.parametrize(("ip", "country", "country_name", "asn_name"), [
    ("8.8.8.8", "US", "United States", "GOOGLE"),
    ("46.211.0.1", "UA", "Ukraine", "Kyivstar PJSC"),
    ("81.2.69.142", "GB", "United Kingdom", "Andrews & Arnold Ltd"),
    ("5.9.0.1", "DE", "Germany", "Hetzner Online GmbH"),
])
def test_public_addresses_are_placed_in_their_country(geo, ip, country, country_name, asn_name):
    location = geo.locate(ip)
    assert (location.country, location.country_name, location.asn_name) == (country, country_name, asn_name)
    # The shipped databases hold neither regions, cities nor ASN numbers.
    assert (location.region, location.city, location.asn) == (None, None, None)


@pytest.mark.parametrize("ip", ["10.1.2.3", "192.168.1.10", "172.16.5.4", "127.0.0.1", "100.64.0.1", "169.254.1.1",
                                "224.0.0.1", "0.0.0.0", "255.255.255.255", "::1", "::8.8.8.8"])
def test_private_and_reserved_addresses_have_no_country(geo, ip):
    location = geo.locate(ip)
    assert location.country is None and location.asn_name is None


@pytest.mark.parametrize("ip", ["not-an-ip", "", "   ", "999.1.1.1", "1.2.3.4.5", "8.8.8.8/24", None, 42])
def test_a_bad_address_gives_an_unknown_context_not_an_error(geo, ip):
    context = resolve(ip, CHROME_WINDOWS, AT, geo=geo)
    assert context.country is None and context.country_name is None and context.asn_name is None
    assert context.ip_prefix == ""
    assert context.browser == "Chrome"  # the rest of the context is still filled in


def test_ipv4_mapped_addresses_are_read_as_ipv4(geo):
    context = resolve("::ffff:46.211.0.1", None, AT, geo=geo)
    assert (context.ip, context.country, context.ip_prefix) == ("46.211.0.1", "UA", "46.211.0.0/24")


def test_ipv6_keeps_its_prefix_but_gets_no_country(geo):
    context = resolve("2001:4860:4860::8888", None, AT, geo=geo)
    assert context.country is None
    assert context.ip_prefix == "2001:4860:4860::/48"


def test_the_most_specific_override_wins_before_the_database():
    geo = GeoResolver({"100.64.0.0/16": "gb", "8.0.0.0/8": "FR", "8.8.8.0/24": "DE"})
    lab = geo.locate("100.64.3.4")
    assert (lab.country, lab.country_name, lab.asn_name) == ("GB", "United Kingdom", None)
    assert geo.locate("8.8.8.8").country == "DE"
    assert geo.locate("8.8.8.8").asn_name == "GOOGLE"  # the operator still comes from the database
    assert geo.locate("8.8.4.4").country == "FR"
    assert geo.locate("100.65.0.1").country is None  # outside the overridden /16
    assert GeoResolver().locate("8.8.8.8").country == "US"  # overrides belong to their resolver


@pytest.mark.parametrize(("overrides", "message"), [
    ({"100.64.0.0/33": "GB"}, "not a CIDR network"),
    ({"lab": "GB"}, "not a CIDR network"),
    ({"100.64.0.0/16": "GBR"}, "alpha-2"),
    ({"100.64.0.0/16": ""}, "alpha-2"),
])
def test_bad_overrides_are_refused_with_the_bad_value(overrides, message):
    with pytest.raises(ValueError, match=message):
        GeoResolver(overrides)


def test_the_database_is_loaded_once_across_threads(monkeypatch):
    loads = []

    class CountingGeoIP2Fast(geoip2fast.GeoIP2Fast):
        def __init__(self, *args, **kwargs):
            loads.append(kwargs.get("geoip2fast_data_file"))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(context_module, "_database", None)
    monkeypatch.setattr(geoip2fast, "GeoIP2Fast", CountingGeoIP2Fast)
    start, answers = threading.Barrier(8), []

    def look_up() -> None:
        start.wait()
        answers.append(GeoResolver().locate("8.8.8.8").country)

    threads = [threading.Thread(target=look_up) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert loads == [context_module.GEO_DATABASE]
    assert answers == ["US"] * 8


@pytest.mark.parametrize(("ua", "expected"), [
    (CHROME_WINDOWS, ("Chrome", "124", "Windows", "desktop")),
    (FIREFOX_LINUX, ("Firefox", "125", "Linux", "desktop")),
    (FIREFOX_UBUNTU, ("Firefox", "125", "Ubuntu", "desktop")),
    (SAFARI_IPHONE, ("Mobile Safari", "17", "iOS", "mobile")),
    (SAFARI_IPAD, ("Mobile Safari", "17", "iOS", "tablet")),
    (CHROME_ANDROID, ("Chrome Mobile", "124", "Android", "mobile")),
    (GOOGLEBOT, ("Googlebot", "2", "Other", "bot")),
    ("curl/8.5.0", ("curl", "8", "Other", "other")),
    ("", ("Other", "", "Other", "other")),
    ("   ", ("Other", "", "Other", "other")),
    (None, ("Other", "", "Other", "other")),
])
def test_user_agents_are_reduced_to_browser_system_and_device(ua, expected):
    assert parse_user_agent(ua) == expected


def test_an_overlong_user_agent_is_cut_before_parsing():
    assert parse_user_agent(CHROME_WINDOWS + " x" * 50_000) == ("Chrome", "124", "Windows", "desktop")


def test_resolve_fills_every_field(geo):
    context = resolve("46.211.0.1", SAFARI_IPHONE, AT, geo=geo)
    assert context.as_dict() == {
        "ip": "46.211.0.1", "country": "UA", "country_name": "Ukraine", "region": None, "city": None, "asn": None,
        "asn_name": "Kyivstar PJSC", "browser": "Mobile Safari", "browser_version": "17", "os": "iOS",
        "device": "mobile", "hour": 19, "weekday": 0, "ip_prefix": "46.211.0.0/24",
    }


def test_time_is_read_in_utc(geo):
    naive = resolve("8.8.8.8", None, datetime(2024, 5, 6, 23, 15), geo=geo)
    assert (naive.hour, naive.weekday) == (23, 0)
    # 01:30 on Monday in UTC+2 is 23:30 on Sunday in UTC.
    aware = resolve("8.8.8.8", None, datetime(2024, 5, 6, 1, 30, tzinfo=timezone(timedelta(hours=2))), geo=geo)
    assert (aware.hour, aware.weekday) == (23, 6)
    with pytest.raises(TypeError, match="datetime"):
        resolve("8.8.8.8", None, "2024-05-06", geo=geo)


def test_a_context_refuses_impossible_values():
    fields = dict(ip="8.8.8.8", country=None, country_name=None, region=None, city=None, asn=None, asn_name=None,
                  browser="Other", browser_version="", os="Other")
    with pytest.raises(ValueError, match="device"):
        LoginContext(**fields, device="phone", hour=0, weekday=0)
    with pytest.raises(ValueError, match="hour"):
        LoginContext(**fields, device="other", hour=24, weekday=0)
    with pytest.raises(ValueError, match="weekday"):
        LoginContext(**fields, device="other", hour=0, weekday=7)


@pytest.mark.parametrize("country", ["US", "UA", "GB", "DE"])
def test_random_addresses_are_in_the_country_asked_for(geo, country):
    rng = random.Random(3)
    addresses = [random_address(country, rng) for _ in range(20)]
    assert all(geo.locate(address).country == country for address in addresses)
    assert len(set(addresses)) == 20


def test_random_addresses_repeat_with_the_seed():
    first = [random_address("UA", random.Random(seed)) for seed in range(5)]
    again = [random_address("UA", random.Random(seed)) for seed in range(5)]
    assert first == again
    assert len(set(first)) == 5


def test_random_addresses_are_public_even_where_an_override_names_the_country():
    geo = GeoResolver({"100.64.0.0/10": "GB"})
    address = random_address("GB", random.Random(0), geo=geo)
    assert not address.startswith("100.")
    assert geo.locate(address).country == "GB"


def test_random_address_refuses_a_bad_or_unknown_country(monkeypatch):
    with pytest.raises(ValueError, match="alpha-2 code.*'USA'"):
        random_address("USA", random.Random(0))
    monkeypatch.setattr(context_module, "RANDOM_ADDRESS_ATTEMPTS", 2000)
    with pytest.raises(ValueError, match="'XX'"):
        random_address("XX", random.Random(0))


def test_the_package_exports_its_names_without_loading_them_up_front():
    import unseen.logins

    assert all(getattr(unseen.logins, name) is not None for name in unseen.logins.__all__)
    # unseen.config reads unseen.logins.policy; that must not pay for scikit-learn and the User-Agent parser.
    probe = "import sys, unseen.logins; print('sklearn' in sys.modules, 'user_agents' in sys.modules)"
    answer = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert answer.stdout.split() == ["False", "False"]


def test_examples_run_as_doctests():
    result = doctest.testmod(context_module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} doctest example(s) failed in {context_module.__name__}"
