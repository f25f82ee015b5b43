"""The cyclic garbage collector, set for a server that keeps large caches and answers with many objects."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_OBJECTS = 2_000
"""Container objects allocated (net) before a young collection: Python 3.13's default, not 3.11's 700. At
700 one page of 100 articles passes it several times; each pass moves the page's live rows up a
generation, and every few pages that sets off a full collection, which walks every plan and statement the
caches hold (about 0.1 s a time after the benchmark's loads: 12% of a static-site walk). At 2,000 a walk
sets off almost none. Higher values save nothing more and let Strawberry's cyclic garbage pile up: at
10,000 a server without the planner peaked 100 MiB higher under load."""


def settle() -> None:
    """Called once the server has started: what starting made (modules, the schema) is frozen, so that no
    full collection walks it again, and young collections wait for `YOUNG_OBJECTS`."""
    gc.freeze()
    gc.set_threshold(YOUNG_OBJECTS)


@contextmanager
def paused() -> Iterator[None]:
    """No cyclic collection during a bulk job (an import) that makes millions of objects living to its end:
    records, plans, rows. Each full collection would walk them all again and find next to no garbage; the
    job's own cycles wait for the first collection after it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
