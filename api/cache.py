"""A small thread-safe LRU with single-flight loading, bounded by items and by bytes.

Keys always include the manifest's data_version of what was read, so an entry can never be
served for a newer file: when the pipeline rewrites an asset its data_version changes, the
next manifest read sees it, and the old entries just age out."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


def _size_of(value: Any) -> int:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return len(value)
    size = getattr(value, "nbytes", None)
    if isinstance(size, int):
        return size
    mem = getattr(value, "memory_usage", None)
    if callable(mem):
        try:
            return int(mem(index=False, deep=False).sum())
        except Exception:  # noqa: BLE001
            pass
    if isinstance(value, tuple):
        return sum(_size_of(v) for v in value)
    return 1024


class LRUCache:
    def __init__(self, max_items: int = 256, max_bytes: int = 512 * 1024 * 1024):
        self.max_items = max_items
        self.max_bytes = max_bytes
        self._data: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._loading: dict[Hashable, threading.Lock] = {}
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            item = self._data.get(key)
            if item is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return item[0]

    def put(self, key: Hashable, value: Any) -> None:
        size = _size_of(value)
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            if size > self.max_bytes:
                return
            self._data[key] = (value, size)
            self._bytes += size
            while self._data and (len(self._data) > self.max_items or self._bytes > self.max_bytes):
                _, (_, s) = self._data.popitem(last=False)
                self._bytes -= s

    def get_or_load(self, key: Hashable, load: Callable[[], Any]) -> Any:
        """The cached value, or `load()` run once however many threads ask at the same time."""
        value = self.get(key)
        if value is not None:
            return value
        with self._lock:
            gate = self._loading.setdefault(key, threading.Lock())
        with gate:
            value = self.get(key)
            if value is None:
                value = load()
                self.put(key, value)
        with self._lock:
            if self._loading.get(key) is gate:
                self._loading.pop(key, None)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._data)
