"""One Settings object for the whole project, read from the environment (prefix ``UNSEEN_``) and ``.env``.

Nothing else in the package spells a path or a threshold: ask ``get_settings()``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from unseen.logins.policy import LoginRiskSettings
from unseen.monitor.actions import ActionPolicy
from unseen.monitor.model import ModelSettings
from unseen.monitor.notifier import SmtpSettings
from unseen.monitor.rules import RuleThresholds

PROJECT_ROOT = Path(__file__).resolve().parents[2]
"""The repository root when unseen runs from a checkout (``src/unseen/config.py`` -> repo)."""

DEFAULT_SECRET_KEY = "development-only-secret-change-me"


class Settings(BaseSettings):
    """Every setting of unseen. Environment variables override the defaults: ``UNSEEN_DATABASE_URL=...``."""

    model_config = SettingsConfigDict(env_prefix="UNSEEN_", env_file=".env", extra="ignore", populate_by_name=True,
                                      env_nested_delimiter="__")

    environment: Literal["development", "test", "production"] = "development"
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET_KEY)

    var_dir: Path = PROJECT_ROOT / "var"
    """Git-ignored folder for the embedded database and other local state."""
    database_url: str = ""
    """SQLAlchemy URL. Empty means a SQLite file in ``var_dir``; ``postgresql+psycopg://...`` works too."""
    reference_data_dir: Path = Field(
        default=PROJECT_ROOT.parent / "shared" / "data",
        validation_alias=AliasChoices("UNSEEN_REFERENCE_DATA", "UNSEEN_REFERENCE_DATA_DIR", "reference_data_dir"),
    )
    """Reference data written by others (read only, never copied into the repository)."""
    artefacts_dir: Path = PROJECT_ROOT / "artefacts"
    runs_dir: Path = PROJECT_ROOT / "runs"
    """Git-ignored: simulation runs (``runs/simulations``) and executed notebooks."""

    models_dir: Path = PROJECT_ROOT / "models"
    """The model registry (git-ignored): versions, metadata and which one is promoted."""
    model_keep_versions: int = Field(default=5, ge=1)
    model_poll_seconds: float = Field(default=5.0, ge=0)
    """How often the API checks the registry for a newly promoted model (a read of one small file)."""

    monitor_enabled: bool = True
    """Capture, judge and log every request (the request log, rules, anomaly model and automatic actions)."""
    trusted_proxies: list[str] = Field(default_factory=list)
    """Peers whose X-Forwarded-For is believed (addresses or CIDR networks), as uvicorn's forwarded-allow-ips."""
    allowlist: list[str] = Field(default_factory=list)
    """Addresses or networks that are never blocked (more can be added by operators at run time)."""
    rules: RuleThresholds = Field(default_factory=RuleThresholds)
    """Thresholds of the request rules (``UNSEEN_RULES__FLOOD_SHORT_LIMIT=30``, ...)."""
    anomaly_model: ModelSettings = Field(default_factory=ModelSettings)
    """How the promoted ``anomaly`` model scores request windows (``UNSEEN_ANOMALY_MODEL__CONFIRMATIONS=3``, ...)."""
    actions: ActionPolicy = Field(default_factory=ActionPolicy)
    """Which automatic action each anomaly kind triggers and how long bans last (``UNSEEN_ACTIONS__BAN_SECONDS``)."""
    login_risk: LoginRiskSettings = Field(default_factory=LoginRiskSettings)
    """Per-user login risk: alert and step-up thresholds (``UNSEEN_LOGIN_RISK__STEP_UP_THRESHOLD``, ...)."""
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    """Outgoing e-mail (``UNSEEN_SMTP__ENABLED=true``, ``UNSEEN_SMTP__HOST``, ...); off until configured."""

    session_cookie: str = "unseen_session"
    csrf_cookie: str = "unseen_csrf"
    session_lifetime_hours: float = Field(default=24 * 7, gt=0)
    cookie_secure: bool = False
    """Send cookies only over HTTPS. Off by default because the demo runs on plain http://127.0.0.1."""

    operator_email: str = "operator@unseen.example"
    operator_password: SecretStr = SecretStr("operator-demo")
    demo_customer_password: SecretStr = SecretStr("shopper-demo")
    dashboard_token: SecretStr | None = None
    """What opens the Voila dashboards (``?token=...`` once, or typed on their login page); unset means the operator
    password, so that the dashboards are never left open."""
    dashboard_refresh_seconds: float = Field(default=1.5, ge=0.5, le=60)
    """How often the live monitoring dashboard re-reads the request log."""

    page_size: int = Field(default=24, ge=1, le=100)
    feed_cache_seconds: float = Field(default=30.0, ge=0)
    """How long the popularity ranking behind the feed is reused before it is recomputed from recent sales."""

    @model_validator(mode="after")
    def _refuse_default_secret_outside_development(self) -> "Settings":
        if self.environment == "production" and self.secret_key.get_secret_value() == DEFAULT_SECRET_KEY:
            raise ValueError(
                "UNSEEN_SECRET_KEY is the development default; set a long random secret "
                "(for example `python -c 'import secrets; print(secrets.token_urlsafe(48))'`) "
                "before running with UNSEEN_ENVIRONMENT=production"
            )
        if self.environment == "production" and self.operator_password.get_secret_value() == "operator-demo":
            raise ValueError("UNSEEN_OPERATOR_PASSWORD is the demo default; set your own before running in production")
        return self

    @property
    def resolved_dashboard_token(self) -> str:
        return (self.dashboard_token or self.operator_password).get_secret_value()

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.var_dir / 'unseen.db'}"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests build their own ``Settings`` instead)."""
    return Settings()
