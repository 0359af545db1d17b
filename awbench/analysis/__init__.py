"""Analyses of trained models that are not evaluations under attack (e.g. their filter-weight distributions)."""
