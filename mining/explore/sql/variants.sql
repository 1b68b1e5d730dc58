-- The variants of the filtered cases (mining.explore.queries.variants): rank in the unfiltered
-- list, activity sequence, filtered cases, their share of the filtered cases, median throughput.
SELECT v.rank, v.activities, count(*) AS cases, count(*) / sum(count(*)) OVER () AS share,
    median(c.duration_s) AS median_throughput_s, count(*) OVER () AS total
FROM cases AS c
JOIN variants AS v ON v.process = c.process AND v.variant_id = c.variant_id
WHERE c.process = $process AND c.case_id IN (SELECT case_id FROM explore_cases)
GROUP BY v.rank, v.activities
ORDER BY cases DESC, v.rank
LIMIT $limit OFFSET $offset;
