-- The filtered case set of the explorer (mining.explore.filters): one SELECT of case ids, built from
-- these parts, every value a bound parameter. `base` comes first; each filter adds one `AND` part.
-- Attribute names never appear in the text: the JSON key is bound too ($key), and only keys found in
-- the warehouse are accepted. The case set is materialised as the temp table explore_cases.

-- @section base
SELECT c.case_id
FROM cases AS c
WHERE c.process = $process

-- Time frame (Disco's semantics): since is inclusive, until exclusive (a date means its whole day).
-- @section since_start
  AND c.start_ts >= $since
-- @section since_end
  AND c.end_ts >= $since
-- @section until_start
  AND c.start_ts < $until
-- @section until_end
  AND c.end_ts < $until

-- Attribute values: a case qualifies when one of its events holds one of the values (OR within a key).
-- @section attribute_json
  AND c.case_id IN (
    SELECT case_id FROM event_log
    WHERE process = $process AND list_contains($values, json_extract_string(attrs, $key)))
-- @section attribute_resource
  AND c.case_id IN (SELECT case_id FROM event_log WHERE process = $process AND list_contains($values, resource))
-- @section attribute_lifecycle
  AND c.case_id IN (SELECT case_id FROM event_log WHERE process = $process AND list_contains($values, lifecycle))

-- Variants by their rank in the process's unfiltered variant list.
-- @section variant
  AND c.variant_id IN (SELECT variant_id FROM variants WHERE process = $process AND list_contains($ranks, rank))

-- Outcomes as the moments analysis recorded them (case_outcomes.outcome).
-- @section outcome
  AND c.case_id IN (SELECT case_id FROM case_outcomes WHERE process = $process AND list_contains($outcomes, outcome))

-- Cases with every listed activity, and cases with none of the other list.
-- @section with
  AND c.case_id IN (
    SELECT case_id FROM event_log WHERE process = $process AND list_contains($with, activity)
    GROUP BY case_id HAVING count(DISTINCT activity) = len($with))
-- @section without
  AND c.case_id NOT IN (SELECT case_id FROM event_log WHERE process = $process AND list_contains($without, activity))

-- Throughput time (cases.duration_s, first to last event), both bounds inclusive.
-- @section min_duration
  AND c.duration_s >= $min_duration
-- @section max_duration
  AND c.duration_s <= $max_duration

-- @section materialise
CREATE OR REPLACE TEMP TABLE explore_cases AS
