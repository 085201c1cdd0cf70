"""pytest-compviz: LLM weight-compression results (one CSV row per variant) as pytest items.

This module stays import-light: pytest imports the plugin in every run where it is installed.
"""

__version__ = "0.1.0"
