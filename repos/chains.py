"""Run chains: find loops among jobs' ``on_success_run`` / ``on_failure_run`` before they are synced.

Pure: takes each job's class path and the class paths it starts next, returns the loops found.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["chain_loops"]


def chain_loops(edges: Mapping[str, Iterable[str]], starts: Iterable[str]) -> list[list[str]]:
    """Return each loop reachable from ``starts``, as the path that closes it (``[A, B, A]``)."""
    loops: list[list[str]] = []
    seen_loops: set[frozenset[str]] = set()
    done: set[str] = set()

    def visit(node: str, path: list[str], on_path: set[str]) -> None:
        for following in edges.get(node, ()):
            if following in on_path:
                loop = path[path.index(following):] + [following]
                if frozenset(loop) not in seen_loops:
                    seen_loops.add(frozenset(loop))
                    loops.append(loop)
            elif following not in done:
                visit(following, path + [following], on_path | {following})
        done.add(node)

    for start in starts:
        if start not in done:
            visit(start, [start], {start})
    return loops
