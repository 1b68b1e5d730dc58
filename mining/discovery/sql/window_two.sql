-- Heuristics Miner inputs for one process ($process): activity pairs two steps apart, and the
-- triples a -> b -> a that reveal loops of length two. Every case of a variant has the variant's
-- sequence, so both are counted over the (few) variants, weighted by their cases, instead of with
-- a window over every event.
CREATE OR REPLACE TEMP TABLE window_two_pairs AS
WITH steps AS (
    SELECT n_cases, unnest(list_zip(activities[:-3], activities[3:])) AS step
    FROM variants
    WHERE process = $process AND len(activities) >= 3
)
SELECT step[1] AS a, step[2] AS c, CAST(sum(n_cases) AS BIGINT) AS n
FROM steps
GROUP BY a, c
ORDER BY a, c;

CREATE OR REPLACE TEMP TABLE window_two_triples AS
WITH steps AS (
    SELECT n_cases, unnest(list_zip(activities[:-3], activities[2:-2], activities[3:])) AS step
    FROM variants
    WHERE process = $process AND len(activities) >= 3
)
SELECT step[1] AS a, step[2] AS b, step[3] AS c, CAST(sum(n_cases) AS BIGINT) AS n
FROM steps
WHERE step[1] = step[3]
GROUP BY a, b, c
ORDER BY a, b, c;
