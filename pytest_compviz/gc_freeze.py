"""Freezing Python's garbage collector where what exists lives on anyway.

After a run that loaded results, CPython's last collections at exit walk every object pandas and
pandera made (0.25 s after the main job, 0.5 s after a 4,000-item sweep); frozen, they are
skipped. ``COMPVIZ_GC_FREEZE=0`` leaves the collector alone.
"""

from __future__ import annotations

import os


def enabled() -> bool:
    return os.environ.get("COMPVIZ_GC_FREEZE", "1").strip() != "0"


def at_exit() -> None:
    """Freeze as the interpreter exits. An exit handler runs only then (before the handlers
    registered earlier), so no memory is held while the process lives; what changes is that
    objects still in reference cycles at exit get no ``__del__``, which CPython never promised."""
    if enabled():
        import atexit
        import gc

        atexit.register(gc.freeze)
