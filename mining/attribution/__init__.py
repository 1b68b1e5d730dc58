"""Removal-effect attribution of drop-outs over the journeys (docs/moments.md, "Removal effect").

An absorbing Markov chain over the moments of truth of each case (``chain``), the drop-outs that
would not happen without a moment or without its poor variant, with bootstrap intervals
(``removal``), beside the lift ranking of the moments step (``analysis``). The step (``step``) reads
``mot_events``, ``case_outcomes`` and ``dropout_attribution`` and writes ``dropout_removal``.
"""
