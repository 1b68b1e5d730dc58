-- Created after the bulk insert (faster); the extraction mappings join on these.
CREATE INDEX applications_customer ON applications(customer_id);
CREATE INDEX status_history_application ON status_history(application_id);
CREATE INDEX contacts_application ON contacts(application_id);
CREATE INDEX document_requests_application ON document_requests(application_id);
CREATE INDEX decisions_application ON decisions(application_id);
CREATE INDEX payments_application ON payments(application_id);
