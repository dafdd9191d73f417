"""Name → "module:function" registries, resolved only when a component is built.

    MODELS = Registry("model", {"mnist_cnn": "hpo.train.models.cnn:mnist_cnn"})
    MODELS.check("mnist_cnn")              # a name check: imports nothing
    MODELS.parameters("mnist_cnn")         # {"width": 1, "dropout": 0.0, ...}: read from source
    MODELS.get("mnist_cnn")(**kwargs)      # imports hpo.train.models.cnn now

An entry may bind keyword arguments, `("hpo.train.models.resnet:resnet", {"depth": 18})`, so one
function serves a family of names. Names, first docstring lines (`--list`) and keyword parameters
(what a search space may set) are read from the source with `ast`, so bad input is refused before
torch or Lightning are imported; a test checks them against `inspect`. Code outside the package
(a benchmark, a notebook) can add a factory object with `MODELS.add("mine", my_factory)`, for
this process only.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from hpo.errors import unknown_choice

PACKAGE_ROOT = Path(__file__).resolve().parent
Target = str | tuple[str, Mapping[str, Any]]
Factory = Callable[..., Any]
#: Default of a parameter whose default is not a literal (or that has none).
NOT_LITERAL = object()


class Registry:
    """A named table of factories with one-line errors and a "did you mean" for unknown names."""

    def __init__(self, kind: str, entries: Mapping[str, Target]) -> None:
        self.kind = kind
        self._entries: dict[str, tuple[str | Factory, dict[str, Any]]] = {
            name: (target, {}) if isinstance(target, str) else (target[0], dict(target[1]))
            for name, target in entries.items()
        }

    def add(self, name: str, factory: Factory) -> None:
        """Register a factory object at run time (this process only)."""
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = (factory, {})

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def check(self, name: object) -> None:
        """UsageError naming the choices (and the nearest one) unless `name` is registered."""
        if name not in self._entries:
            raise unknown_choice(self.kind, name, self.names())

    def get(self, name: str) -> Callable[..., Any]:
        """The factory, imported now (with its bound keyword arguments, if any)."""
        target, bound = self._entries[self._checked(name)]
        factory = resolve(target) if isinstance(target, str) else target
        return functools.partial(factory, **bound) if bound else factory

    def parameters(self, name: str) -> dict[str, Any]:
        """Keyword parameters of the factory and their defaults, bound ones excluded."""
        target, bound = self._entries[self._checked(name)]
        if not isinstance(target, str):
            return _object_parameters(target)
        return {k: v for k, v in source_parameters(target).items() if k not in bound}

    def summary(self, name: str) -> str:
        """The first line of the factory's docstring, with bound arguments filled in."""
        target, bound = self._entries[self._checked(name)]
        doc = source_docstring(target) if isinstance(target, str) else inspect.getdoc(target)
        line = (doc or "").split("\n", 1)[0]
        return line.format(**bound) if bound else line

    def describe(self) -> dict[str, str]:
        """Name → summary, for `--list`."""
        return {name: self.summary(name) for name in self.names()}

    def _checked(self, name: str) -> str:
        self.check(name)
        return name


def resolve(target: str) -> Any:
    """'pkg.module:attr.attr' → the object (imports the module)."""
    module, _, qualname = target.partition(":")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


@functools.cache
def _definition(target: str) -> ast.FunctionDef | ast.ClassDef:
    module, _, qualname = target.partition(":")
    parts = module.split(".")
    if parts[0] != PACKAGE_ROOT.name:
        raise ValueError(f"registry targets must live in {PACKAGE_ROOT.name}/, got {target}")
    path = PACKAGE_ROOT.joinpath(*parts[1:]).with_suffix(".py")
    if not path.is_file():
        path = PACKAGE_ROOT.joinpath(*parts[1:], "__init__.py")
    body: list[ast.stmt] = ast.parse(path.read_text(), str(path)).body
    node: ast.AST | None = None
    for name in qualname.split("."):
        node = next(
            (n for n in body if isinstance(n, ast.FunctionDef | ast.ClassDef) and n.name == name),
            None,
        )
        if node is None:
            raise ValueError(f"{target}: no function or class {name!r} in {path}")
        body = node.body
    assert isinstance(node, ast.FunctionDef | ast.ClassDef)
    return node


def source_docstring(target: str) -> str:
    return ast.get_docstring(_definition(target)) or ""


@functools.cache
def source_parameters(target: str) -> dict[str, Any]:
    """Keyword-capable parameters of a function (or a class's __init__, minus `self`) and their
    literal defaults (NOT_LITERAL when there is none or it is an expression), from the source."""
    node = _definition(target)
    if isinstance(node, ast.ClassDef):
        init = next(
            (n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"),
            None,
        )
        if init is None:
            return {}
        node = init
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    defaults = [NOT_LITERAL] * (len(positional) - len(args.defaults)) + list(args.defaults)
    pairs = [(a.arg, d) for a, d in zip(positional, defaults, strict=True)]
    pairs = [p for p in pairs if p[0] not in {a.arg for a in args.posonlyargs}]
    pairs += [(a.arg, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)]
    out = {name: _literal(default) for name, default in pairs}
    out.pop("self", None)
    return out


def _object_parameters(factory: Factory) -> dict[str, Any]:
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {
        p.name: NOT_LITERAL if p.default is p.empty else p.default
        for p in inspect.signature(factory).parameters.values()
        if p.kind in kinds
    }


def _literal(node: object) -> Any:
    if not isinstance(node, ast.expr):
        return NOT_LITERAL
    try:
        return ast.literal_eval(node)
    except ValueError:
        return NOT_LITERAL
