-- How many events the extraction mappings must yield: one per application, status change, contact,
-- document request, received document, decision and payment. Deliberately plain SQL over the
-- business tables, independent of the mapping queries.
SELECT (SELECT count(*) FROM applications)
     + (SELECT count(*) FROM status_history)
     + (SELECT count(*) FROM contacts)
     + (SELECT count(*) FROM document_requests)
     + (SELECT count(*) FROM document_requests WHERE received_at IS NOT NULL)
     + (SELECT count(*) FROM decisions)
     + (SELECT count(*) FROM payments)
