-- Replicate the events of $process (loaded once, as copy 0) into copies 1 .. $copies - 1.
-- Copy k: case ids get the suffix '-k', timestamps move k * $shift_days days later (the log's span,
-- rounded up, so copies follow one another), event keys are re-hashed with k so they stay unique,
-- and seq moves by k * 2^40 so the source order is copy by copy, each in the original order.
INSERT INTO events
SELECT md5(e.event_key || '#' || CAST(r.k AS VARCHAR)),
       e.process, e.source,
       e.case_id || '-' || CAST(r.k AS VARCHAR),
       e.activity,
       e.ts + to_days(CAST(r.k * $shift_days AS INTEGER)),
       e.resource, e.lifecycle,
       e.seq + r.k * 1099511627776,
       e.load_id, e.attrs
FROM events e, range(1, $copies) r(k)
WHERE e.process = $process
ORDER BY r.k, e.seq;
