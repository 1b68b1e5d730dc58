-- exact_quantile(tbl, q): per group g of the table or view named tbl (columns g, v), the q-quantile
-- of v as quantile_cont gives it (NULLs ignored; a group without values has no row), from a count
-- per distinct value. median() and quantile_cont() hold every value of a group in memory and
-- cannot spill: over 100 M steps they would hold gigabytes (issue 20); counted values spill, and
-- repeated values (waits in whole seconds) count once.
-- At pos = (n - 1) * q, lo and hi are the values at positions floor(pos) and ceil(pos) of the sorted
-- group. Between them a median is DuckDB's own quantile_cont of the two, the same interpolation bit
-- for bit; another q gives lo * (1 - d) + hi * d at d = pos - floor(pos), which can differ from
-- quantile_cont's in the last bit (DuckDB's binary fuses that multiply and add). Figures leave SQL
-- rounded to 12 digits (mining.warehouse.figures). tests/test_waste_quantiles.py compares them.
CREATE OR REPLACE TEMP MACRO exact_quantile(tbl, q) AS TABLE
WITH counted AS (
    SELECT g, v, count(*) AS k FROM query_table(tbl) WHERE v IS NOT NULL GROUP BY g, v
),
ranked AS (
    -- the value's positions in the sorted group: below .. below + k - 1
    SELECT g, v, k,
        sum(k) OVER (by_value ROWS UNBOUNDED PRECEDING) - k AS below,
        -- the same ordering as `below`, so one sort serves both
        sum(k) OVER (by_value ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS n
    FROM counted
    WINDOW by_value AS (PARTITION BY g ORDER BY v)
),
ends AS (
    SELECT g,
        any_value(v) FILTER (WHERE floor(CAST(n - 1 AS DOUBLE) * q) BETWEEN below AND below + k - 1) AS lo,
        any_value(v) FILTER (WHERE ceil(CAST(n - 1 AS DOUBLE) * q) BETWEEN below AND below + k - 1) AS hi,
        any_value(CAST(n - 1 AS DOUBLE) * q) AS pos
    FROM ranked
    GROUP BY g
)
SELECT g,
    CASE WHEN floor(pos) = ceil(pos) THEN lo
         WHEN q = 0.5 THEN list_aggregate([lo, hi], 'quantile_cont', 0.5)
         ELSE lo * (1 - (pos - floor(pos))) + hi * (pos - floor(pos)) END AS value
FROM ends;
