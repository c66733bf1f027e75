"""Small built-in name, domain and postcode lists, by country, with their email slugs."""

from __future__ import annotations

import unicodedata

FIRST_NAMES: dict[str, tuple[str, ...]] = {
    "ES": (
        "José",
        "María",
        "Lucía",
        "Javier",
        "Carmen",
        "Álvaro",
        "Sofía",
        "Ana",
        "David",
        "Marta",
        "Pablo",
        "Laura",
        "Sergio",
        "Elena",
        "Raúl",
        "Nuria",
        "Iñigo",
        "Begoña",
        "Jesús",
        "Ángela",
    ),
    "FR": (
        "Zoë",
        "Chloé",
        "Léa",
        "Hélène",
        "Amélie",
        "Camille",
        "Manon",
        "Inès",
        "Noël",
        "Jérôme",
        "François",
        "Julien",
        "Lucas",
        "Hugo",
        "Théo",
        "Gaël",
        "Benoît",
        "Émile",
        "Clément",
        "Anaïs",
    ),
    "DE": (
        "Jürgen",
        "Jörg",
        "Björn",
        "Günter",
        "Uwe",
        "Lukas",
        "Leon",
        "Finn",
        "Jonas",
        "Paul",
        "Anna",
        "Lena",
        "Lea",
        "Hannah",
        "Sophie",
        "Maximilian",
        "Käthe",
        "Anneliese",
        "Sören",
        "Mia",
    ),
    "GB": (
        "Oliver",
        "George",
        "Harry",
        "Jack",
        "Noah",
        "Amelia",
        "Olivia",
        "Isla",
        "Ava",
        "Emily",
        "Zoë",
        "Siobhán",
        "Niamh",
        "Seán",
        "Chloe",
        "Freya",
        "Arthur",
        "Charlie",
        "Grace",
        "Ruby",
    ),
}

LAST_NAMES: dict[str, tuple[str, ...]] = {
    "ES": (
        "García",
        "Fernández",
        "González",
        "Rodríguez",
        "López",
        "Martínez",
        "Sánchez",
        "Pérez",
        "Gómez",
        "Martín",
        "Jiménez",
        "Ruiz",
        "Hernández",
        "Díaz",
        "Moreno",
        "Muñoz",
        "Álvarez",
        "Romero",
        "Navarro",
        "Torres",
        "de la Fuente",
        "Núñez",
    ),
    "FR": (
        "Martin",
        "Bernard",
        "Dubois",
        "Thomas",
        "Robert",
        "Richard",
        "Petit",
        "Durand",
        "Leroy",
        "Moreau",
        "Simon",
        "Laurent",
        "Lefèvre",
        "Michel",
        "Garnier",
        "Faure",
        "Rousseau",
        "Blanc",
        "Guérin",
        "Bézier",
    ),
    "DE": (
        "Müller",
        "Schmidt",
        "Schneider",
        "Fischer",
        "Weber",
        "Meyer",
        "Wagner",
        "Becker",
        "Schulz",
        "Hoffmann",
        "Schäfer",
        "Koch",
        "Bauer",
        "Richter",
        "Klein",
        "Wolf",
        "Schröder",
        "Neumann",
        "Groß",
        "Zimmermann",
    ),
    "GB": (
        "Smith",
        "Jones",
        "Williams",
        "Taylor",
        "Brown",
        "Davies",
        "Evans",
        "Wilson",
        "Thomas",
        "Johnson",
        "Roberts",
        "Walker",
        "Wright",
        "Robinson",
        "Thompson",
        "White",
        "Hughes",
        "Edwards",
        "O'Brien",
        "Green",
    ),
}

EMAIL_DOMAINS: tuple[str, ...] = ("example.com", "example.org", "example.net")
EMAIL_DOMAIN_WEIGHTS: tuple[float, ...] = (0.5, 0.3, 0.2)
# A changed address lives in its own domains so it can never equal someone else's first address.
CHANGED_EMAIL_DOMAINS: tuple[str, ...] = ("mail.example.com", "post.example.net")
DUPLICATE_EMAIL_TAGS: tuple[str, ...] = ("+shop", "+news", "+1")

GB_OUTWARD: tuple[str, ...] = ("SW1A", "EC1A", "W1D", "M1", "B33", "LS6", "EH1", "CF10", "G2", "BS8", "NE1", "L1")
GB_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

CATEGORIES: tuple[str, ...] = ("shoes", "dresses", "shirts", "jackets", "bags", "accessories", "sale", "new-in")
HELP_PAGES: tuple[str, ...] = ("/help/returns", "/help/shipping", "/help/contact", "/help/sizes")
REFERRERS: tuple[str, ...] = (
    "https://www.google.com/",
    "https://www.bing.com/",
    "https://www.facebook.com/",
    "https://www.instagram.com/",
    "https://t.co/",
)
# Share of non-campaign sessions by referrer; the remainder arrive direct (no referrer).
REFERRER_WEIGHTS: tuple[float, ...] = (0.35, 0.05, 0.08, 0.07, 0.02)
TICKET_CATEGORIES: tuple[str, ...] = ("delivery", "returns", "billing", "product", "account")
TICKET_CATEGORY_WEIGHTS: tuple[float, ...] = (0.35, 0.25, 0.15, 0.15, 0.10)

_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def slug(name: str, country: str) -> str:
    """The ASCII email form of a name: José → jose, Müller → mueller, O'Brien → obrien."""
    text = name.lower()
    if country == "DE":
        text = text.translate(_GERMAN)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(ch for ch in text if ch.isalnum())


def name_table(countries: tuple[str, ...]) -> dict[str, list]:
    """Flat name lists over the given countries: per row its country index, name and slug."""
    out: dict[str, list] = {
        "first_country": [],
        "first": [],
        "first_slug": [],
        "last_country": [],
        "last": [],
        "last_slug": [],
    }
    for ci, code in enumerate(countries):
        for name in FIRST_NAMES.get(code, FIRST_NAMES["GB"]):
            out["first_country"].append(ci)
            out["first"].append(name)
            out["first_slug"].append(slug(name, code))
        for name in LAST_NAMES.get(code, LAST_NAMES["GB"]):
            out["last_country"].append(ci)
            out["last"].append(name)
            out["last_slug"].append(slug(name, code))
    return out
