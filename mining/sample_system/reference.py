"""Reference data of the sample system: code lists, names, cities, banks, teams and tables.

The simulation stores an index into a code list; the database holds its text.
"""

from __future__ import annotations

# Code lists: the index is what the simulation stores, the text is what the database holds.
CHANNELS = ("phone", "email", "letter", "portal", "branch")
PHONE, EMAIL, LETTER, PORTAL, BRANCH = range(5)
PREFERRED = ("email", "portal", "letter", "phone")  # customers.preferred_channel
P_PREF_YOUNG, P_PREF_OLD = (0.45, 0.30, 0.12, 0.13), (0.35, 0.12, 0.40, 0.13)
SEGMENTS = ("new", "existing", "premium")
PRODUCTS = ("personal_loan", "car_loan", "renovation_loan")
SUBMIT = ("portal", "branch", "phone")  # applications.submission_channel
PURPOSES = (
    "confirmation",
    "courtesy_call",
    "status_enquiry",
    "decision_notice",
    "offer",
    "offer_acceptance",
    "withdrawal",
    "payout_confirmation",
)
CONFIRM, COURTESY, ENQUIRY, NOTICE, OFFER, ACCEPT, WITHDRAW, PAYCONF = range(8)
STATUSES = ("REGISTERED", "CREDIT_CHECK_DONE", "DOUBLE_CHECK_DONE", "CONTRACT_PREPARED")
SENTIMENTS = ("positive", "neutral", "negative")
DOC_TYPES = (
    "proof_of_income",
    "identity_document",
    "bank_statements",
    "payslip",
    "employer_statement",
)
DOC_FIRST, DOC_REPEAT = (0, 1, 2), (3, 2, 4, 1)  # what is asked first, and what is asked again
FINAL = ("paid_out", "declined", "withdrawn")

FIRST_NAMES = (
    "Anna", "Bram", "Charlotte", "Daan", "Emma", "Finn", "Julia", "Lars", "Lotte", "Luuk",
    "Maria", "Milan", "Noah", "Olivia", "Ruben", "Sanne", "Sem", "Sophie", "Thijs", "Tess",
    "Willem", "Yara", "Jan", "Ingrid", "Pieter", "Fatima", "Mohamed", "Eva", "Kees", "Nina",
)  # fmt: skip
LAST_NAMES = (
    "de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen", "Visser",
    "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks",
    "van Leeuwen", "Dekker", "Brouwer", "de Wit", "Dijkstra", "Smits", "de Graaf", "van der Meer",
)  # fmt: skip
CITIES = (
    "Amsterdam", "Rotterdam", "Den Haag", "Utrecht", "Eindhoven", "Groningen", "Tilburg",
    "Almere", "Breda", "Nijmegen", "Haarlem", "Arnhem", "Zwolle", "Leiden", "Maastricht",
)  # fmt: skip
BANKS = ("INGB", "RABO", "ABNA", "SNSB", "ASNB", "TRIO", "KNAB", "BUNQ")

# Employees: (team, role, how many). employee_id 1 is the SYSTEM user for automated steps.
TEAMS = (
    ("system", "automation", 1),
    ("front office", "customer service agent", 12),
    ("credit", "credit analyst", 8),
    ("back office", "loan administrator", 10),
    ("management", "credit manager", 3),
)
SYSTEM = 1


def _team_ranges() -> dict[str, tuple[int, int]]:
    """First and last employee_id of each team, in TEAMS order."""
    ranges, first = {}, 1
    for team, _role, count in TEAMS:
        ranges[team] = (first, first + count - 1)
        first += count
    return ranges


TEAM = _team_ranges()

# The business tables, in schema order (the order rows are inserted and counted in).
TABLES = (
    "customers",
    "employees",
    "applications",
    "status_history",
    "contacts",
    "document_requests",
    "decisions",
    "payments",
)
