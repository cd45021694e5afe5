"""One look-up table type for every named thing (precisions, formats, ...): names, aliases and the
did-you-mean error.

A `Registry` maps canonical names to values and keeps aliases apart, so a refined name (`fp8` ->
`fp8-tensor`) still resolves while listings show each value once. Unknown names raise a
`CoscaleError` that names the closest matches and every valid name.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Generic, TypeVar

from coscale.errors import CoscaleError

T = TypeVar("T")


class Registry(Mapping[str, T], Generic[T]):
    """Immutable name -> value table; `kind` words the error ("unknown {kind} 'x'")."""

    __slots__ = ("_aliases", "_items", "kind")

    def __init__(self, kind: str, items: Iterable[tuple[str, T]], aliases: Mapping[str, str] | None = None) -> None:
        table: dict[str, T] = {}
        for name, value in items:
            if name in table:
                raise ValueError(f"duplicate {kind} name {name!r}")
            table[name] = value
        for alias, target in (aliases or {}).items():
            if target not in table or alias in table:
                raise ValueError(f"{kind} alias {alias!r} -> {target!r} must point at a name and not shadow one")
        self.kind = kind
        self._items = MappingProxyType(table)
        self._aliases = MappingProxyType({a: t for a, t in (aliases or {}).items()})

    def __getitem__(self, name: str) -> T:
        return self._items[self._aliases.get(name, name)]

    def __contains__(self, name: object) -> bool:
        return name in self._items or name in self._aliases

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    @property
    def aliases(self) -> Mapping[str, str]:
        return self._aliases

    def canonical(self, name: str) -> str:
        """The canonical name an alias stands for (a canonical name maps to itself)."""
        self.lookup(name)
        return self._aliases.get(name, name)

    def lookup(self, name: str) -> T:
        """The value of a name or alias; an unknown name raises the did-you-mean `CoscaleError`."""
        if name not in self:
            raise self.unknown(name)
        return self[name]

    def unknown(self, name: str) -> CoscaleError:
        valid = list(self._items) + [a for a in self._aliases if a not in self._items]
        close = difflib.get_close_matches(name, valid, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        return CoscaleError(f"unknown {self.kind} '{name}'.{hint} Valid: {', '.join(self._items)}{self._alias_note()}.")

    def _alias_note(self) -> str:
        if not self._aliases:
            return ""
        return " (aliases: " + ", ".join(f"{a} = {t}" for a, t in self._aliases.items()) + ")"

    def subset(self, kind: str, keep: Callable[[T], bool]) -> Registry[T]:
        """The values `keep` accepts, with the aliases that point at them, under another `kind`."""
        items = [(n, v) for n, v in self._items.items() if keep(v)]
        names = {n for n, _ in items}
        return Registry(kind, items, {a: t for a, t in self._aliases.items() if t in names})
