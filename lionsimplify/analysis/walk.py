"""Recursion over a term graph without Python recursion: one explicit-stack driver.

Programs are chains: a 10k-statement program is a term 10k levels deep, far past Python's
recursion limit, and an analysis that calls itself per level fails with `RecursionError` (an
internal error). Analyses are still clearest written recursively, so they are written as
generators: where a recursive call would be, the step `yield`s the child and receives its value
(`x = yield child`). `bottom_up` runs such a step on an explicit stack, remembering each node's
value in a memo, so every node is evaluated once (linear in the graph, however deep) and in
exactly the order the recursive version would use, short-circuits included.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Hashable, MutableMapping
from typing import Any, TypeVar

N = TypeVar("N", bound=Hashable)
V = TypeVar("V")

#: A step: a generator that yields the nodes it needs and returns the node's value.
Step = Callable[[N], Generator[N, V, V]]


def bottom_up(step: Step[N, V], root: N, memo: MutableMapping[Any, V]) -> V:
    """The value of `root` under the recursive definition `step`, remembered per node in `memo`."""
    if root in memo:
        return memo[root]
    stack: list[tuple[N, Generator[N, V, V]]] = [(root, step(root))]
    send: Any = None
    while stack:
        node, gen = stack[-1]
        try:
            child = gen.send(send)
        except StopIteration as done:
            stack.pop()
            memo[node] = send = done.value
            continue
        if child in memo:
            send = memo[child]
        else:
            stack.append((child, step(child)))
            send = None
    return memo[root]
