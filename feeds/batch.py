"""Work done a batch at a time: make each item's data, then use the batch.

Reading files and then parsing them (feeds.read), or rendering feeds and
then writing them (feeds.parallel), costs less than alternating one system
call with one parse or render: the system calls evict what the parser or
renderer had in the processor's caches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

Item = TypeVar("Item")
Made = TypeVar("Made")


def batches(
    items: Iterable[Item],
    make: Callable[[Item], Made],
    count: int,
    max_bytes: int,
    size: Callable[[Made], int] = len,  # type: ignore[assignment]
) -> Iterator[list[tuple[Item, Made]]]:
    """(item, make(item)) pairs, a list at a time, in order.

    A list ends at ``count`` pairs, or at the pair whose ``size`` brings it to
    ``max_bytes`` (big data is held one or a few at a time). It is emptied
    once the caller asks for the next one: use it before that.
    """
    batch: list[tuple[Item, Made]] = []
    held = 0
    for item in items:
        made = make(item)
        batch.append((item, made))
        held += size(made)
        if len(batch) >= count or held >= max_bytes:
            yield batch
            batch.clear()  # (the caller is done with it: what it held is freed before the next is made)
            held = 0
    if batch:
        yield batch
