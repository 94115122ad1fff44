"""Login risk: what is known about one login attempt, and how unusual it is for the account it claims to be."""

from .context import (
    GEO_DATABASE,
    GeoResolver,
    Location,
    LoginContext,
    parse_user_agent,
    random_address,
    resolve,
)
from .model import (
    FEATURES,
    FrequencyRiskModel,
    LoginHistory,
    LoginRiskModel,
    OneClassSVMRiskModel,
    RiskScore,
    login_features,
    threshold_for,
    thresholds_table,
)

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
    "login_features",
    "parse_user_agent",
    "random_address",
    "resolve",
    "threshold_for",
    "thresholds_table",
]
