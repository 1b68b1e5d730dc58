-- Work a step skipped or cut short because it would exceed, or exceeded, its memory or time budget
-- (config section `budgets`, issue 17): the step, what was skipped, why, and the budget it met.
-- A step deletes its rows of the process and writes them again on every run.
CREATE TABLE budget_skips (
    process  VARCHAR NOT NULL,
    step     VARCHAR NOT NULL,
    work     VARCHAR NOT NULL,     -- e.g. 'imf precision', 'heuristics discovery'
    reason   VARCHAR NOT NULL,     -- e.g. 'estimate over budget', 'memory budget exceeded', 'time budget exceeded'
    estimate VARCHAR,              -- the size estimate that decided, where one did ('240,000,000 prefix events')
    budget   VARCHAR NOT NULL,     -- the budget that applied ('5,000,000 prefix events', '1536 MB', '600 s')
    PRIMARY KEY (process, step, work)
);
