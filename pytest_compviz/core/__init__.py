"""The pytest-free core: read -> validate -> derive -> gate, one file at a time (``pipeline``)."""
