"""Distillation: teachers, corpora, the student, training and evaluation.

The lowest floor of edgekit: imports none of `export`, `bench` or `edgekit`.
"""
