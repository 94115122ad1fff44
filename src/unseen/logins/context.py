"""What is known about one login attempt: where the address is (country and network operator), which browser on
which system sent it, and when.

The location comes from geoip2fast, an offline database that ships inside the package, so a login is placed without
a network call and without a licence key. Its free databases resolve countries and network operators (ASN names)
only: there is no region or city data, and no ASN numbers, so :attr:`LoginContext.region`,
:attr:`LoginContext.city` and :attr:`LoginContext.asn` stay ``None``. The shipped databases cover IPv4; an IPv6
address keeps its /48 prefix but gets no country.

geoip2fast keeps its tables in module-level globals, so every ``GeoIP2Fast`` object in a process reads whichever
database was loaded last. One database is therefore loaded, once per process: the ASN database, which carries the
same country table as the country-only one (checked on 100,000 random addresses) plus the operator names.
"""

from __future__ import annotations

import functools
import ipaddress
import random
import re
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple

from user_agents import parse as _parse_user_agent

if TYPE_CHECKING:
    from geoip2fast import GeoIP2Fast

GEO_DATABASE = "geoip2fast-asn.dat.gz"
"""The geoip2fast database loaded: countries and ASN names for IPv4, shipped with the package."""
LOOKUP_CACHE_SIZE = 65536
USER_AGENT_CACHE_SIZE = 4096
MAX_USER_AGENT_LENGTH = 1024
"""Longer headers are cut before parsing: the header is attacker-controlled and real ones stay far below this."""
DEVICES = ("desktop", "mobile", "tablet", "bot", "other")
RANDOM_ADDRESS_ATTEMPTS = 200_000

_COUNTRY_CODE = re.compile(r"[A-Z]{2}")
_UNKNOWN_AGENT = ("Other", "", "Other", "other")

_database: GeoIP2Fast | None = None
_database_lock = threading.Lock()

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Location(NamedTuple):
    """Where an address is, as far as the database (and the overrides) know; ``None`` for what is unknown."""

    country: str | None
    country_name: str | None
    region: str | None
    city: str | None
    asn: int | None
    asn_name: str | None


UNKNOWN_LOCATION = Location(None, None, None, None, None, None)


@dataclass(frozen=True)
class LoginContext:
    """One login attempt: address, place, network operator, browser, system, device and time.

    Attributes
    ----------
    ip : str
        The address as given, normalised when it parses (an IPv4-mapped IPv6 address becomes IPv4).
    country, country_name : str or None
        ISO 3166 alpha-2 code and English name; ``None`` for private, reserved, unknown or unparsable addresses.
    region, city : str or None
        Always ``None`` with the databases geoip2fast ships (they hold no region or city data).
    asn : int or None
        Autonomous system number; always ``None`` with the shipped databases, which name the operator only.
    asn_name : str or None
        Name of the network operator, for example ``"GOOGLE"`` or ``"Kyivstar PJSC"``.
    browser, browser_version : str
        Browser family (``"Chrome"``, ``"Mobile Safari"``; ``"Other"`` when unknown) and its major version.
    os : str
        Operating system family (``"Windows"``, ``"Mac OS X"``, ``"iOS"``, ``"Android"``, ``"Ubuntu"``).
    device : str
        One of ``"desktop"``, ``"mobile"``, ``"tablet"``, ``"bot"`` or ``"other"``.
    hour, weekday : int
        Hour of the day (0-23, UTC) and day of the week (0 = Monday).
    """

    ip: str
    country: str | None
    country_name: str | None
    region: str | None
    city: str | None
    asn: int | None
    asn_name: str | None
    browser: str
    browser_version: str
    os: str
    device: str
    hour: int
    weekday: int

    def __post_init__(self) -> None:
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}; got {self.device!r}.")
        if not 0 <= self.hour <= 23:
            raise ValueError(f"hour must be 0-23 (UTC); got {self.hour!r}.")
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0-6 (0 = Monday); got {self.weekday!r}.")

    @property
    def ip_prefix(self) -> str:
        """The network the address belongs to: its /24 for IPv4, its /48 for IPv6, ``""`` when it does not parse.

        A home or office line keeps its prefix while the last octet changes, so the prefix, not the address, is
        what a user "usually" logs in from.

        Examples
        --------
        >>> unknown = dict(country=None, country_name=None, region=None, city=None, asn=None, asn_name=None)
        >>> agent = dict(browser="Other", browser_version="", os="Other", device="other", hour=0, weekday=0)
        >>> LoginContext(ip="203.0.113.77", **unknown, **agent).ip_prefix
        '203.0.113.0/24'
        >>> LoginContext(ip="2001:db8:1:2::1", **unknown, **agent).ip_prefix
        '2001:db8:1::/48'
        """
        address = _parse_address(self.ip)
        if address is None:
            return ""
        bits = 24 if address.version == 4 else 48
        return str(ipaddress.ip_network(f"{address}/{bits}", strict=False))

    def as_dict(self) -> dict[str, object]:
        """The fields and :attr:`ip_prefix` as a plain dict (for storage or a data frame row)."""
        return {**asdict(self), "ip_prefix": self.ip_prefix}


def _parse_address(ip: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(ip.strip())
    except (ValueError, AttributeError):
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_public(address: IPAddress) -> bool:
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_unspecified)


def _geoip() -> GeoIP2Fast:
    """The process-wide geoip2fast object, loaded on first use (about a third of a second)."""
    global _database
    if _database is None:
        with _database_lock:
            if _database is None:
                from geoip2fast import GeoIP2Fast

                _database = GeoIP2Fast(geoip2fast_data_file=GEO_DATABASE, verbose=False)
    return _database


def _country_names() -> Mapping[str, str]:
    # geoip2fast exposes its code-to-name table only as a module global; without it an override has no name.
    import geoip2fast.geoip2fast as module

    _geoip()
    return getattr(module, "geoipCountryNamesDict", {})


def _database_location(address: IPAddress) -> Location:
    """Country and operator of a public address from geoip2fast (uncached)."""
    if address.version != 4:
        return UNKNOWN_LOCATION  # the shipped databases hold IPv4 only
    result = _geoip().lookup(str(address))
    code = result.country_code
    if result.is_private or not _COUNTRY_CODE.fullmatch(code or ""):
        return UNKNOWN_LOCATION
    return Location(code, result.country_name or None, None, None, None, result.asn_name or None)


def _parse_overrides(overrides: Mapping[str, str] | None) -> tuple[tuple[IPNetwork, str], ...]:
    parsed = []
    for network, country in (overrides or {}).items():
        try:
            net = ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ValueError(f"override network {network!r} is not a CIDR network such as '100.64.0.0/16'.") from None
        code = str(country).strip().upper()
        if not _COUNTRY_CODE.fullmatch(code):
            raise ValueError(f"override country for {network!r} must be an ISO 3166 alpha-2 code; got {country!r}.")
        parsed.append((net, code))
    # Most specific first, so that a /24 inside an overridden /16 answers for its own addresses.
    return tuple(sorted(parsed, key=lambda item: item[0].prefixlen, reverse=True))


class GeoResolver:
    """Places addresses in a country and a network operator, with overrides for private or lab networks.

    The geoip2fast database is loaded once per process, on the first lookup, behind a lock. Lookups never raise:
    a private, reserved, loopback, unknown or unparsable address gives a :class:`Location` of ``None``. Answers are
    kept in an LRU cache of :data:`LOOKUP_CACHE_SIZE` addresses per resolver.

    Parameters
    ----------
    overrides : mapping of str to str, optional
        CIDR network to ISO 3166 alpha-2 country, consulted before the database (most specific network first), so
        that a lab or carrier-grade NAT network can stand for a country, e.g. ``{"100.64.0.0/16": "GB"}``.

    Examples
    --------
    >>> geo = GeoResolver({"100.64.0.0/16": "GB"})
    >>> geo.locate("8.8.8.8").country, geo.locate("100.64.3.4").country, geo.locate("10.1.2.3").country
    ('US', 'GB', None)
    """

    def __init__(self, overrides: Mapping[str, str] | None = None) -> None:
        self.overrides = dict(overrides or {})
        self._networks = _parse_overrides(overrides)
        self._cached_locate = functools.lru_cache(maxsize=LOOKUP_CACHE_SIZE)(self._locate_uncached)

    def locate(self, ip: str) -> Location:
        """Where ``ip`` is; a :class:`Location` of ``None`` when that is unknown.

        Parameters
        ----------
        ip : str
            An IPv4 or IPv6 address.

        Returns
        -------
        Location
        """
        return self._cached_locate(ip) if isinstance(ip, str) else UNKNOWN_LOCATION

    def _locate_uncached(self, ip: str) -> Location:
        address = _parse_address(ip)
        if address is None:
            return UNKNOWN_LOCATION
        return self._locate_address(address)

    def _locate_address(self, address: IPAddress) -> Location:
        for network, country in self._networks:
            if address.version == network.version and address in network:
                public = _database_location(address) if _is_public(address) else UNKNOWN_LOCATION
                return public._replace(country=country, country_name=_country_names().get(country))
        if not _is_public(address):
            return UNKNOWN_LOCATION
        return _database_location(address)


@functools.lru_cache(maxsize=USER_AGENT_CACHE_SIZE)
def parse_user_agent(ua: str | None) -> tuple[str, str, str, str]:
    """Browser family, its major version, operating system family and device kind of a User-Agent header.

    Parameters
    ----------
    ua : str or None
        The header; ``None`` or empty when the request had none.

    Returns
    -------
    tuple of str
        ``(browser, browser_version, os, device)``; ``("Other", "", "Other", "other")`` for a missing header.

    Examples
    --------
    >>> parse_user_agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    ...                  "Chrome/124.0.0.0 Safari/537.36")
    ('Chrome', '124', 'Windows', 'desktop')
    >>> parse_user_agent(None)
    ('Other', '', 'Other', 'other')
    """
    if not ua or not ua.strip():
        return _UNKNOWN_AGENT
    agent = _parse_user_agent(ua[:MAX_USER_AGENT_LENGTH])
    version = agent.browser.version
    major = str(version[0]) if version else ""
    if agent.is_bot:
        device = "bot"
    elif agent.is_tablet:
        device = "tablet"
    elif agent.is_mobile:
        device = "mobile"
    elif agent.is_pc:
        device = "desktop"
    else:
        device = "other"
    return agent.browser.family or "Other", major, agent.os.family or "Other", device


def resolve(ip: str, user_agent: str | None, at: datetime, *, geo: GeoResolver) -> LoginContext:
    """The context of one login attempt.

    Parameters
    ----------
    ip : str
        Client address; an unparsable one gives an unknown location, not an error.
    user_agent : str or None
        The User-Agent header.
    at : datetime
        When the attempt happened; a naive datetime is read as UTC.
    geo : GeoResolver
        Places the address.

    Returns
    -------
    LoginContext
    """
    if not isinstance(at, datetime):
        raise TypeError(f"at must be a datetime; got {type(at).__name__} {at!r}.")
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    address = _parse_address(ip) if isinstance(ip, str) else None
    location = geo.locate(str(address)) if address is not None else UNKNOWN_LOCATION
    browser, version, os_family, device = parse_user_agent(user_agent)
    shown = str(address) if address is not None else (ip if isinstance(ip, str) else "")
    return LoginContext(ip=shown, **location._asdict(), browser=browser,
                        browser_version=version, os=os_family, device=device, hour=at.hour, weekday=at.weekday())


def random_address(country: str, rng: random.Random, *, geo: GeoResolver | None = None) -> str:
    """A public IPv4 address that the database places in ``country``, drawn from ``rng``.

    Random 32-bit numbers are drawn until one is a public address in the country (rejection sampling). A country
    holding a share ``s`` of the address space takes about ``1 / s`` draws: a few hundred for Ukraine, a handful for
    the United States. The same ``rng`` state gives the same address.

    Parameters
    ----------
    country : str
        ISO 3166 alpha-2 code, e.g. ``"US"``, ``"UA"``, ``"GB"``.
    rng : random.Random
        Source of randomness; advanced by the draws.
    geo : GeoResolver, optional
        Resolver whose overrides also count; by default the database alone.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        If ``country`` is not a two-letter code, or no address was found in :data:`RANDOM_ADDRESS_ATTEMPTS` draws
        (a country with too little address space, or one the database does not know).

    Examples
    --------
    >>> address = random_address("UA", random.Random(7))
    >>> GeoResolver().locate(address).country
    'UA'
    """
    code = country.strip().upper() if isinstance(country, str) else ""
    if not _COUNTRY_CODE.fullmatch(code):
        raise ValueError(f"country must be an ISO 3166 alpha-2 code such as 'US'; got {country!r}.")
    resolver = geo if geo is not None else GeoResolver()
    for _ in range(RANDOM_ADDRESS_ATTEMPTS):
        address = ipaddress.IPv4Address(rng.getrandbits(32))
        # Uncached: thousands of rejected random addresses would only push real logins out of the cache. The public
        # check comes first because an override may give a private lab network a country.
        if _is_public(address) and resolver._locate_address(address).country == code:
            return str(address)
    raise ValueError(f"no address in country {code!r} found in {RANDOM_ADDRESS_ATTEMPTS} random draws; the "
                     "database may not know it or it holds too little address space.")
