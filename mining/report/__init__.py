"""The HTML report: one self-contained file per process that a process professional reads and shares.

Modules: ``data`` (figures from the warehouse, each with the query in queries/ that reproduces it),
``processmap`` (the DFG as SVG, laid out by Graphviz ``dot``; ``mapfilter`` its sliders), ``charts`` (Altair /
Vega-Lite rendered to SVG offline), ``bpmn`` (embedding the as-is and to-be BPMN with bpmn-js),
``formats`` (numbers as text), ``page`` (the figures the template lays out), ``context`` (what the
section builders share), ``sections`` (one module per section, and ``build_sections``),
``findings`` (the key findings), ``render`` (Jinja2 templates, the files, ``report_step``).
Documented in docs/report.md.
"""
