"""Seasonal demand per category: a multiplier for each calendar month (January first), mean about one.

The shapes are what a retailer in the northern hemisphere sees: coats and warmers in winter, Christmas goods and
electronics before the holidays, garden goods in spring, picnic goods in summer.
"""

from __future__ import annotations

import numpy as np

_PROFILES: dict[str, list[float]] = {
    #            J    F    M    A    M    J    J    A    S    O    N    D
    "Christmas": [0.1, 0.05, 0.05, 0.05, 0.05, 0.1, 0.1, 0.2, 0.6, 1.6, 4.0, 5.1],
    "Coats": [2.0, 1.4, 0.9, 0.5, 0.3, 0.2, 0.2, 0.3, 0.8, 1.6, 2.0, 1.8],
    "Winter Warmers": [1.9, 1.5, 1.0, 0.5, 0.3, 0.2, 0.2, 0.3, 0.7, 1.4, 2.0, 2.0],
    "Electronics": [0.8, 0.6, 0.7, 0.7, 0.7, 0.7, 0.7, 0.8, 0.8, 0.9, 2.1, 2.5],
    "Garden": [0.3, 0.5, 1.4, 2.2, 2.3, 1.6, 1.1, 0.8, 0.6, 0.5, 0.4, 0.3],
    "Outdoor & Picnic": [0.3, 0.3, 0.5, 0.9, 1.4, 2.0, 2.3, 2.0, 1.0, 0.5, 0.4, 0.4],
    "Party": [0.7, 0.8, 0.9, 0.9, 1.0, 1.3, 1.3, 1.1, 0.9, 1.0, 1.1, 1.9],
}
_GIFT_SHOP = [0.75, 0.75, 0.85, 0.9, 0.95, 0.9, 0.9, 0.95, 1.05, 1.2, 1.4, 1.5]


def seasonal_profile(category: str) -> np.ndarray:
    """Twelve monthly multipliers for ``category`` (a gift shop's mild year-end swell when it has no profile)."""
    return np.asarray(_PROFILES.get(category, _GIFT_SHOP), dtype=float)


def seasonal_categories() -> list[str]:
    """The categories with a strong seasonal shape of their own."""
    return list(_PROFILES)
