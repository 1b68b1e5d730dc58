-- Wilson score interval of a proportion k / n at normal quantile z (NULL when n = 0). The bounds
-- are exact at the edges (0 when k = 0, 1 when k = n), where the formula leaves rounding noise.
CREATE OR REPLACE TEMP MACRO mot_wilson_low(k, n, z) AS
    CASE WHEN n = 0 OR n IS NULL THEN NULL
         WHEN k = 0 THEN 0.0
         ELSE (CAST(k AS DOUBLE) / n + z * z / (2.0 * n)
               - z * sqrt((CAST(k AS DOUBLE) / n) * (1 - CAST(k AS DOUBLE) / n) / n + z * z / (4.0 * n * n)))
              / (1 + z * z / n)
    END;

CREATE OR REPLACE TEMP MACRO mot_wilson_high(k, n, z) AS
    CASE WHEN n = 0 OR n IS NULL THEN NULL
         WHEN k = n THEN 1.0
         ELSE (CAST(k AS DOUBLE) / n + z * z / (2.0 * n)
               + z * sqrt((CAST(k AS DOUBLE) / n) * (1 - CAST(k AS DOUBLE) / n) / n + z * z / (4.0 * n * n)))
              / (1 + z * z / n)
    END;

-- The key of an event's combination of the fields the rules read: its activity, resource and
-- lifecycle, and the attribute values at the JSON paths (mining.moments.analysis.json_path).
CREATE OR REPLACE TEMP MACRO mot_combo_vals(attrs, paths) AS
    json_extract_string(coalesce(attrs, '{}'::JSON), CAST(paths AS VARCHAR[]));

CREATE OR REPLACE TEMP MACRO mot_combo_hash(activity, resource, lifecycle, vals) AS
    md5(to_json(list_concat(list_value(activity, resource, lifecycle), vals)));

CREATE OR REPLACE TEMP MACRO mot_combo_key(activity, resource, lifecycle, attrs, paths) AS
    mot_combo_hash(activity, resource, lifecycle, mot_combo_vals(attrs, paths));
