"""The one bounded cache of the project, for values made by their callers (plans, prepared statements,
statement shapes, category trees); pure functions of hashable arguments use functools' instead."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRU(Generic[K, V]):
    """At most `size` entries (or, with `weigh`, entries weighing `size` in all); when full, the least
    recently used is forgotten. Safe to share with the threads that exports and imports run in: each step
    is one operation on the dict, and a key another thread evicted in between is simply not there."""

    def __init__(self, size: int, weigh: Callable[[V], int] | None = None) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._weigh = weigh
        self.weight = 0

    def get(self, key: K, default: V | None = None) -> V | None:
        try:
            value = self._items[key]
            self._items.move_to_end(key)
        except KeyError:
            return default
        return value

    def __setitem__(self, key: K, value: V) -> None:
        weigh = self._weigh
        if weigh is not None:
            if weigh(value) > self.size:
                return
            replaced = self._items.get(key)
            self.weight += weigh(value) - (weigh(replaced) if replaced is not None else 0)
        self._items[key] = value
        self._items.move_to_end(key)
        while (self.weight if weigh else len(self._items)) > self.size:
            try:
                _, dropped = self._items.popitem(last=False)
            except KeyError:  # emptied by another thread meanwhile
                break
            if weigh is not None:
                self.weight -= weigh(dropped)

    def __contains__(self, key: K) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def make(self, key: Any, make: Callable[[], V | None]) -> V | None:
        """The value kept for `key`, else `make()`'s, kept unless it is None. A key that cannot be hashed
        (an input object among a request's variables) is made each time."""
        try:
            found = self.get(key)
        except TypeError:
            return make()
        if found is None and (found := make()) is not None:
            self[key] = found
        return found
