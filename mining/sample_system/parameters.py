"""The parameters of the sample system: its calendar and the effects injected into it.

The injected effects are the ground truth the analytics are tested against (documented in
``ground_truth.yaml`` and ``data/sample_system/GROUND_TRUTH.md``; change them together).
"""

from __future__ import annotations

import numpy as np

# ---------------------------------------------------------------------------------------------
# Calendar
DAY = 86_400
HOUR = 3_600
BASE_DATE = "2025-01-06"  # a Monday; the first day applications can arrive
BASE = int(np.datetime64(BASE_DATE, "s").astype(np.int64))
SPAN_DAYS = 364  # applications arrive over 52 weeks, whatever n_cases is
OPEN, CLOSE = 8 * HOUR, 17 * HOUR  # office hours, Monday to Friday
CHUNK = 50_000  # cases simulated and inserted together

# ---------------------------------------------------------------------------------------------
# Injected effects (documented in GROUND_TRUTH.md; change both together)
P_DOUBLE_CHECK = 0.85  # waste (b): share of cases with an 'Internal double-check'
P_COURTESY = 0.40  # waste (c): share of cases with a 'Courtesy call', the same in every outcome
SECOND_APPROVAL_FROM = 10_000  # waste (d): approved amounts from here get a 'Second approval'
P_REPEAT = (0.34, 0.28)  # waste (a): P(another document request) after round 1 and round 2 ...
K_REPEAT = 0.06  # ... plus this per unit of frustration (at most 3 requests)

# Vicious circle. Exogenous trigger: some files are parked in a queue for 3-8 extra days.
P_PARK_INTAKE = 0.10  # before the first document request
P_PARK_UNDERWRITING = 0.15  # before the credit decision
PARK_DAYS = (3, 8)
# A bank-side wait adds K_WAIT frustration per day beyond what the customer expects for it
# (about the 75th percentile of that wait in a file that is not parked):
EXPECT_INTAKE, EXPECT_REVIEW, EXPECT_DECISION, EXPECT_OFFER, EXPECT_PAYOUT = 3.0, 2.0, 5.0, 2.0, 4.0
K_WAIT = 0.5
F_REWORK = 0.4  # having to send documents again
F_ENQUIRY = 0.3  # having to chase the bank by phone or e-mail
F_MAX = 6.0
BACKLOG = 0.60  # later bank-side waits are multiplied by (1 + BACKLOG * F)
HESITATE = 0.40  # the customer's own replies (documents, signing) by (1 + HESITATE * F)
ENQ_PER_DAY, ENQ_PER_F = 0.08, 0.15  # P(status enquiry) = 1 - exp(-(a*(wait-2 days) + b*F))
NEG_BASE, NEG_PER_F = 0.08, 0.35  # P(negative sentiment) = 1 - exp(-(base + k*F))

P_DROP_DOCS, K_DROP_DOCS = 0.008, 0.01  # withdraw while documents are outstanding
P_DROP_WAIT, K_DROP_WAIT = 0.002, 0.008  # withdraw while waiting for the credit decision
P_DROP_OFFER, K_DROP_OFFER = 0.05, 0.5  # withdraw right after 'Offer sent': base*(1+k*F) ...
LETTER_FACTOR = 4.0  # ... times this when documents were requested by letter (upstream cause)
