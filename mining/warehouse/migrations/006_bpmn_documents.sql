-- The as-is and to-be BPMN documents of each process, as the bpmn step built them; mining.exports
-- writes them to as-is.bpmn and to-be.bpmn (steps produce tables only).
CREATE TABLE bpmn_documents (
    process  VARCHAR NOT NULL PRIMARY KEY,
    as_is    BLOB NOT NULL,
    to_be    BLOB NOT NULL
);
