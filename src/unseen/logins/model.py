"""Per-user login risk: how unusual a login attempt is for the account it claims to be.

A stolen password is typed from the attacker's network, browser and hours, not the owner's; the owner's own logins
repeat a handful of values. Both models here compare a login with the history of its user and keep one contract
(:class:`LoginRiskModel`): higher risk means more unusual for that user. The frequency model follows Freeman et al.,
"Who Are You? A Statistical Approach to Measuring User Authenticity" (NDSS 2016); the one-class SVM learns the same
comparison from data. :func:`thresholds_table` and :func:`threshold_for` turn risks into a challenge policy.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Real
from typing import Self

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import StandardScaler
from sklearn.svm import OneClassSVM
from sklearn.utils import check_random_state

from .context import LoginContext

FEATURES = ("ip_prefix", "asn", "country", "browser", "os", "device", "hour_band")
"""What a login is described by; ``hour_band`` is the quarter of the day (``hour // 6``) as a string."""
SCORED_FEATURES = ("ip_prefix", "asn", "country", "browser", "os", "device")
"""What the models compare by default: Freeman et al.'s network, location and browser features. The hour is recorded
and counted (``features=FEATURES`` compares it too) but left out by default: a quarter of the day is a weak signal
(four values, and people log in at odd hours), and in the simulated evaluations every login happens at the wall
clock's hour whatever its kind, so the hour only moved the legitimate logins' risk with the time of day a run took
place (travellers challenged at night and not by day), never told a takeover from its owner."""
UNKNOWN = "?"
"""The value of a feature that is not known (an unlocated address): one value like any other."""
MAX_THRESHOLDS = 200

Login = tuple[Hashable, LoginContext]


VALUE_SPACE = {"ip_prefix": 2**24, "asn": 100_000, "country": 250, "browser": 100, "os": 50, "device": 5,
               "hour_band": 4}
"""About how many values each feature can take (IPv4 /24 ranges, autonomous systems, countries, browser and OS
families, device kinds, bands of six hours): the attacker's uniform share is spread over them."""


def login_features(context: LoginContext) -> dict[str, str]:
    """The values of :data:`FEATURES` for one login.

    The shipped geoip2fast databases name network operators but give no ASN numbers, so ``asn`` is the number when
    known and the operator's name otherwise.

    Examples
    --------
    >>> context = LoginContext(ip="198.51.100.7", country="US", country_name="United States", region=None,
    ...                        city=None, asn=None, asn_name="AT&T", browser="Chrome", browser_version="124",
    ...                        os="Windows", device="desktop", hour=19, weekday=2)
    >>> login_features(context)["ip_prefix"], login_features(context)["asn"], login_features(context)["hour_band"]
    ('198.51.100.0/24', 'AT&T', '3')
    """
    values = {
        "ip_prefix": context.ip_prefix,
        "asn": str(context.asn) if context.asn is not None else context.asn_name,
        "country": context.country,
        "browser": context.browser,
        "os": context.os,
        "device": context.device,
        "hour_band": str(context.hour // 6),
    }
    return {name: value or UNKNOWN for name, value in values.items()}


class LoginHistory:
    """How often each user, and the whole population, logged in with each value of each feature.

    Attributes
    ----------
    user_values : dict
        User id to feature to a Counter of values.
    population : dict of str to Counter
        Feature to a Counter of values over all users.
    user_logins : Counter
        User id to number of logins.
    n_logins : int
        Number of logins overall.
    """

    def __init__(self) -> None:
        self.user_values: dict[Hashable, dict[str, Counter[str]]] = {}
        self.population: dict[str, Counter[str]] = {name: Counter() for name in FEATURES}
        self.user_logins: Counter[Hashable] = Counter()
        self.n_logins = 0

    @classmethod
    def from_contexts(cls, logins: Iterable[Login]) -> LoginHistory:
        """A history holding ``logins``, an iterable of ``(user_id, LoginContext)`` pairs."""
        history = cls()
        for user_id, context in logins:
            history.add(user_id, context)
        return history

    def add(self, user_id: Hashable, context: LoginContext) -> None:
        """Count one login of ``user_id``."""
        self.add_values(user_id, login_features(context))

    def add_values(self, user_id: Hashable, values: Mapping[str, str]) -> None:
        """Count one login given by its :func:`login_features`."""
        counters = self.user_values.setdefault(user_id, {name: Counter() for name in FEATURES})
        for name in FEATURES:
            counters[name][values[name]] += 1
            self.population[name][values[name]] += 1
        self.user_logins[user_id] += 1
        self.n_logins += 1

    def n_user(self, user_id: Hashable) -> int:
        """Number of logins of ``user_id`` (0 for an unknown user)."""
        return self.user_logins.get(user_id, 0)

    def user_count(self, user_id: Hashable, feature: str, value: str) -> int:
        """How often ``user_id`` logged in with ``value`` of ``feature``."""
        counters = self.user_values.get(user_id)
        return counters[feature].get(value, 0) if counters is not None else 0

    def population_count(self, feature: str, value: str) -> int:
        """How often anyone logged in with ``value`` of ``feature``."""
        return self.population[feature].get(value, 0)

    def __len__(self) -> int:
        return self.n_logins


@dataclass
class RiskScore:
    """How unusual one login is for its user, and why.

    Attributes
    ----------
    risk : float
        Higher means more unusual; comparable within one fitted model only.
    new_features : list of str
        Features whose value this user never logged in with, in :data:`FEATURES` order; empty on a cold start.
    cold_start : bool
        The user had no login yet, so nothing in it can be new; the risk then reflects the population alone.
    n_user_logins : int
        Logins of the user known to the model.
    contributions : dict of str to float
        Each feature's share of the risk (see the model for its exact meaning).
    """

    risk: float
    new_features: list[str]
    cold_start: bool
    n_user_logins: int
    contributions: dict[str, float] = field(default_factory=dict)


def _check_features(features: Sequence[str]) -> tuple[str, ...]:
    chosen = tuple(features)
    unknown = [name for name in chosen if name not in FEATURES]
    if not chosen or unknown or len(set(chosen)) != len(chosen):
        raise ValueError(f"features must be distinct names from {FEATURES}; got {features!r}.")
    return tuple(name for name in FEATURES if name in chosen)


def _check_positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number above 0; got {value!r}.")
    return float(value)


class LoginRiskModel(ABC):
    """Base class for per-user login risk models: higher risk means more unusual for that user.

    A fitted model holds ``history_``, the :class:`LoginHistory` it compares logins with; :meth:`update` adds a
    login to it, so the next score sees it.
    """

    features: Sequence[str]
    features_: tuple[str, ...]
    history_: LoginHistory

    @abstractmethod
    def fit_sequence(self, logins: Iterable[Login]) -> Self:
        """Learn from legitimate logins, ``(user_id, LoginContext)`` pairs in time order."""

    @abstractmethod
    def score(self, user_id: Hashable, context: LoginContext) -> RiskScore:
        """How unusual ``context`` is for ``user_id``."""

    def update(self, user_id: Hashable, context: LoginContext) -> None:
        """Add a login that turned out legitimate to the history, so that the next score sees it.

        Parameters
        ----------
        user_id : hashable
            The user who logged in.
        context : LoginContext
            The login.
        """
        self._check_fitted()
        self.history_.add(user_id, context)

    def _check_fitted(self) -> None:
        if not hasattr(self, "history_"):
            raise NotFittedError(f"This {type(self).__name__} has no login history yet; call fit_sequence first.")

    def _new_features(self, user_id: Hashable, values: Mapping[str, str]) -> list[str]:
        if self.history_.n_user(user_id) == 0:
            return []
        return [name for name in self.features_ if self.history_.user_count(user_id, name, values[name]) == 0]


class FrequencyRiskModel(LoginRiskModel):
    """Login risk as a likelihood ratio of attacker to user (Freeman et al., NDSS 2016).

    For a login ``x`` claiming to be user ``u``, with features taken as independent::

        risk(x, u) = sum_k  w_k * [log p(x_k | attacker) - log p(x_k | u)]

    ``p(x_k)`` is how often anyone logged in with the value, add-one smoothed over the values seen plus one bucket
    for unseen values. The attacker is modelled, as in Freeman et al., from the population, but mixed with a uniform
    choice over every value the feature can take (:data:`VALUE_SPACE`; share ``anywhere``): an attacker may imitate
    a typical user, or log in from anywhere at all::

        p(x_k | attacker) = (1 - anywhere) * p(x_k) + anywhere / |values of k|

    The user's own frequency is smoothed toward the population with a pseudo-count ``alpha``::

        p(x_k | u) = (count_u(x_k) + alpha * p(x_k)) / (n_u + alpha)

    A value the user never had adds ``log((n_u + alpha) / alpha)``, more when the value is rare among all users (a
    country no customer logs in from); a familiar value subtracts. A user with few logins falls back to the
    population: with none, only the rarity of the values counts (and the shop takes no action on a first login).
    With ``anywhere=0`` this is the plain population model, where a new value costs the same however rare it is.

    Parameters
    ----------
    alpha : float, default=2.0
        Pseudo-count of the population in each user's frequencies.
    anywhere : float in [0, 1], default=0.5
        Share of the attacker model that is uniform over each feature's values rather than the population's.
    max_history : float or None, default=None
        Logins of a user's history counted at most (their counts scaled down to it); None counts all.
    features : sequence of str, default=SCORED_FEATURES
        Which of :data:`FEATURES` to compare.
    weights : mapping of str to float, optional
        Weight per feature (default 1.0 each).

    Attributes
    ----------
    history_ : LoginHistory
        The history scored against (the one given to :meth:`fit`; :meth:`update` adds to it).
    features_ : tuple of str
        The features used, in :data:`FEATURES` order.
    weights_ : dict of str to float
        The weight of each feature used.
    """

    def __init__(self, *, alpha: float = 2.0, anywhere: float = 0.5, max_history: float | None = None,
                 features: Sequence[str] = SCORED_FEATURES, weights: Mapping[str, float] | None = None) -> None:
        self.alpha = alpha
        self.anywhere = anywhere
        self.max_history = max_history
        self.features = features
        self.weights = weights

    def fit(self, history: LoginHistory) -> Self:
        """Score against ``history`` (kept by reference, not copied).

        Parameters
        ----------
        history : LoginHistory
            Logins taken as legitimate.

        Returns
        -------
        self
        """
        _check_positive("alpha", self.alpha)
        if isinstance(self.anywhere, bool) or not isinstance(self.anywhere, Real) or not 0 <= self.anywhere <= 1:
            raise ValueError(f"anywhere must be a share in [0, 1]; got {self.anywhere!r}.")
        self.features_ = _check_features(self.features)
        weights = dict(self.weights or {})
        unknown = sorted(set(weights) - set(self.features_))
        if unknown:
            raise ValueError(f"weights name features that are not used: {unknown}; expected some of {self.features_}.")
        self.weights_ = {name: float(weights.get(name, 1.0)) for name in self.features_}
        for name, weight in self.weights_.items():
            if not math.isfinite(weight) or weight < 0:
                raise ValueError(f"weight of {name!r} must be a finite number of at least 0; got {weight!r}.")
        if not isinstance(history, LoginHistory):
            raise TypeError(f"history must be a LoginHistory; got {type(history).__name__}.")
        self.history_ = history
        return self

    def fit_sequence(self, logins: Iterable[Login]) -> Self:
        """:meth:`fit` on a history built from ``(user_id, LoginContext)`` pairs."""
        return self.fit(LoginHistory.from_contexts(logins))

    def population_probability(self, feature: str, value: str) -> float:
        """``p(value)``: the add-one smoothed population frequency of ``value``."""
        counts = self.history_.population[feature]
        return (counts.get(value, 0) + 1) / (self.history_.n_logins + len(counts) + 1)

    def attacker_probability(self, feature: str, value: str) -> float:
        """``p(value | attacker)``: the population's frequency, mixed with a uniform choice among all the values
        the feature can take (share ``anywhere``): an attacker may look like any user, or come from anywhere."""
        population = self.population_probability(feature, value)
        return (1.0 - self.anywhere) * population + self.anywhere / VALUE_SPACE.get(feature, 1_000)

    def score(self, user_id: Hashable, context: LoginContext) -> RiskScore:
        """How unusual ``context`` is for ``user_id``; ``contributions`` holds each weighted log-ratio term.

        Parameters
        ----------
        user_id : hashable
            The user the login claims to be.
        context : LoginContext
            The login attempt.

        Returns
        -------
        RiskScore
        """
        self._check_fitted()
        values = login_features(context)
        n_user = self.history_.n_user(user_id)
        # Beyond ``max_history`` logins a habit is a habit: the counts are scaled down to that many, so a new
        # value does not grow ever more alarming for the most loyal customers.
        scale = min(1.0, self.max_history / n_user) if self.max_history and n_user else 1.0
        contributions = {}
        for name in self.features_:
            if values[name] == UNKNOWN:
                contributions[name] = 0.0  # an unknown network or country is no evidence either way
                continue
            attacker = self.attacker_probability(name, values[name])
            population = self.population_probability(name, values[name])
            count = self.history_.user_count(user_id, name, values[name]) * scale
            user = (count + self.alpha * population) / (n_user * scale + self.alpha)
            contributions[name] = self.weights_[name] * (math.log(attacker) - math.log(user))
        return RiskScore(risk=sum(contributions.values()), new_features=self._new_features(user_id, values),
                         cold_start=n_user == 0, n_user_logins=n_user, contributions=contributions)


class OneClassSVMRiskModel(LoginRiskModel):
    """Login risk from a one-class SVM over how a login relates to its user's history.

    Per-user models would need many logins per user; instead one global model learns what a legitimate login looks
    like *relative to its own user*. For each feature a login is described by whether its value is new to the user,
    the user's share of that value (0 without history) and the population's share of it, plus ``log1p`` of the
    user's number of logins. :meth:`fit_sequence` replays legitimate logins in time order, describing each against
    the history before it, so that training sees first logins, second devices and trips as they happened. The
    descriptions are standardised and an RBF one-class SVM is fitted; risk is minus its decision function.

    Parameters
    ----------
    nu : float, default=0.05
        Upper bound on the share of training logins treated as outliers.
    gamma : {"scale", "auto"} or float, default="scale"
        RBF kernel coefficient, as in :class:`sklearn.svm.OneClassSVM`.
    features : sequence of str, default=SCORED_FEATURES
        Which of :data:`FEATURES` to describe logins by.
    max_samples : int, default=5000
        At most this many training logins (a random subsample) reach the SVM, whose fit is quadratic or worse;
        the history holds all of them.
    random_state : int, RandomState or None, default=None
        Seed of the subsample.

    Attributes
    ----------
    history_ : LoginHistory
        Every login replayed, plus those added by :meth:`update`.
    features_ : tuple of str
        The features used, in :data:`FEATURES` order.
    scaler_ : StandardScaler
    svm_ : OneClassSVM
    n_training_logins_ : int
        Logins replayed (before subsampling).

    Notes
    -----
    The SVM's risk does not split by feature, and changing one feature at a time misleads: a trip changes address,
    network and country together, and the country alone back at home looks stranger than all three abroad. So
    ``contributions`` in a :class:`RiskScore` are Shapley values against the user's usual login (the most frequent
    value of each feature): each feature's average effect on the risk over every mix of usual and actual values
    (at most 2**7 rows scored). They add up to the risk minus the risk of the usual login; features at their usual
    value, and every feature on a cold start, get 0.
    """

    def __init__(self, *, nu: float = 0.05, gamma: str | float = "scale", features: Sequence[str] = SCORED_FEATURES,
                 max_samples: int = 5000, random_state: int | np.random.RandomState | None = None) -> None:
        self.nu = nu
        self.gamma = gamma
        self.features = features
        self.max_samples = max_samples
        self.random_state = random_state

    def fit_sequence(self, logins: Iterable[Login]) -> Self:
        """Replay legitimate logins in time order and fit the SVM on their descriptions.

        Parameters
        ----------
        logins : iterable of (user_id, LoginContext)
            Legitimate logins, oldest first.

        Returns
        -------
        self
        """
        self.features_ = _check_features(self.features)
        if isinstance(self.max_samples, bool) or not isinstance(self.max_samples, int) or self.max_samples < 2:
            raise ValueError(f"max_samples must be an integer of at least 2; got {self.max_samples!r}.")
        history, rows = LoginHistory(), []
        for user_id, context in logins:
            values = login_features(context)
            rows.append(self._describe(history, user_id, values))
            history.add_values(user_id, values)
        if len(rows) < 2:
            raise ValueError(f"fit_sequence needs at least 2 legitimate logins; got {len(rows)}.")
        X = np.asarray(rows)
        if len(X) > self.max_samples:
            keep = check_random_state(self.random_state).choice(len(X), self.max_samples, replace=False)
            X = X[np.sort(keep)]
        self.scaler_ = StandardScaler().fit(X)
        self.svm_ = OneClassSVM(kernel="rbf", nu=self.nu, gamma=self.gamma).fit(self.scaler_.transform(X))
        self.history_ = history
        self.n_training_logins_ = len(rows)
        return self

    def _describe(self, history: LoginHistory, user_id: Hashable, values: Mapping[str, str]) -> list[float]:
        n_user, n_all = history.n_user(user_id), history.n_logins
        row = []
        for name in self.features_:
            count = history.user_count(user_id, name, values[name])
            row += [float(count == 0), count / n_user if n_user else 0.0,
                    history.population_count(name, values[name]) / n_all if n_all else 0.0]
        return row + [math.log1p(n_user)]

    def score(self, user_id: Hashable, context: LoginContext) -> RiskScore:
        """How unusual ``context`` is for ``user_id``: minus the SVM's decision function.

        Parameters
        ----------
        user_id : hashable
            The user the login claims to be.
        context : LoginContext
            The login attempt.

        Returns
        -------
        RiskScore
        """
        self._check_fitted()
        values = login_features(context)
        n_user = self.history_.n_user(user_id)
        counters = self.history_.user_values.get(user_id)
        usual = {name: counters[name].most_common(1)[0][0] for name in self.features_} if n_user else values
        differing = [name for name in self.features_ if values[name] != usual[name]]
        # Every mix of the user's usual values and this login's ones: subset m takes the login's value of
        # differing[j] exactly when bit j of m is set, so the last subset is the login itself.
        subsets = np.arange(2 ** len(differing))
        taken = (subsets[:, None] >> np.arange(len(differing))) & 1
        rows = [self._describe(self.history_, user_id,
                               {**values, **usual, **{name: values[name] for name, on in zip(differing, row) if on}})
                for row in taken]
        risks = -self.svm_.decision_function(self.scaler_.transform(np.asarray(rows)))
        contributions = dict.fromkeys(self.features_, 0.0)
        for j, name in enumerate(differing):
            without = subsets[taken[:, j] == 0]
            weights = [math.factorial(k) * math.factorial(len(differing) - k - 1) for k in taken[without].sum(axis=1)]
            gains = risks[without | (1 << j)] - risks[without]
            contributions[name] = float(np.dot(weights, gains) / math.factorial(len(differing)))
        return RiskScore(risk=float(risks[-1]), new_features=self._new_features(user_id, values),
                         cold_start=n_user == 0, n_user_logins=n_user, contributions=contributions)


def _check_scores(name: str, scores: object) -> np.ndarray:
    values = np.asarray(scores, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-dimensional list of risks; got shape {values.shape}.")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} has missing or infinite values; every login needs a finite risk.")
    return values


def thresholds_table(scores_legit: Sequence[float], scores_takeover: Sequence[float],
                     thresholds: Sequence[float] | None = None) -> list[dict[str, float]]:
    """What each threshold would challenge: logins with risk at or above it get a second factor.

    Parameters
    ----------
    scores_legit, scores_takeover : sequence of float
        Risks of legitimate logins and of account takeover attempts.
    thresholds : sequence of float, optional
        Thresholds to tabulate; by default every distinct risk seen, or :data:`MAX_THRESHOLDS` evenly spaced
        quantiles of them when there are more.

    Returns
    -------
    list of dict
        One row per threshold, ascending: ``threshold``, ``takeover_challenged`` (share of takeovers with risk at
        or above it, the detection rate) and ``legitimate_challenged`` (share of legitimate logins, the friction).

    Examples
    --------
    >>> for row in thresholds_table([0.0, 1.0, 2.0, 3.0], [2.5, 4.0], thresholds=[1.0, 3.0]):
    ...     print(row)
    {'threshold': 1.0, 'takeover_challenged': 1.0, 'legitimate_challenged': 0.75}
    {'threshold': 3.0, 'takeover_challenged': 0.5, 'legitimate_challenged': 0.25}
    """
    legit, takeover = _check_scores("scores_legit", scores_legit), _check_scores("scores_takeover", scores_takeover)
    if thresholds is None:
        cuts = np.unique(np.concatenate([legit, takeover]))
        if len(cuts) > MAX_THRESHOLDS:
            cuts = np.unique(np.quantile(cuts, np.linspace(0.0, 1.0, MAX_THRESHOLDS)))
    else:
        cuts = np.sort(_check_scores("thresholds", thresholds))
    legit, takeover = np.sort(legit), np.sort(takeover)
    # Share at or above t = 1 - (number strictly below t) / n, found by binary search in the sorted risks.
    legit_share = 1.0 - np.searchsorted(legit, cuts, side="left") / len(legit)
    takeover_share = 1.0 - np.searchsorted(takeover, cuts, side="left") / len(takeover)
    return [{"threshold": float(t), "takeover_challenged": float(d), "legitimate_challenged": float(f)}
            for t, d, f in zip(cuts, takeover_share, legit_share, strict=True)]


def threshold_for(scores_legit: Sequence[float], max_legit_share: float) -> float:
    """The lowest threshold that challenges at most ``max_legit_share`` of the legitimate logins.

    Candidates are the legitimate risks themselves and the number just above the highest one (which challenges
    none), so the answer is an observed risk wherever one will do.

    Parameters
    ----------
    scores_legit : sequence of float
        Risks of legitimate logins.
    max_legit_share : float
        Largest acceptable share of them challenged, in [0, 1].

    Returns
    -------
    float

    Examples
    --------
    >>> threshold_for([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0], 0.2)
    8.0
    """
    legit = np.sort(_check_scores("scores_legit", scores_legit))
    if isinstance(max_legit_share, bool) or not isinstance(max_legit_share, Real) or not 0 <= max_legit_share <= 1:
        raise ValueError(f"max_legit_share must be a share in [0, 1]; got {max_legit_share!r}.")
    # Counts, not shares, are compared, so that 0.2 of 10 logins allows 2 and not 1 after rounding error.
    allowed = math.floor(max_legit_share * len(legit) + 1e-9)
    candidates = np.append(np.unique(legit), np.nextafter(legit[-1], np.inf))
    challenged = len(legit) - np.searchsorted(legit, candidates, side="left")
    return float(candidates[np.argmax(challenged <= allowed)])
