"""The 109 merchant category codes of the generated data, with how people spend at each.

The codes and descriptions follow ISO 18245 as card networks publish them; the Kaggle file has 109 codes too, and
the few whose description is known from public data dictionaries (5812, 5541, 7996, 5411, 5499, 5300, 5311, 5912,
4829) carry that description here. The spending columns are our own assumptions, chosen so that the mix looks like
card data: groceries, convenience stores, fuel and restaurants are frequent and cheap, airlines and hospitals rare
and expensive, digital goods and money transfer attract card-not-present fraud.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MerchantCategory:
    """One merchant category code and the spending habits attached to it in the generator."""

    code: int
    description: str
    store_weight: float
    """How often card holders pay at such a shop in person (relative; 0 means online only)."""
    online_weight: float
    """How often they pay such a merchant online (relative; 0 means in person only)."""
    median_amount: float
    """Median purchase in dollars."""
    amount_sigma: float
    """Spread of the log amount."""
    refund_share: float
    """Share of rows that are refunds (negative amounts)."""
    fraud_appeal: float
    """How much fraudsters prefer it: resale value, fast cash-out, no face to face."""


_C = MerchantCategory
MERCHANT_CATEGORIES: tuple[MerchantCategory, ...] = (
    _C(4111, "Local and Suburban Commuter Passenger Transportation, Including Ferries", 2.0, 0.3, 9, 0.5, 0.002, 0.3),
    _C(4112, "Passenger Railways", 0.4, 0.3, 45, 0.7, 0.02, 0.8),
    _C(4121, "Taxicabs and Limousines", 3.0, 0.5, 18, 0.6, 0.005, 0.6),
    _C(4131, "Bus Lines", 0.5, 0.2, 25, 0.6, 0.01, 0.3),
    _C(4411, "Steamship and Cruise Lines", 0.02, 0.1, 900, 0.7, 0.05, 1.5),
    _C(4511, "Airlines and Air Carriers", 0.2, 1.2, 320, 0.7, 0.04, 2.5),
    _C(4722, "Travel Agencies and Tour Operators", 0.1, 0.5, 400, 0.8, 0.04, 2.0),
    _C(4784, "Tolls and Bridge Fees", 4.0, 0.4, 6, 0.5, 0.0, 0.1),
    _C(4789, "Transportation Services (Not Elsewhere Classified)", 0.3, 0.2, 40, 0.8, 0.01, 0.5),
    _C(4812, "Telecommunication Equipment and Telephone Sales", 0.3, 0.5, 150, 0.8, 0.04, 2.0),
    _C(4814, "Telecommunication Services", 1.0, 2.0, 70, 0.4, 0.01, 0.8),
    _C(4816, "Computer Network and Information Services", 0.0, 1.5, 20, 0.7, 0.02, 1.5),
    _C(4829, "Money Transfer", 3.0, 3.0, 110, 0.9, 0.01, 3.0),
    _C(4899, "Cable, Satellite and Other Pay Television and Radio Services", 0.2, 2.0, 85, 0.4, 0.01, 0.6),
    _C(4900, "Utilities - Electric, Gas, Water and Sanitary", 0.8, 2.5, 120, 0.5, 0.01, 0.3),
    _C(5045, "Computers, Computer Peripheral Equipment and Software", 0.3, 1.0, 180, 0.9, 0.05, 2.5),
    _C(5094, "Precious Stones and Metals, Watches and Jewelry", 0.1, 0.3, 220, 1.0, 0.04, 2.5),
    _C(5192, "Books, Periodicals and Newspapers", 0.3, 0.8, 15, 0.6, 0.02, 0.5),
    _C(5193, "Florists' Supplies, Nursery Stock and Flowers", 0.3, 0.1, 40, 0.7, 0.02, 0.4),
    _C(5200, "Home Supply Warehouse Stores", 1.5, 0.2, 75, 0.9, 0.06, 1.2),
    _C(5211, "Lumber and Building Materials Stores", 0.6, 0.05, 90, 0.9, 0.05, 0.8),
    _C(5251, "Hardware Stores", 1.2, 0.1, 30, 0.8, 0.05, 0.6),
    _C(5261, "Lawn and Garden Supply Stores", 0.5, 0.1, 45, 0.8, 0.04, 0.5),
    _C(5300, "Wholesale Clubs", 3.0, 0.3, 95, 0.7, 0.03, 1.5),
    _C(5310, "Discount Stores", 3.0, 0.3, 35, 0.8, 0.04, 1.2),
    _C(5311, "Department Stores", 2.5, 1.0, 55, 0.8, 0.07, 2.0),
    _C(5331, "Variety Stores", 2.0, 0.1, 15, 0.7, 0.03, 0.6),
    _C(5399, "Miscellaneous General Merchandise", 1.0, 1.0, 40, 0.9, 0.05, 1.5),
    _C(5411, "Grocery Stores, Supermarkets", 12.0, 0.5, 48, 0.7, 0.02, 0.8),
    _C(5441, "Candy, Nut and Confectionery Stores", 0.4, 0.05, 9, 0.6, 0.01, 0.2),
    _C(5462, "Bakeries", 0.8, 0.0, 11, 0.6, 0.01, 0.2),
    _C(5499, "Miscellaneous Food Stores", 10.0, 0.1, 20, 0.8, 0.03, 0.8),
    _C(5511, "Car and Truck Dealers (New and Used) Sales, Service, Repairs, Parts and Leasing", 0.2, 0.0, 600, 1.0,
       0.03, 1.0),
    _C(5533, "Automotive Parts and Accessories Stores", 0.8, 0.2, 45, 0.8, 0.05, 0.6),
    _C(5541, "Service Stations", 9.0, 0.0, 38, 0.6, 0.01, 1.2),
    _C(5542, "Automated Fuel Dispensers", 3.0, 0.0, 42, 0.5, 0.0, 1.5),
    _C(5621, "Women's Ready-To-Wear Stores", 0.6, 0.5, 60, 0.7, 0.08, 1.2),
    _C(5651, "Family Clothing Stores", 1.2, 0.8, 55, 0.7, 0.08, 1.3),
    _C(5655, "Sports and Riding Apparel Stores", 0.3, 0.3, 65, 0.7, 0.07, 1.0),
    _C(5661, "Shoe Stores", 0.7, 0.6, 70, 0.6, 0.08, 1.2),
    _C(5691, "Men's and Women's Clothing Stores", 0.8, 0.8, 60, 0.7, 0.08, 1.3),
    _C(5699, "Miscellaneous Apparel and Accessory Shops", 0.5, 0.5, 40, 0.8, 0.07, 1.0),
    _C(5712, "Furniture, Home Furnishings and Equipment Stores, Except Appliances", 0.4, 0.4, 250, 0.9, 0.05, 1.2),
    _C(5719, "Miscellaneous Home Furnishing Specialty Stores", 0.4, 0.4, 45, 0.8, 0.06, 0.8),
    _C(5722, "Household Appliance Stores", 0.3, 0.3, 300, 0.8, 0.05, 1.5),
    _C(5732, "Electronics Stores", 1.0, 1.5, 120, 1.0, 0.07, 3.0),
    _C(5733, "Music Stores - Musical Instruments, Pianos and Sheet Music", 0.2, 0.2, 80, 0.9, 0.05, 1.0),
    _C(5734, "Computer Software Stores", 0.1, 0.8, 50, 0.8, 0.03, 1.5),
    _C(5735, "Record Stores", 0.1, 0.2, 18, 0.6, 0.03, 0.5),
    _C(5811, "Caterers", 0.2, 0.05, 180, 0.8, 0.02, 0.5),
    _C(5812, "Eating Places and Restaurants", 10.0, 0.6, 32, 0.7, 0.01, 0.8),
    _C(5813, "Drinking Places (Alcoholic Beverages) - Bars, Taverns, Nightclubs", 2.0, 0.0, 30, 0.7, 0.01, 0.6),
    _C(5814, "Fast Food Restaurants", 9.0, 0.5, 11, 0.5, 0.01, 0.5),
    _C(5815, "Digital Goods - Media, Books, Movies, Music", 0.0, 3.0, 10, 0.6, 0.02, 1.5),
    _C(5816, "Digital Goods - Games", 0.0, 1.5, 15, 0.8, 0.02, 2.5),
    _C(5817, "Digital Goods - Applications (Excludes Games)", 0.0, 1.5, 8, 0.7, 0.02, 2.0),
    _C(5912, "Drug Stores and Pharmacies", 5.0, 0.5, 24, 0.8, 0.03, 0.8),
    _C(5921, "Package Stores, Beer, Wine and Liquor", 1.5, 0.1, 28, 0.6, 0.01, 0.8),
    _C(5932, "Antique Shops", 0.1, 0.1, 90, 1.0, 0.03, 0.6),
    _C(5941, "Sporting Goods Stores", 0.6, 0.6, 60, 0.9, 0.06, 1.2),
    _C(5942, "Book Stores", 0.5, 0.8, 22, 0.6, 0.03, 0.6),
    _C(5943, "Stationery, Office and School Supply Stores", 0.5, 0.3, 25, 0.8, 0.04, 0.8),
    _C(5944, "Jewelry Stores, Watches, Clocks and Silverware Stores", 0.3, 0.3, 180, 1.1, 0.05, 3.0),
    _C(5945, "Hobby, Toy and Game Shops", 0.5, 0.6, 35, 0.8, 0.05, 1.0),
    _C(5947, "Gift, Card, Novelty and Souvenir Shops", 0.6, 0.3, 20, 0.8, 0.03, 0.8),
    _C(5970, "Artist's Supply and Craft Shops", 0.3, 0.2, 25, 0.8, 0.04, 0.5),
    _C(5977, "Cosmetic Stores", 0.5, 0.5, 35, 0.7, 0.05, 1.0),
    _C(5992, "Florists", 0.3, 0.3, 55, 0.6, 0.02, 0.6),
    _C(5993, "Cigar Stores and Stands", 0.5, 0.0, 14, 0.5, 0.01, 0.5),
    _C(5995, "Pet Shops, Pet Food and Supplies", 0.7, 0.4, 38, 0.7, 0.03, 0.5),
    _C(5999, "Miscellaneous and Specialty Retail Stores", 1.5, 1.5, 35, 0.9, 0.05, 1.5),
    _C(6011, "Financial Institutions - Automated Cash Disbursements", 1.5, 0.0, 80, 0.7, 0.0, 2.0),
    _C(6300, "Insurance Sales, Underwriting and Premiums", 0.2, 1.0, 140, 0.5, 0.01, 0.5),
    _C(7011, "Lodging - Hotels, Motels, Resorts", 0.8, 0.6, 160, 0.7, 0.04, 1.5),
    _C(7210, "Laundry, Cleaning and Garment Services", 0.6, 0.0, 15, 0.6, 0.01, 0.2),
    _C(7216, "Dry Cleaners", 0.4, 0.0, 22, 0.5, 0.01, 0.2),
    _C(7230, "Beauty and Barber Shops", 1.0, 0.0, 35, 0.6, 0.01, 0.3),
    _C(7276, "Tax Preparation Services", 0.1, 0.3, 150, 0.6, 0.01, 0.3),
    _C(7298, "Health and Beauty Spas", 0.3, 0.0, 85, 0.6, 0.01, 0.5),
    _C(7299, "Miscellaneous Personal Services (Not Elsewhere Classified)", 0.4, 0.3, 45, 0.9, 0.02, 0.8),
    _C(7349, "Cleaning, Maintenance and Janitorial Services", 0.2, 0.1, 110, 0.7, 0.01, 0.3),
    _C(7512, "Automobile Rental Agency", 0.2, 0.4, 150, 0.7, 0.04, 1.5),
    _C(7531, "Automotive Body Repair Shops", 0.2, 0.0, 400, 0.9, 0.02, 0.4),
    _C(7538, "Automotive Service Shops", 0.8, 0.0, 160, 0.9, 0.02, 0.5),
    _C(7542, "Car Washes", 0.8, 0.0, 14, 0.5, 0.01, 0.2),
    _C(7549, "Towing Services", 0.1, 0.0, 110, 0.6, 0.01, 0.3),
    _C(7832, "Motion Picture Theaters", 0.8, 0.5, 22, 0.5, 0.01, 0.4),
    _C(7841, "Video Tape Rental Stores", 0.2, 0.3, 6, 0.5, 0.01, 0.3),
    _C(7922, "Theatrical Producers (Except Motion Pictures) and Ticket Agencies", 0.2, 0.8, 90, 0.8, 0.03, 1.8),
    _C(7941, "Commercial Sports, Professional Sports Clubs, Athletic Fields", 0.2, 0.3, 60, 0.8, 0.02, 1.0),
    _C(7991, "Tourist Attractions and Exhibits", 0.3, 0.2, 35, 0.7, 0.01, 0.6),
    _C(7995, "Betting, including Lottery Tickets, Casino Gaming Chips, Off-Track Betting", 0.3, 0.5, 40, 1.0, 0.0,
       2.5),
    _C(7996, "Amusement Parks, Carnivals, Circuses", 0.3, 0.2, 55, 0.7, 0.01, 0.6),
    _C(7997, "Membership Clubs (Sports, Recreation, Athletic), Country Clubs", 0.4, 0.6, 50, 0.6, 0.01, 0.4),
    _C(8011, "Doctors and Physicians (Not Elsewhere Classified)", 0.8, 0.2, 120, 0.8, 0.02, 0.3),
    _C(8021, "Dentists and Orthodontists", 0.4, 0.0, 180, 0.8, 0.02, 0.3),
    _C(8041, "Chiropractors", 0.3, 0.0, 60, 0.5, 0.01, 0.2),
    _C(8043, "Opticians, Optical Goods and Eyeglasses", 0.2, 0.1, 150, 0.7, 0.03, 0.4),
    _C(8049, "Podiatrists and Chiropodists", 0.1, 0.0, 90, 0.5, 0.01, 0.2),
    _C(8062, "Hospitals", 0.3, 0.2, 250, 1.0, 0.02, 0.3),
    _C(8099, "Medical Services and Health Practitioners (Not Elsewhere Classified)", 0.4, 0.3, 110, 0.9, 0.02, 0.4),
    _C(8111, "Legal Services and Attorneys", 0.1, 0.2, 400, 0.8, 0.01, 0.3),
    _C(8299, "Schools and Educational Services (Not Elsewhere Classified)", 0.2, 0.6, 200, 1.0, 0.02, 0.5),
    _C(8931, "Accounting, Auditing and Bookkeeping Services", 0.1, 0.2, 180, 0.7, 0.01, 0.3),
    _C(9211, "Court Costs, Including Alimony and Child Support", 0.05, 0.1, 250, 0.8, 0.0, 0.1),
    _C(9222, "Fines", 0.1, 0.2, 120, 0.6, 0.0, 0.1),
    _C(9311, "Tax Payments", 0.05, 0.3, 400, 1.0, 0.0, 0.2),
    _C(9399, "Government Services (Not Elsewhere Classified)", 0.2, 0.5, 60, 0.8, 0.0, 0.3),
    _C(9402, "Postal Services - Government Only", 0.6, 0.2, 12, 0.7, 0.0, 0.2),
)

MCC_DESCRIPTIONS: dict[str, str] = {str(c.code): c.description for c in MERCHANT_CATEGORIES}
"""What the generator writes to ``mcc_codes.json``: code (as a string, like the Kaggle file) to description."""

ROUND_AMOUNT_CODES = frozenset({4829, 6011})
"""Money transfers and cash withdrawals come in round dollar amounts."""


def category_arrays() -> dict[str, np.ndarray]:
    """The table as parallel NumPy arrays, indexed like :data:`MERCHANT_CATEGORIES`."""
    return {
        "code": np.array([c.code for c in MERCHANT_CATEGORIES], dtype=np.int64),
        "store_weight": np.array([c.store_weight for c in MERCHANT_CATEGORIES]),
        "online_weight": np.array([c.online_weight for c in MERCHANT_CATEGORIES]),
        "log_median": np.log(np.array([c.median_amount for c in MERCHANT_CATEGORIES], dtype=float)),
        "sigma": np.array([c.amount_sigma for c in MERCHANT_CATEGORIES]),
        "refund_share": np.array([c.refund_share for c in MERCHANT_CATEGORIES]),
        "fraud_appeal": np.array([c.fraud_appeal for c in MERCHANT_CATEGORIES]),
        "round_amount": np.array([c.code in ROUND_AMOUNT_CODES for c in MERCHANT_CATEGORIES]),
        "fuel": np.array([c.code in (5541, 5542) for c in MERCHANT_CATEGORIES]),
    }
