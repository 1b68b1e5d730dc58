-- Waste score, rank, recommendation and the what-if of the recommended removal per activity of
-- $process (table waste_activities of mining/waste, migration 004).
SELECT activity, waste_score, rank, recommendation, explanation,
    whatif_scope, whatif_hours_saved_per_month, whatif_mots_saved_per_case
FROM waste_activities
WHERE process = $process
ORDER BY activity;
