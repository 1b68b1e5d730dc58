-- The work the steps of $process skipped or cut short for a memory or time budget, and why (table budget_skips, config section budgets).
SELECT step, work, reason, estimate, budget
FROM budget_skips
WHERE process = $process
ORDER BY step, work;
