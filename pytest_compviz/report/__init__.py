"""Artifacts built from validated, derived results: Markdown tables and trade-off plots."""
