"""BPMN 2.0 export: annotated as-is and to-be models with diagram interchange.

Modules: ``tree`` (the process tree, from pm4py or as stored by discover), ``layout`` (process
tree -> laid-out BPMN graph), ``diagram`` (that graph: nodes, flows, geometry, ids), ``serialize``
(XML), ``figures`` (warehouse figures and their texts), ``tobe`` (removals, projected log, as-is vs
to-be), ``export`` (assembly) and ``step`` (the pipeline step).
"""
