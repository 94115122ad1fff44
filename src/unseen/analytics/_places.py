"""Where generated card holders live and merchants trade: US cities, cities abroad, street names.

Coordinates are rounded city centres; the zip is one of the city's real zip codes, written later as a float
("58523.0") and without leading zeros, as the Kaggle file does. Population weights (millions, roughly) decide how
many card holders and merchants a city gets. Abroad, ``merchant_state`` holds the country name and ``zip`` is blank.
"""

from __future__ import annotations

import numpy as np

# city, state, latitude, longitude, zip, population weight
US_CITIES: tuple[tuple[str, str, float, float, int, float], ...] = (
    ("New York", "NY", 40.71, -74.01, 10001, 8.4), ("Los Angeles", "CA", 34.05, -118.24, 90012, 4.0),
    ("Chicago", "IL", 41.88, -87.63, 60601, 2.7), ("Houston", "TX", 29.76, -95.37, 77002, 2.3),
    ("Phoenix", "AZ", 33.45, -112.07, 85004, 1.6), ("Philadelphia", "PA", 39.95, -75.17, 19103, 1.6),
    ("San Antonio", "TX", 29.42, -98.49, 78205, 1.5), ("San Diego", "CA", 32.72, -117.16, 92101, 1.4),
    ("Dallas", "TX", 32.78, -96.80, 75201, 1.3), ("San Jose", "CA", 37.34, -121.89, 95113, 1.0),
    ("Austin", "TX", 30.27, -97.74, 78701, 0.95), ("Jacksonville", "FL", 30.33, -81.66, 32202, 0.9),
    ("Columbus", "OH", 39.96, -83.00, 43215, 0.9), ("Indianapolis", "IN", 39.77, -86.16, 46204, 0.87),
    ("Charlotte", "NC", 35.23, -80.84, 28202, 0.87), ("San Francisco", "CA", 37.77, -122.42, 94103, 0.87),
    ("Seattle", "WA", 47.61, -122.33, 98101, 0.75), ("Denver", "CO", 39.74, -104.99, 80202, 0.72),
    ("Washington", "DC", 38.91, -77.04, 20001, 0.7), ("Boston", "MA", 42.36, -71.06, 2108, 0.69),
    ("El Paso", "TX", 31.76, -106.49, 79901, 0.68), ("Nashville", "TN", 36.16, -86.78, 37203, 0.67),
    ("Detroit", "MI", 42.33, -83.05, 48226, 0.67), ("Oklahoma City", "OK", 35.47, -97.52, 73102, 0.65),
    ("Portland", "OR", 45.52, -122.68, 97204, 0.65), ("Las Vegas", "NV", 36.17, -115.14, 89101, 0.64),
    ("Memphis", "TN", 35.15, -90.05, 38103, 0.65), ("Louisville", "KY", 38.25, -85.76, 40202, 0.62),
    ("Baltimore", "MD", 39.29, -76.61, 21202, 0.6), ("Milwaukee", "WI", 43.04, -87.91, 53202, 0.59),
    ("Albuquerque", "NM", 35.08, -106.65, 87102, 0.56), ("Tucson", "AZ", 32.22, -110.97, 85701, 0.54),
    ("Fresno", "CA", 36.74, -119.79, 93721, 0.53), ("Sacramento", "CA", 38.58, -121.49, 95814, 0.5),
    ("Kansas City", "MO", 39.10, -94.58, 64106, 0.49), ("Atlanta", "GA", 33.75, -84.39, 30303, 0.49),
    ("Miami", "FL", 25.76, -80.19, 33130, 0.47), ("Raleigh", "NC", 35.78, -78.64, 27601, 0.46),
    ("Omaha", "NE", 41.26, -95.94, 68102, 0.47), ("Minneapolis", "MN", 44.98, -93.27, 55401, 0.42),
    ("Tulsa", "OK", 36.15, -95.99, 74103, 0.4), ("Cleveland", "OH", 41.50, -81.69, 44113, 0.38),
    ("Wichita", "KS", 37.69, -97.34, 67202, 0.39), ("New Orleans", "LA", 29.95, -90.07, 70112, 0.39),
    ("Tampa", "FL", 27.95, -82.46, 33602, 0.39), ("Honolulu", "HI", 21.31, -157.86, 96813, 0.35),
    ("Anchorage", "AK", 61.22, -149.90, 99501, 0.29), ("Pittsburgh", "PA", 40.44, -80.00, 15222, 0.3),
    ("Cincinnati", "OH", 39.10, -84.51, 45202, 0.3), ("St. Louis", "MO", 38.63, -90.20, 63101, 0.3),
    ("Orlando", "FL", 28.54, -81.38, 32801, 0.28), ("Salt Lake City", "UT", 40.76, -111.89, 84101, 0.2),
    ("Richmond", "VA", 37.54, -77.44, 23219, 0.23), ("Birmingham", "AL", 33.52, -86.80, 35203, 0.21),
    ("Boise", "ID", 43.62, -116.20, 83702, 0.23), ("Spokane", "WA", 47.66, -117.43, 99201, 0.22),
    ("Des Moines", "IA", 41.59, -93.62, 50309, 0.21), ("Little Rock", "AR", 34.75, -92.29, 72201, 0.2),
    ("Buffalo", "NY", 42.89, -78.88, 14202, 0.26), ("Rochester", "NY", 43.16, -77.61, 14604, 0.21),
    ("Albany", "NY", 42.65, -73.76, 12207, 0.1), ("Syracuse", "NY", 43.05, -76.15, 13202, 0.14),
    ("Hartford", "CT", 41.76, -72.67, 6103, 0.12), ("Providence", "RI", 41.82, -71.41, 2903, 0.18),
    ("Newark", "NJ", 40.74, -74.17, 7102, 0.28), ("Jersey City", "NJ", 40.73, -74.08, 7302, 0.26),
    ("Charleston", "SC", 32.78, -79.93, 29401, 0.14), ("Columbia", "SC", 34.00, -81.03, 29201, 0.13),
    ("Savannah", "GA", 32.08, -81.09, 31401, 0.15), ("Augusta", "GA", 33.47, -81.97, 30901, 0.2),
    ("Jackson", "MS", 32.30, -90.18, 39201, 0.16), ("Baton Rouge", "LA", 30.45, -91.15, 70801, 0.22),
    ("Shreveport", "LA", 32.53, -93.75, 71101, 0.19), ("Knoxville", "TN", 35.96, -83.92, 37902, 0.19),
    ("Chattanooga", "TN", 35.05, -85.31, 37402, 0.18), ("Lexington", "KY", 38.04, -84.50, 40507, 0.32),
    ("Madison", "WI", 43.07, -89.40, 53703, 0.26), ("Green Bay", "WI", 44.51, -88.01, 54301, 0.1),
    ("Grand Rapids", "MI", 42.96, -85.67, 49503, 0.2), ("Lansing", "MI", 42.73, -84.56, 48933, 0.12),
    ("Ann Arbor", "MI", 42.28, -83.74, 48104, 0.12), ("Fort Wayne", "IN", 41.08, -85.14, 46802, 0.26),
    ("Toledo", "OH", 41.65, -83.54, 43604, 0.27), ("Akron", "OH", 41.08, -81.52, 44308, 0.2),
    ("Dayton", "OH", 39.76, -84.19, 45402, 0.14), ("Springfield", "IL", 39.80, -89.64, 62701, 0.11),
    ("Peoria", "IL", 40.69, -89.59, 61602, 0.11), ("Rockford", "IL", 42.27, -89.09, 61101, 0.15),
    ("Sioux Falls", "SD", 43.55, -96.73, 57104, 0.18), ("Fargo", "ND", 46.88, -96.79, 58102, 0.12),
    ("Bismarck", "ND", 46.81, -100.78, 58501, 0.07), ("Beulah", "ND", 47.26, -101.78, 58523, 0.01),
    ("Billings", "MT", 45.78, -108.50, 59101, 0.11), ("Missoula", "MT", 46.87, -113.99, 59802, 0.07),
    ("Cheyenne", "WY", 41.14, -104.82, 82001, 0.06), ("Casper", "WY", 42.87, -106.31, 82601, 0.06),
    ("Colorado Springs", "CO", 38.83, -104.82, 80903, 0.47), ("Fort Collins", "CO", 40.59, -105.08, 80521, 0.17),
    ("Santa Fe", "NM", 35.69, -105.94, 87501, 0.08), ("Reno", "NV", 39.53, -119.81, 89501, 0.25),
    ("Henderson", "NV", 36.04, -114.98, 89015, 0.3), ("Mesa", "AZ", 33.42, -111.83, 85201, 0.5),
    ("Flagstaff", "AZ", 35.20, -111.65, 86001, 0.07), ("Eugene", "OR", 44.05, -123.09, 97401, 0.17),
    ("Salem", "OR", 44.94, -123.04, 97301, 0.17), ("Tacoma", "WA", 47.25, -122.44, 98402, 0.21),
    ("Bakersfield", "CA", 35.37, -119.02, 93301, 0.38), ("Riverside", "CA", 33.95, -117.40, 92501, 0.33),
    ("Oakland", "CA", 37.80, -122.27, 94612, 0.43), ("Long Beach", "CA", 33.77, -118.19, 90802, 0.47),
    ("Santa Ana", "CA", 33.75, -117.87, 92701, 0.33), ("Anaheim", "CA", 33.84, -117.91, 92805, 0.35),
    ("Pasadena", "CA", 34.15, -118.14, 91101, 0.14), ("West Covina", "CA", 34.07, -117.94, 91790, 0.1),
    ("La Verne", "CA", 34.10, -117.77, 91750, 0.03), ("Stockton", "CA", 37.96, -121.29, 95202, 0.31),
    ("Fort Worth", "TX", 32.76, -97.33, 76102, 0.9), ("Arlington", "TX", 32.74, -97.11, 76010, 0.4),
    ("Corpus Christi", "TX", 27.80, -97.40, 78401, 0.32), ("Lubbock", "TX", 33.58, -101.86, 79401, 0.26),
    ("Laredo", "TX", 27.53, -99.49, 78040, 0.26), ("Plano", "TX", 33.02, -96.70, 75074, 0.29),
    ("Amarillo", "TX", 35.22, -101.83, 79101, 0.2), ("Fort Lauderdale", "FL", 26.12, -80.14, 33301, 0.18),
    ("St. Petersburg", "FL", 27.77, -82.64, 33701, 0.26), ("Tallahassee", "FL", 30.44, -84.28, 32301, 0.19),
    ("Pensacola", "FL", 30.42, -87.22, 32502, 0.05), ("Virginia Beach", "VA", 36.85, -75.98, 23451, 0.45),
    ("Norfolk", "VA", 36.85, -76.29, 23510, 0.24), ("Greensboro", "NC", 36.07, -79.79, 27401, 0.29),
    ("Durham", "NC", 35.99, -78.90, 27701, 0.27), ("Wilmington", "NC", 34.23, -77.94, 28401, 0.12),
    ("Asheville", "NC", 35.60, -82.55, 28801, 0.09), ("Manchester", "NH", 42.99, -71.46, 3101, 0.11),
    ("Portland", "ME", 43.66, -70.26, 4101, 0.07), ("Burlington", "VT", 44.48, -73.21, 5401, 0.04),
    ("Wilmington", "DE", 39.74, -75.55, 19801, 0.07), ("Allentown", "PA", 40.60, -75.47, 18101, 0.12),
    ("Erie", "PA", 42.13, -80.09, 16501, 0.1), ("Scranton", "PA", 41.41, -75.66, 18503, 0.08),
    ("Worcester", "MA", 42.26, -71.80, 1608, 0.18), ("Springfield", "MA", 42.10, -72.59, 1103, 0.15),
    ("Bettendorf", "IA", 41.52, -90.52, 52722, 0.03), ("Cedar Rapids", "IA", 41.98, -91.67, 52401, 0.13),
    ("Topeka", "KS", 39.05, -95.68, 66603, 0.13), ("Lincoln", "NE", 40.81, -96.70, 68508, 0.28),
    ("Springfield", "MO", 37.21, -93.29, 65806, 0.17), ("Huntsville", "AL", 34.73, -86.59, 35801, 0.19),
    ("Mobile", "AL", 30.69, -88.04, 36602, 0.19), ("Montgomery", "AL", 32.38, -86.30, 36104, 0.2),
    ("Charleston", "WV", 38.35, -81.63, 25301, 0.05), ("Fairbanks", "AK", 64.84, -147.72, 99701, 0.03),
    ("Hilo", "HI", 19.72, -155.09, 96720, 0.04),
)

# city, country (written to merchant_state), latitude, longitude, travel weight, fraud weight
FOREIGN_CITIES: tuple[tuple[str, str, float, float, float, float], ...] = (
    ("Cancun", "Mexico", 21.16, -86.85, 3.0, 1.0), ("Mexico City", "Mexico", 19.43, -99.13, 1.5, 1.5),
    ("Toronto", "Canada", 43.65, -79.38, 2.0, 0.8), ("Vancouver", "Canada", 49.28, -123.12, 1.5, 0.6),
    ("London", "United Kingdom", 51.51, -0.13, 2.5, 1.2), ("Paris", "France", 48.86, 2.35, 2.0, 1.0),
    ("Rome", "Italy", 41.90, 12.50, 1.8, 0.8), ("Madrid", "Spain", 40.42, -3.70, 1.0, 0.8),
    ("Berlin", "Germany", 52.52, 13.40, 0.8, 0.8), ("Amsterdam", "Netherlands", 52.37, 4.90, 0.8, 1.0),
    ("Dublin", "Ireland", 53.35, -6.26, 0.8, 0.6), ("Athens", "Greece", 37.98, 23.73, 0.6, 0.6),
    ("Tokyo", "Japan", 35.68, 139.69, 0.8, 0.4), ("Seoul", "South Korea", 37.57, 126.98, 0.4, 0.6),
    ("Hong Kong", "Hong Kong", 22.32, 114.17, 0.4, 1.5), ("Bangkok", "Thailand", 13.76, 100.50, 0.5, 1.5),
    ("Manila", "Philippines", 14.60, 120.98, 0.4, 2.0), ("Dubai", "United Arab Emirates", 25.20, 55.27, 0.4, 1.2),
    ("Istanbul", "Turkey", 41.01, 28.98, 0.3, 1.5), ("Moscow", "Russia", 55.76, 37.62, 0.2, 2.5),
    ("Kiev", "Ukraine", 50.45, 30.52, 0.1, 2.5), ("Bucharest", "Romania", 44.43, 26.10, 0.1, 2.5),
    ("Lagos", "Nigeria", 6.52, 3.38, 0.1, 3.0), ("Sao Paulo", "Brazil", -23.55, -46.63, 0.3, 1.8),
    ("Bogota", "Colombia", 4.71, -74.07, 0.3, 1.5), ("Lima", "Peru", -12.05, -77.04, 0.3, 1.0),
    ("San Jose", "Costa Rica", 9.93, -84.08, 0.6, 0.6), ("Santo Domingo", "Dominican Republic", 18.49, -69.93,
                                                              0.6, 1.2),
    ("Kingston", "Jamaica", 18.02, -76.80, 0.8, 1.0), ("Nassau", "Bahamas", 25.05, -77.35, 1.0, 0.6),
)

STREET_NAMES: tuple[str, ...] = (
    "Rose", "Federal", "Valley Stream", "Oak", "Maple", "Cedar", "Pine", "Elm", "Washington", "Lake", "Hill",
    "Park", "Main", "Church", "Spring", "Highland", "Sunset", "River", "Forest", "Meadow", "Jefferson", "Lincoln",
    "Madison", "Franklin", "Willow", "Birch", "Chestnut", "Walnut", "Mill", "Ridge", "Grove", "Prospect", "Center",
    "Broad", "Cherry", "Dogwood", "Magnolia", "Hickory", "Laurel", "Sycamore", "Bay", "Summit", "Country Club",
    "Railroad", "Fairview", "Lakeview", "Mountain View", "Pleasant", "King", "Queen",
)
STREET_SUFFIXES: tuple[str, ...] = (
    "Street", "Avenue", "Lane", "Drive", "Boulevard", "Road", "Court", "Way", "Place", "Terrace",
)


def us_city_arrays() -> dict[str, np.ndarray]:
    """The US cities as parallel arrays."""
    return {
        "name": np.array([c[0] for c in US_CITIES]),
        "state": np.array([c[1] for c in US_CITIES]),
        "lat": np.array([c[2] for c in US_CITIES]),
        "lon": np.array([c[3] for c in US_CITIES]),
        "zip": np.array([c[4] for c in US_CITIES], dtype=np.int64),
        "weight": np.array([c[5] for c in US_CITIES]),
    }


def foreign_city_arrays() -> dict[str, np.ndarray]:
    """The cities abroad as parallel arrays."""
    return {
        "name": np.array([c[0] for c in FOREIGN_CITIES]),
        "country": np.array([c[1] for c in FOREIGN_CITIES]),
        "lat": np.array([c[2] for c in FOREIGN_CITIES]),
        "lon": np.array([c[3] for c in FOREIGN_CITIES]),
        "travel_weight": np.array([c[4] for c in FOREIGN_CITIES]),
        "fraud_weight": np.array([c[5] for c in FOREIGN_CITIES]),
    }


def distance_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance (haversine) in kilometres; arguments broadcast."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
