"""The cyclic garbage collector, set for a server that keeps large caches and answers with many objects."""

from __future__ import annotations

import gc

YOUNG_OBJECTS = 50_000
"""Container objects allocated (net) before a young collection. Python's 700 is passed several times by one
page of 100 articles: each pass moves the page's live rows up a generation, and every few pages that sets
off a full collection, which walks every plan and statement the caches hold (about 0.1 s a time after the
benchmark's loads, 12% of a static-site walk). A request's objects are freed by reference counting as it
ends; the collector is only there for cycles, which a few thousand more young objects do not make costly."""
OLDER_PASSES = 20
"""Younger collections between two of the next generation's (Python: 10)."""


def settle() -> None:
    """Called once the server has started: what starting made (modules, the schema) is frozen, so that no
    full collection walks it again, and collections run as `YOUNG_OBJECTS` says."""
    gc.freeze()
    gc.set_threshold(YOUNG_OBJECTS, OLDER_PASSES, OLDER_PASSES)
