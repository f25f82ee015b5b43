"""The one bounded cache (cms/lru.py): plans, prepared statements, statement shapes and trees stay within
their bound, and what was used lately is what stays."""

from __future__ import annotations

from cms.lru import LRU


def test_the_least_recently_used_goes_first() -> None:
    cache: LRU[str, int] = LRU(3)
    for n, key in enumerate("abc"):
        cache[key] = n
    assert cache.get("a") == 0  # used: now the newest
    cache["d"] = 3
    assert ("b" in cache, "a" in cache, len(cache)) == (False, True, 3)


def test_a_missing_key_gives_the_default() -> None:
    cache: LRU[str, object] = LRU(2)
    missing = object()
    assert cache.get("x") is None
    assert cache.get("x", missing) is missing


def test_make_keeps_what_it_made_unless_none_or_unhashable() -> None:
    cache: LRU[object, list[int]] = LRU(4)
    made: list[object] = []

    def make(key: object) -> list[int] | None:
        made.append(key)
        return None if key == "none" else [len(made)]

    first = cache.make("k", lambda: make("k"))
    assert cache.make("k", lambda: make("k")) is first
    assert cache.make("none", lambda: make("none")) is None
    assert cache.make("none", lambda: make("none")) is None
    unhashable = ["a", "list"]
    assert cache.make(unhashable, lambda: make("list")) != cache.make(unhashable, lambda: make("list"))
    assert made == ["k", "none", "none", "list", "list"]
