-- Keep every rejected row of the staged batch with its reason and the row as it was read.
-- mining.warehouse.load fills in the placeholder below: the row's source columns as one JSON
-- object, or the text of the line for a CSV line the reader could not split into fields.
INSERT INTO quarantine
SELECT $load_id, $source, $location, s.row_number, s.reason, /*RAW*/
FROM staged s
JOIN incoming i ON i.__row = s.row_number
WHERE s.reason IS NOT NULL
ORDER BY s.row_number;
