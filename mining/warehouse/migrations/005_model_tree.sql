-- The process tree of a model as data (NULL for models that are not trees), written by
-- mining.discovery.store_model and read back by later steps (the BPMN step) instead of parsing
-- process_tree's text or mining again: nested {"op": ..., "children": [...]} for an operator (the
-- lower-case name of pm4py's: sequence, xor, parallel, or, loop, interleaving) and {"label": ...}
-- for a leaf (null for a silent step), keys sorted.
ALTER TABLE model_runs ADD COLUMN tree JSON;
