"""Configuration: ``[tool.compviz]`` discovery and parsing, rules, and the one frozen
``RunOptions`` both faces resolve. Stdlib only: read at pytest start-up."""
