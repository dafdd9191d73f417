"""Name → factory registries (models, datasets, samplers, pruners, optimizers, …).

Adding a component is one decorated function:

    @MODELS.register("mnist_cnn")
    def mnist_cnn(in_channels: int, num_classes: int, image_size: int, width: int = 1): ...
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from hpo.errors import UsageError

F = TypeVar("F", bound=Callable[..., Any])


class Registry(Generic[F]):
    """A named collection of factories with clear errors for unknown names."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, F] = {}

    def register(self, name: str) -> Callable[[F], F]:
        def decorate(factory: F) -> F:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = factory
            return factory

        return decorate

    def get(self, name: str) -> F:
        try:
            return self._items[name]
        except KeyError:
            raise UsageError(
                f"unknown {self.kind} {name!r}; choose one of: {', '.join(self.names())}"
            ) from None

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def describe(self) -> dict[str, str]:
        """Name → first line of the factory's docstring (for --list-* flags and docs)."""
        return {name: _first_line(self._items[name]) for name in self.names()}


def _first_line(obj: object) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.splitlines()[0] if doc else ""


def accepted_kwargs(
    factory: Callable[..., Any], reserved: frozenset[str] = frozenset()
) -> set[str]:
    """Keyword arguments a factory accepts, minus the ones the framework fills in itself."""
    params = inspect.signature(factory).parameters.values()
    return {
        p.name
        for p in params
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in reserved
    }
