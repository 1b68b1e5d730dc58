-- The as-is and to-be BPMN documents of $process as the bpmn step stored them (table bpmn_documents).
SELECT as_is, to_be
FROM bpmn_documents
WHERE process = $process;
