"""The seeded catalogue: real product names and prices from the UCI Online Retail sample when it is there.

Each real product is put in a category by keywords in its description. Categories the gift shop does not sell
(coats, electronics) are filled with generated products, so every seasonal shape the studies need is present.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

RETAIL_FILE = Path("online-retail-sample") / "online_retail_uci_sample40k.csv"

# First match wins: more specific categories come first.
_CATEGORY_KEYWORDS: list[tuple[str, tuple[str, ...]]] = [
    ("Christmas", ("CHRISTMAS", "XMAS", "ADVENT", "SANTA", "REINDEER", "SNOWFLAKE", "BAUBLE", "NOEL", "NATIVITY",
                   "SNOW ", "ANGEL", "STOCKING", "TREE DEC")),
    ("Winter Warmers", ("HOT WATER BOTTLE", "HAND WARMER", "SCARF", "GLOVE", "KNITTED", "WOOLLY", "BLANKET",
                        "THROW", "SLIPPER", "EARMUFF", "HAT ")),
    ("Garden", ("GARDEN", "PLANT", "FLOWER POT", "SEED", "WATERING", "HERB", "TRUG", "BIRD FEEDER", "BIRD HOUSE",
                "BIRDHOUSE", "GNOME", "PLANTER", "SPADE", "RAKE", "WINDMILL", "CHIME")),
    ("Outdoor & Picnic", ("PICNIC", "BEACH", "PARASOL", "SUNGLASSES", "SPORT", "CAMPING", "DECKCHAIR", "SUMMER")),
    ("Party", ("PARTY", "BUNTING", "NAPKIN", "BALLOON", "CAKE CASES", "GIFT WRAP", "WRAP ", "RIBBON", "CONFETTI",
               "BIRTHDAY", "HEN ", "STRAWS", "PAPER CUPS", "PAPER PLATES")),
    ("Toys", ("TOY", "GAME", "DOLL", "PUZZLE", "SPACEBOY", "SKIPPING", "CHILDS", "CHILDRENS", "KIDS", "TEDDY",
              "DOMINO", "JIGSAW", "PLAYHOUSE", "SOLDIER", "NINJA", "DINOSAUR", "SKITTLES")),
    ("Bags", ("BAG", "PURSE", "SHOPPER", "TOTE", "WALLET", "BACKPACK")),
    ("Lighting", ("T-LIGHT", "TLIGHT", "LIGHT", "LANTERN", "CANDLE", "LAMP", "CHANDELIER")),
    ("Stationery", ("PEN ", "PENCIL", "NOTEBOOK", "NOTE BOOK", "STICKER", "CALENDAR", "DIARY", "ERASER", "RULER",
                    "CARD", "PAPER", "ENVELOPE", "STAMP", "JOURNAL", "CRAYON")),
    ("Kitchen", ("CAKE", "MUG", "TEA", "CUP", "PLATE", "BOWL", "JAR", "TIN", "SPOON", "KITCHEN", "BAKING",
                 "LUNCH BOX", "JUG", "APRON", "COASTER", "TRAY", "BOTTLE", "RECIPE", "JAM", "COOKIE", "GLASS",
                 "CUTLERY", "OVEN", "CHOPSTICK", "EGG", "CAKESTAND", "POPCORN", "DISH", "TOAST")),
]
HOME_DECOR = "Home Decor"

_COLOURS = ["Black", "Navy", "Camel", "Olive", "Charcoal", "Burgundy", "Forest Green", "Stone", "Red", "Mustard"]
_COAT_KINDS = [("Wool Duffle Coat", 95), ("Quilted Puffer Jacket", 79), ("Waxed Field Jacket", 129),
               ("Trench Coat", 110), ("Insulated Parka", 159), ("Fleece-Lined Raincoat", 69), ("Pea Coat", 99)]
_GADGETS = [("Wireless Earbuds", 59), ("Bluetooth Speaker", 45), ("E-Reader", 119), ("Smart Watch", 179),
            ("Portable Charger", 29), ("Digital Photo Frame", 69), ("Noise-Cancelling Headphones", 199),
            ("Action Camera", 149), ("Smart Plug Twin Pack", 25), ("Games Controller", 55), ("Tablet 10 inch", 229)]
_GADGET_BRANDS = ["Aurora", "Nimbus", "Vertex", "Koda", "Lumen", "Pulse"]


@dataclass(frozen=True)
class CatalogueProduct:
    sku: str
    name: str
    category: str
    price_cents: int
    description: str
    source: str  # "uci-online-retail" or "generated"


def categorise(description: str) -> str:
    """The shop category of a UCI Online Retail description, by keywords (``Home Decor`` when nothing matches)."""
    text = f" {description.upper()} "
    for category, keywords in _CATEGORY_KEYWORDS:
        if any(keyword in text for keyword in keywords):
            return category
    return HOME_DECOR


def _title(description: str) -> str:
    words = re.sub(r"\s+", " ", description.strip().strip(".")).split(" ")
    small = {"OF", "AND", "WITH", "IN", "THE", "A", "FOR", "ON"}
    out = [w.capitalize() if (i == 0 or w not in small) else w.lower() for i, w in enumerate(words)]
    return " ".join(out).replace("T-light", "T-Light")


def retail_products(path: Path) -> list[CatalogueProduct]:
    """Distinct real products of the UCI Online Retail sample, with their median unit price."""
    frame = pd.read_csv(path, dtype={"StockCode": "str", "Description": "str"})
    frame = frame[(frame["Quantity"] > 0) & (frame["UnitPrice"] >= 0.1) & (frame["UnitPrice"] <= 100)]
    frame = frame[frame["StockCode"].str.fullmatch(r"\d{5}[A-Z]?", na=False)]
    frame = frame[frame["Description"].str.fullmatch(r"[A-Z0-9 ,.'&/+\-()]{6,}", na=False)]
    grouped = frame.groupby("StockCode").agg(description=("Description", "first"), price=("UnitPrice", "median"))
    products = []
    for code, row in grouped.sort_index().iterrows():
        name = _title(row["description"])
        category = categorise(row["description"])
        products.append(CatalogueProduct(
            sku=f"UCI-{code}", name=name, category=category, price_cents=int(round(row["price"] * 100)),
            description=f"{name}. From our {category.lower()} range.", source="uci-online-retail",
        ))
    return products


def generated_products(rng: np.random.Generator, *, per_category: int, categories: list[str]) -> list[CatalogueProduct]:
    """Products with made-up names for ``categories`` (coats and electronics use their own vocabularies)."""
    products: list[CatalogueProduct] = []
    generic = ["Set", "Holder", "Organiser", "Frame", "Tin", "Box", "Basket", "Jar", "Tray", "Sign"]
    for category in categories:
        for i in range(per_category):
            if category == "Coats":
                kind, base = _COAT_KINDS[i % len(_COAT_KINDS)]
                name = f"{_COLOURS[int(rng.integers(len(_COLOURS)))]} {kind}"
            elif category == "Electronics":
                kind, base = _GADGETS[i % len(_GADGETS)]
                name = f"{_GADGET_BRANDS[int(rng.integers(len(_GADGET_BRANDS)))]} {kind}"
            else:
                base = float(rng.choice([2, 3, 5, 8, 12]))
                name = f"{_COLOURS[int(rng.integers(len(_COLOURS)))]} {category} {generic[i % len(generic)]}"
            price = max(0.5, base * float(rng.lognormal(0.0, 0.2)))
            sku = f"GEN-{category[:3].upper()}-{i + 1:04d}"
            products.append(CatalogueProduct(sku=sku, name=f"{name} No. {i + 1}" if category not in ("Coats", "Electronics") else name,
                                              category=category, price_cents=int(round(price * 100)) // 10 * 10 + 9,
                                              description=f"{name}. From our {category.lower()} range.",
                                              source="generated"))
    return products


def build_catalogue(rng: np.random.Generator, *, reference_dir: Path | None, max_products: int) -> list[CatalogueProduct]:
    """The catalogue to seed: up to ``max_products`` real products plus generated coats and electronics.

    Without the reference data every category is generated.
    """
    path = reference_dir / RETAIL_FILE if reference_dir else None
    if path is not None and path.is_file():
        real = retail_products(path)
        if len(real) > max_products:
            keep = np.sort(rng.choice(len(real), size=max_products, replace=False))
            real = [real[i] for i in keep]
        extra = generated_products(rng, per_category=max(6, max_products // 40), categories=["Coats", "Electronics"])
        return real + extra
    categories = [c for c, _ in _CATEGORY_KEYWORDS] + [HOME_DECOR, "Coats", "Electronics"]
    return generated_products(rng, per_category=max(4, max_products // len(categories)), categories=categories)
