-- CSV formula injection (OWASP): a spreadsheet runs a cell that starts with = + - @ (or a tab or a
-- carriage return before one) as a formula. Such text cells get a leading single quote, which the
-- spreadsheet shows as text; a real number (-3.5, +2) is left as it is. Only VARCHAR columns are
-- wrapped in this macro (numbers, dates and booleans cannot start with a formula character).
CREATE OR REPLACE TEMP MACRO mot_csv_cell(v) AS
    CASE
        WHEN regexp_matches(v, '^[=+\-@\t\r]') AND TRY_CAST(v AS DOUBLE) IS NULL THEN '''' || v
        ELSE v
    END;
