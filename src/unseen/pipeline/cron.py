"""Five-field cron expressions read as crontab(5) reads them, turned into APScheduler 3 triggers.

APScheduler's ``CronTrigger.from_crontab`` takes the fields as they are, but APScheduler 3 numbers weekdays from
Monday (0) where cron numbers them from Sunday (0 or 7): ``0 4 * * 1`` would fire on Tuesdays, and ``*/2`` would
pick other days. So the day-of-week field is expanded here into the days cron means and handed over by name.
Cron also fires when *either* a restricted day of month or a restricted day of week matches, where APScheduler
wants both; an expression that restricts both is refused rather than silently run on fewer days.
"""

from __future__ import annotations

from datetime import UTC, tzinfo

from apscheduler.triggers.cron import CronTrigger

__all__ = ["FIELDS", "cron_trigger"]

FIELDS = ("minute", "hour", "day of month", "month", "day of week")
WEEKDAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
"""Cron's numbering: 0 (and 7) is Sunday."""


def cron_trigger(expression: str, *, timezone: tzinfo = UTC) -> CronTrigger:
    """The APScheduler trigger that fires when cron would fire ``expression`` (read in ``timezone``).

    Raises ``ValueError`` naming the expression and what was expected.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> trigger = cron_trigger("0 4 * * 1")
    >>> trigger.get_next_fire_time(None, datetime(2026, 8, 1, tzinfo=UTC)).strftime("%A %H:%M")
    'Monday 04:00'
    """
    if not isinstance(expression, str):
        raise ValueError(f"expected a cron expression as a string, got {expression!r}")
    fields = expression.split()
    if len(fields) != len(FIELDS):
        raise ValueError(f"{expression!r} has {len(fields)} fields; expected 5 ({', '.join(FIELDS)}), "
                         "for example '0 */6 * * *' (every 6 hours)")
    minute, hour, day, month, weekday = fields
    if day not in ("*", "?") and weekday not in ("*", "?"):
        raise ValueError(f"{expression!r} restricts both the day of month and the day of week, which cron joins "
                         "with OR and APScheduler with AND; restrict only one of them")
    try:
        days = _weekdays(weekday)
        return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=days, timezone=timezone)
    except ValueError as exc:
        raise ValueError(f"{expression!r} is not a valid cron expression: {exc}") from None


def _weekdays(field: str) -> str:
    """Cron's day-of-week field as a list of day names APScheduler reads the same way."""
    if field in ("*", "?"):
        return "*"
    chosen: set[int] = set()
    for part in field.split(","):
        chosen |= _weekday_part(part)
    return ",".join(WEEKDAY_NAMES[d] for d in sorted(chosen))


def _weekday_part(part: str) -> set[int]:
    span, _, step_text = part.partition("/")
    step = 1
    if step_text:
        if not step_text.isdigit() or int(step_text) < 1:
            raise ValueError(f"day-of-week step {step_text!r} must be a positive whole number")
        step = int(step_text)
    if span == "*":
        first, last = 0, 6
    elif "-" in span:
        low, _, high = span.partition("-")
        first, last = _weekday(low), _weekday(high)
        if last == 0 and first > 0:  # fri-sun: Sunday ends the week
            last = 7
        if first > last:
            raise ValueError(f"day-of-week range {span!r} runs backwards")
    else:
        first = last = _weekday(span)
        if step_text:  # 1/2 means 1-7/2, as in cron: from Monday every second day to the week's end
            last = 7
    return {day % 7 for day in range(first, last + 1, step)}


def _weekday(text: str) -> int:
    name = text.strip().lower()
    if name in WEEKDAY_NAMES:
        return WEEKDAY_NAMES.index(name)
    if name.isdigit() and 0 <= int(name) <= 7:
        return int(name)  # 7 stays 7 so that a range can end on it; callers take days modulo 7
    raise ValueError(f"day of week {text!r} must be 0-7 (0 and 7 are Sunday) or a name such as mon")
