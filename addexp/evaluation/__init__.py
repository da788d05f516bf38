"""Evaluation: the one decode step, the metrics of a set and their scoring, the breakdown by
digits and carries, and the plots of answers and learning curves.

It may import `addexp.models` and the packages below it."""
