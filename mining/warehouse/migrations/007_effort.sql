-- Customer effort per case (mining/effort): what the journey asked of the customer.
CREATE TABLE case_effort (
    process             VARCHAR NOT NULL,
    case_id             VARCHAR NOT NULL,
    n_moments           INTEGER NOT NULL,   -- moments of truth of the case
    n_customer_actions  INTEGER NOT NULL,   -- moments at which the customer had to act
    n_channels          INTEGER NOT NULL,   -- distinct channels of its moments
    n_channel_switches  INTEGER NOT NULL,   -- moments on another channel than the moment before
    customer_wait_s     DOUBLE,             -- waits before its moments, summed (NULL: none measured)
    high_effort         BOOLEAN NOT NULL,   -- n_customer_actions >= effort.high_effort_actions
    PRIMARY KEY (process, case_id)
);
