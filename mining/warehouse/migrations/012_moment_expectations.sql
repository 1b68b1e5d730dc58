-- Moments of truth on activity instances, judged against expectations (issue 16; docs/moments.md).
-- mot_events is one row per activity instance from now on: `pos` is the instance_pos,
-- `event_key` the key of its marking event (the first of its events a rule marked a moment), else
-- of its first event. mot_activities counts instances (share = moment instances / instances).

ALTER TABLE mot_activities ADD COLUMN n_instances BIGINT;      -- activity instances (n_events counts their events)

ALTER TABLE mot_events ADD COLUMN event_pos INTEGER;            -- event_log.pos of the marking (else first) event
ALTER TABLE mot_events ADD COLUMN n_events INTEGER;             -- events of the instance
ALTER TABLE mot_events ADD COLUMN expectation_source VARCHAR;   -- where the wait budget ref_wait_s comes from: 'activity' | 'channel' | 'learned'
ALTER TABLE mot_events ADD COLUMN wait_status VARCHAR;          -- 'beaten' | 'met' | 'missed' | 'not measurable: <reason>'
ALTER TABLE mot_events ADD COLUMN effort_units INTEGER;         -- customer action + repeats + channel switch (expectations.effort_counts)
ALTER TABLE mot_events ADD COLUMN effort_budget INTEGER;        -- units the customer expects at this moment
ALTER TABLE mot_events ADD COLUMN effort_over BOOLEAN;          -- effort_units > effort_budget
ALTER TABLE mot_events ADD COLUMN s_met DOUBLE;                 -- + weights.met / weights.beaten when the expectation is met
ALTER TABLE mot_events ADD COLUMN timer BOOLEAN;                -- the wait before this instance is set by a timer or calendar
ALTER TABLE mot_events ADD COLUMN timer_rule VARCHAR;           -- the mot_timers rule that flagged it

ALTER TABLE knock_on ADD COLUMN n_timer_excluded BIGINT;        -- pairs left out: the wait before the second moment is timer-driven

-- Timer-driven transitions found in the data: an activity whose gaps from one anchor are (nearly)
-- all equal, or whose instances fall on a few calendar times shared by many cases.
CREATE TABLE mot_timers (
    process      VARCHAR NOT NULL,
    activity     VARCHAR NOT NULL,     -- the timer-driven activity
    anchor       VARCHAR NOT NULL,     -- '(previous instance)', '(customer action)', an earlier activity, or '(calendar)'
    kind         VARCHAR NOT NULL,     -- 'fixed_offset' | 'calendar_batch'
    gap_s        DOUBLE,               -- the fixed gap (fixed_offset)
    n            BIGINT NOT NULL,      -- instances of the activity with this anchor
    n_equal      BIGINT NOT NULL,      -- of them with the fixed gap (or on a shared calendar time)
    share        DOUBLE NOT NULL,
    PRIMARY KEY (process, activity, anchor)
);
