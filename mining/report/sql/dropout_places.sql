-- Where customers of $process drop out: the drop-out event and the moment of truth just before it (table dropout_places).
SELECT rank, activity, after_activity, n_dropout, share
FROM dropout_places
WHERE process = $process
ORDER BY rank;
