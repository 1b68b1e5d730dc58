-- What a load noticed without rejecting a row: traces that share a case id (merged into one case),
-- dates a reader could only keep as text. One line per note; NULL when there is nothing to say.
ALTER TABLE load_audit ADD COLUMN notes VARCHAR;
