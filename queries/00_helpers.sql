-- Question: How do the other queries check their arguments and show durations to people?
-- Gives: macro mot_require(ok, message), macro mot_check_process(process),
--        macro mot_check_activity(process, activity), macro mot_check_case(process, case_id),
--        macro mot_check_resource(process, resource), macro mot_is_whole(x),
--        macro mot_duration(seconds), macro mot_process(), macro mot_activity(process, n),
--        macro mot_arc(process, n)
-- Example:
--   SELECT mot_duration(93784.4) AS duration;             -- 1 day 02:03:04
--   SELECT mot_check_process(mot_process()) AS ok;        -- true, or an error naming the known processes
--   SELECT mot_process() AS process, mot_activity(mot_process(), 1) AS top_activity,
--          mot_arc(mot_process(), 1).source AS arc_from, mot_arc(mot_process(), 1).target AS arc_to;
--
-- The examples of every file name no process, activity or resource of their own: they pick them
-- from the warehouse with mot_process() (the first process by name), mot_activity (the n-th most
-- frequent activity) and mot_arc (the n-th most frequent directly-follows arc), so they run on
-- any warehouse. Put your own names in their place: 'loan_origination', 'Credit check'.
--
-- The check macros return true or stop the query with error(message). The parameterised table
-- macros in the other files evaluate them in a MATERIALIZED guard CTE, so a bad argument fails
-- loudly even when the filtered result would have been empty. A warehouse that holds no process
-- yet accepts every name, NULL included (there is nothing to check against, and mot_process() is
-- NULL there), so every example runs on an empty warehouse and returns no rows.

CREATE OR REPLACE MACRO mot_require(ok, message) AS
    CASE WHEN ok THEN true ELSE error(message) END;

CREATE OR REPLACE MACRO mot_check_process(p) AS
    mot_require(
        (p IS NOT NULL AND p IN (SELECT process FROM cases)) OR NOT EXISTS (SELECT 1 FROM cases),
        'unknown process ' || coalesce('''' || p || '''', 'NULL') || '; this warehouse holds: '
            || coalesce((SELECT string_agg(DISTINCT process, ', ' ORDER BY process) FROM cases), 'none'));

CREATE OR REPLACE MACRO mot_check_activity(p, a) AS
    mot_require(
        (a IS NOT NULL AND a IN (SELECT activity FROM activity_stats WHERE process = p))
        OR NOT EXISTS (SELECT 1 FROM cases WHERE process = p),
        'activity ' || coalesce('''' || a || '''', 'NULL') || ' does not occur in process '''
            || coalesce(p, 'NULL') || '''; see: SELECT activity FROM activities WHERE process = '''
            || coalesce(p, 'NULL') || '''');

CREATE OR REPLACE MACRO mot_check_case(p, c) AS
    mot_require(
        (c IS NOT NULL AND CAST(c AS VARCHAR) IN (SELECT case_id FROM cases WHERE process = p))
        OR NOT EXISTS (SELECT 1 FROM cases WHERE process = p),
        'case ' || coalesce('''' || CAST(c AS VARCHAR) || '''', 'NULL') || ' is not a case of process '''
            || coalesce(p, 'NULL') || '''');

CREATE OR REPLACE MACRO mot_check_resource(p, r) AS
    mot_require(
        (r IS NOT NULL AND r IN (SELECT resource FROM event_log WHERE process = p))
        OR NOT EXISTS (SELECT 1 FROM cases WHERE process = p),
        'resource ' || coalesce('''' || r || '''', 'NULL') || ' does not occur in process '''
            || coalesce(p, 'NULL') || '''; see: FROM handoffs WHERE process = '''
            || coalesce(p, 'NULL') || '''');

-- True for a whole number (3, 3.0, '3'), false for 2.5, 'x' or NULL.
CREATE OR REPLACE MACRO mot_is_whole(x) AS
    coalesce(TRY_CAST(x AS DOUBLE) = floor(TRY_CAST(x AS DOUBLE)), false);

-- Whole days plus the rest rounded to the second, so the CLI shows '3 days 04:05:06' and not
-- '76:05:06'.
CREATE OR REPLACE MACRO mot_duration(s) AS
    to_days(CAST(floor(s / 86400) AS INTEGER)) + to_seconds(round(s - 86400 * floor(s / 86400)));

-- The process the examples use: the first of the warehouse by name (NULL when it holds none).
CREATE OR REPLACE MACRO mot_process() AS (SELECT min(process) FROM cases);

-- The n-th most frequent activity of process p (ties by name).
CREATE OR REPLACE MACRO mot_activity(p, n) AS (
    SELECT activity FROM activity_stats WHERE process = p
    ORDER BY frequency DESC, activity LIMIT 1 OFFSET n - 1);

-- The n-th most frequent directly-follows arc of process p as {source, target} (ties by name).
CREATE OR REPLACE MACRO mot_arc(p, n) AS (
    SELECT {'source': activity, 'target': next_activity} FROM event_log
    WHERE process = p AND next_activity IS NOT NULL
    GROUP BY activity, next_activity
    ORDER BY count(*) DESC, activity, next_activity LIMIT 1 OFFSET n - 1);
