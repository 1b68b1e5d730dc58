-- One INSERT per business table, in the column order of schema.sql.
-- Times arrive as integer seconds of naive local time; datetime(?, 'unixepoch') writes them as
-- 'YYYY-MM-DD HH:MM:SS'.

-- @section customers
INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, datetime(?, 'unixepoch'))

-- @section employees
INSERT INTO employees VALUES (?, ?, ?, ?)

-- @section applications
INSERT INTO applications VALUES (?, ?, ?, ?, datetime(?, 'unixepoch'), ?, ?)

-- @section status_history
INSERT INTO status_history VALUES (?, ?, ?, datetime(?, 'unixepoch'), ?)

-- @section contacts
INSERT INTO contacts VALUES (?, ?, ?, datetime(?, 'unixepoch'), ?, ?, ?, ?, ?, ?, ?)

-- @section document_requests
-- received_at is bound twice: -1 (not received) becomes NULL.
INSERT INTO document_requests VALUES (?, ?, ?, datetime(?, 'unixepoch'), ?,
    CASE WHEN ? < 0 THEN NULL ELSE datetime(?, 'unixepoch') END, ?)

-- @section decisions
INSERT INTO decisions VALUES (?, ?, ?, ?, datetime(?, 'unixepoch'), ?)

-- @section payments
INSERT INTO payments VALUES (?, ?, datetime(?, 'unixepoch'), ?, ?)
