"""Login risk: what is known about one login attempt, and how unusual it is for the account it claims to be.

The names below are imported on first use (PEP 562): ``unseen.config`` imports ``unseen.logins.policy``, and an
eager import here would load scikit-learn, user-agents and their data (seconds) for every command that reads the
settings.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

_CONTEXT_NAMES = ("GEO_DATABASE", "GeoResolver", "Location", "LoginContext", "parse_user_agent", "random_address",
                  "resolve")
_MODEL_NAMES = ("FEATURES", "FrequencyRiskModel", "LoginHistory", "LoginRiskModel", "OneClassSVMRiskModel",
                "RiskScore", "SCORED_FEATURES", "login_features", "threshold_for", "thresholds_table")
_EXPORTS = {**dict.fromkeys(_CONTEXT_NAMES, "context"), **dict.fromkeys(_MODEL_NAMES, "model")}

__all__ = [
    "FEATURES",
    "GEO_DATABASE",
    "FrequencyRiskModel",
    "GeoResolver",
    "Location",
    "LoginContext",
    "LoginHistory",
    "LoginRiskModel",
    "OneClassSVMRiskModel",
    "RiskScore",
    "SCORED_FEATURES",
    "login_features",
    "parse_user_agent",
    "random_address",
    "resolve",
    "threshold_for",
    "thresholds_table",
]

if TYPE_CHECKING:
    from .context import GEO_DATABASE, GeoResolver, Location, LoginContext, parse_user_agent, random_address, resolve
    from .model import (
        FEATURES,
        FrequencyRiskModel,
        LoginHistory,
        LoginRiskModel,
        OneClassSVMRiskModel,
        RiskScore,
        SCORED_FEATURES,
        login_features,
        threshold_for,
        thresholds_table,
    )


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
