"""Benchmark harness: our pipeline against the pm4py-only way, stage by stage, on the same machine.

``python -m bench.run`` (``make bench``) builds the workloads (bench.workloads), runs every stage
of both ways in a fresh subprocess (bench.child, bench.stages) so that each stage's peak RSS is its
own, repeats, and prints the medians and ratios (bench.report); the results go to
``bench/results/latest.json``.
"""
