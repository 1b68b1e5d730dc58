-- mot_figure(x): a float rounded to 12 significant digits, the nearest double to that decimal
-- (the same value Python's float(f"{x:.12g}") gives, mining.warehouse.figures.stable_figure).
-- DuckDB adds floats up in parallel, in an order that changes between runs, so the last bits of a
-- sum or an average can differ from run to run; figures are rounded with this where they are
-- stored or leave SQL, so that the same input gives the same tables and files. NaN, infinities and
-- NULL pass as they are.
CREATE OR REPLACE MACRO mot_figure(x) AS
    CASE WHEN isfinite(x) THEN CAST(printf('%.12g', x) AS DOUBLE) ELSE x END;
