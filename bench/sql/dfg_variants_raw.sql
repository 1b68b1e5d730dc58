-- DFG and variants of one process ($process) straight from the raw `events` table, without the
-- prepared tables: each case's activities in time order (ties in source order, as pm4py orders
-- them), sorted inside the case's list; the variants counted; the DFG from the variants' pairs,
-- weighted by their cases.
CREATE OR REPLACE TEMP TABLE bench_raw_variants AS
SELECT activities, count(*) AS n_cases
FROM (
    SELECT list_transform(list_sort(list(struct_pack(t := ts, s := seq, a := activity))), lambda e: e.a) AS activities
    FROM events
    WHERE process = $process
    GROUP BY case_id
)
GROUP BY activities;

SELECT pair[1] AS activity, pair[2] AS next_activity, sum(n_cases) AS frequency
FROM (
    SELECT unnest(list_zip(activities[:-2], activities[2:])) AS pair, n_cases
    FROM bench_raw_variants
    WHERE len(activities) >= 2
)
GROUP BY ALL
ORDER BY activity, next_activity;

SELECT activities, n_cases FROM bench_raw_variants ORDER BY n_cases DESC, activities;
