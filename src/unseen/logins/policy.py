"""What the shop does with a login's risk: the thresholds and settings (``Settings.login_risk``)."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

ACTIONS = ("none", "alert", "step_up")


class LoginRiskSettings(BaseModel):
    """Per-user login risk (``UNSEEN_LOGIN_RISK__STEP_UP_THRESHOLD=9``, ...).

    The risk is the frequency model's log-likelihood ratio (Freeman et al., NDSS 2016): about +3 for each feature an
    established user never showed (more when the value is rare among all customers), negative for habitual values.
    The defaults come from ``unseen simulate-logins`` on the seeded shop: travellers land around 5, takeovers above
    6, habitual logins far below 0. ``unseen evaluate logins`` prints, across
    thresholds, the share of takeover attempts and of legitimate logins each one challenges.
    """

    enabled: bool = True
    alert_threshold: float = 3.0
    """A successful login at or above this risk is unusual: the user and the operator get an e-mail with the reasons,
    and an event and a decision are recorded."""
    step_up_threshold: float = 6.0
    """At or above this the session stays inactive until the one-time code sent by e-mail is entered."""
    alpha: float = Field(default=1.0, gt=0)
    """Pseudo-logins of population behaviour mixed into each user's history (few logins: mostly population)."""
    anywhere: float = Field(default=0.5, ge=0, le=1)
    """Share of the attacker model that may come from anywhere (uniform over each feature's values)."""
    max_history: float = Field(default=20.0, gt=0)
    """A user's history counts as at most this many logins: after twenty, a habit is a habit."""
    code_ttl_seconds: float = Field(default=600.0, gt=0)
    code_attempts: int = Field(default=5, ge=1)
    """Wrong codes a challenge takes before it is spent (the session then ends)."""
    network_countries: dict[str, str] = Field(default_factory=dict)
    """Countries of private or lab networks the GeoIP data cannot know (``{"10.8.0.0/16": "GB"}``)."""
    svm: bool = True
    """Also score each login with the One-Class SVM (recorded for comparison; the frequency model decides)."""

    @model_validator(mode="after")
    def _ordered(self) -> LoginRiskSettings:
        if self.step_up_threshold < self.alert_threshold:
            raise ValueError(f"step_up_threshold ({self.step_up_threshold}) must be at least alert_threshold "
                             f"({self.alert_threshold}): a login stepped up is also reported")
        return self

    def action_for(self, risk: float | None, *, success: bool) -> str:
        """``none``, ``alert`` or ``step_up`` for a login of this risk (failed logins are only recorded)."""
        if not self.enabled or not success or risk is None:
            return "none"
        if risk >= self.step_up_threshold:
            return "step_up"
        return "alert" if risk >= self.alert_threshold else "none"
