"""``mot serve``: explore a run's warehouse in the browser (issue 19).

Modules: ``catalog`` (the names a filter may use), ``filters`` (query string -> validated filters ->
SQL with bound values), ``queries`` (the figures, pure functions over a cursor), ``render`` (the
map's SVG, the one call to the renderer; ``bench_redraw``), ``exports`` (downloads of the filtered
view and the SQL of a figure), ``app`` (the Starlette app). SQL lives in ``sql/``, the page in
``static/``. Layer: above ``mining.exports`` and ``mining.report`` (it reuses their CSV writer and
map renderer), beside ``mining.scaleout``, below ``mining.cli``.
"""
