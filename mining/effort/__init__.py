"""Customer effort: what each journey asked of the customer (moments, own actions, channels, waits).

The smallest complete analysis of the code base, and the example of docs/contributing.md: one
package (``step``), its SQL (``sql/``), one migration, one config section (``mining.config.effort``)
and one line in ``mining.registry``.
"""
