"""Saved runs: the run-document format, loading one as a baseline, saving this run into one."""
