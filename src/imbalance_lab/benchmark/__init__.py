"""Ranking strategies across many data sets (issue 24): the statistics first."""
