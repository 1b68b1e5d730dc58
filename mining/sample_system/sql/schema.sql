-- The tables of the loan-origination system (SQLite). Indexes come after the bulk insert: indexes.sql.
CREATE TABLE customers (
    customer_id       INTEGER PRIMARY KEY,
    name              TEXT NOT NULL,
    birth_year        INTEGER NOT NULL,
    segment           TEXT NOT NULL,
    preferred_channel TEXT NOT NULL,
    city              TEXT NOT NULL,
    created_at        TEXT NOT NULL
);
CREATE TABLE employees (
    employee_id INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    team        TEXT NOT NULL,
    role        TEXT NOT NULL
);
CREATE TABLE applications (
    application_id     INTEGER PRIMARY KEY,
    customer_id        INTEGER NOT NULL REFERENCES customers,
    product            TEXT NOT NULL,
    amount_requested   INTEGER NOT NULL,
    submitted_at       TEXT NOT NULL,
    submission_channel TEXT NOT NULL,
    final_status       TEXT NOT NULL
);
CREATE TABLE status_history (
    history_id     INTEGER PRIMARY KEY,
    application_id INTEGER NOT NULL REFERENCES applications,
    status         TEXT NOT NULL,
    changed_at     TEXT NOT NULL,
    changed_by     INTEGER NOT NULL REFERENCES employees
);
CREATE TABLE contacts (
    contact_id         INTEGER PRIMARY KEY,
    application_id     INTEGER NOT NULL REFERENCES applications,
    customer_id        INTEGER NOT NULL REFERENCES customers,
    contact_at         TEXT NOT NULL,
    channel            TEXT NOT NULL,
    direction          TEXT NOT NULL,
    purpose            TEXT NOT NULL,
    employee_id        INTEGER NOT NULL REFERENCES employees,
    automated          INTEGER NOT NULL,
    wait_minutes       REAL,
    customer_sentiment TEXT
);
CREATE TABLE document_requests (
    request_id     INTEGER PRIMARY KEY,
    application_id INTEGER NOT NULL REFERENCES applications,
    document_type  TEXT NOT NULL,
    requested_at   TEXT NOT NULL,
    requested_via  TEXT NOT NULL,
    received_at    TEXT,
    requested_by   INTEGER NOT NULL REFERENCES employees
);
CREATE TABLE decisions (
    decision_id    INTEGER PRIMARY KEY,
    application_id INTEGER NOT NULL REFERENCES applications,
    decision_type  TEXT NOT NULL,
    outcome        TEXT NOT NULL,
    decided_at     TEXT NOT NULL,
    decided_by     INTEGER NOT NULL REFERENCES employees
);
CREATE TABLE payments (
    payment_id     INTEGER PRIMARY KEY,
    application_id INTEGER NOT NULL REFERENCES applications,
    paid_at        TEXT NOT NULL,
    amount         INTEGER NOT NULL,
    iban_masked    TEXT NOT NULL
);
