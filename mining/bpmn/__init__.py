"""BPMN 2.0 export: annotated as-is and to-be models with diagram interchange.

Modules: ``diagram`` (process tree -> laid-out BPMN graph), ``serialize`` (XML), ``figures``
(warehouse figures and their texts), ``tobe`` (removals, projected log, as-is vs to-be), ``export``
(assembly) and ``step`` (the pipeline step). This package file imports nothing, because
``mining.config`` imports ``mining.config.bpmn`` and must not pull in the rest.
"""
