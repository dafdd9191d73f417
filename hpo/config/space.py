"""A search space read from YAML; the same object drives TPE/random (`suggest`) and grid (`grid`).

params:
  lr:         {type: float, low: 1.0e-5, high: 1.0e-1, log: true, grid: [1.0e-4, 1.0e-3]}
  optimizer:  {type: categorical, choices: [sgd, adam]}
  batch_size: {type: int, low: 16, high: 128, log: true}
  dropout:    {type: float, low: 0.0, high: 0.5, step: 0.1}
fixed:
  weight_decay: 0.0
grid_points: 5        # optional: values per numeric axis when it has no `grid:` list
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpo.config.paths import is_file
from hpo.config.yaml_files import read_yaml
from hpo.errors import UsageError, did_you_mean

if TYPE_CHECKING:
    import optuna

Value = Any  # float | int | str | bool | None: what Optuna's categorical distribution allows
DEFAULT_GRID_POINTS = 5


@dataclass(frozen=True)
class NumericParam:
    """A float or int range, optionally log-scaled or stepped, with an optional explicit grid."""

    name: str
    kind: str  # "float" or "int"
    low: float
    high: float
    log: bool = False
    step: float | None = None
    grid: tuple[Value, ...] | None = None

    def suggest(self, trial: optuna.Trial) -> Value:
        if self.kind == "int":
            step = int(self.step) if self.step else 1
            return trial.suggest_int(
                self.name, int(self.low), int(self.high), step=step, log=self.log
            )
        return trial.suggest_float(self.name, self.low, self.high, step=self.step, log=self.log)

    def grid_values(self, points: int) -> list[Value]:
        if self.grid is not None:
            return list(self.grid)
        if self.step:
            count = int(math.floor((self.high - self.low) / self.step + 0.5)) + 1
            values = [self.low + i * self.step for i in range(count)]
        elif self.log:
            ratio = math.log(self.high / self.low)
            values = [self.low * math.exp(ratio * i / (points - 1)) for i in range(points)]
            values[-1] = self.high
        else:
            values = [self.low + (self.high - self.low) * i / (points - 1) for i in range(points)]
            values[-1] = self.high
        if self.kind == "int":
            return sorted({int(round(v)) for v in values})
        return [float(round(v, 12)) for v in values]


@dataclass(frozen=True)
class CategoricalParam:
    name: str
    choices: tuple[Value, ...]

    def suggest(self, trial: optuna.Trial) -> Value:
        return trial.suggest_categorical(self.name, list(self.choices))

    def grid_values(self, points: int) -> list[Value]:
        return list(self.choices)


Param = NumericParam | CategoricalParam


@dataclass(frozen=True)
class SearchSpace:
    params: dict[str, Param]
    fixed: dict[str, Value] = field(default_factory=dict)
    grid_points: int = DEFAULT_GRID_POINTS
    source: str = "<dict>"

    def names(self) -> list[str]:
        """Every hyperparameter this space sets, searched or fixed."""
        return [*self.params, *self.fixed]

    def possible_values(self) -> dict[str, list[Value]]:
        """Every value the space can give a name: a categorical's choices, a fixed value, a
        numeric axis's range ends and grid (for checks made before anything is built)."""
        out: dict[str, list[Value]] = {name: [value] for name, value in self.fixed.items()}
        for name, p in self.params.items():
            if isinstance(p, CategoricalParam):
                out[name] = list(p.choices)
            else:
                out[name] = [p.low, p.high, *(p.grid or ())]
        return out

    def suggest(self, trial: optuna.Trial) -> dict[str, Value]:
        """Sample each searched parameter through the trial; fixed values pass through."""
        return {**{name: p.suggest(trial) for name, p in self.params.items()}, **self.fixed}

    def grid(self, points: int | None = None) -> dict[str, list[Value]]:
        """The lattice GridSampler walks: `grid:` lists, else `points` per numeric axis."""
        n = points or self.grid_points
        return {name: p.grid_values(n) for name, p in self.params.items()}

    def grid_size(self, points: int | None = None) -> int:
        return math.prod(len(values) for values in self.grid(points).values())

    def to_dict(self) -> dict[str, Any]:
        """Plain data, stored on the study so a rerun can tell whether the space changed."""
        params: dict[str, Any] = {}
        for name, p in self.params.items():
            if isinstance(p, CategoricalParam):
                params[name] = {"type": "categorical", "choices": list(p.choices)}
            else:
                spec: dict[str, Any] = {"type": p.kind, "low": p.low, "high": p.high}
                if p.log:
                    spec["log"] = True
                if p.step is not None:
                    spec["step"] = p.step
                if p.grid is not None:
                    spec["grid"] = list(p.grid)
                params[name] = spec
        return {"params": params, "fixed": dict(self.fixed), "grid_points": self.grid_points}


def load_space(path: str | Path) -> SearchSpace:
    """Read and validate a space file; every problem is a one-line UsageError naming the file."""
    path = Path(path)
    if not is_file(path):
        raise UsageError(f"search space file {path} not found; pass --space with a YAML file")
    return parse_space(read_yaml(path), source=str(path))


def parse_space(data: object, source: str = "<dict>") -> SearchSpace:
    if not isinstance(data, dict) or not isinstance(data.get("params"), dict):
        raise UsageError(f"{source}: expected a mapping with a 'params:' section")
    _check_keys(data, set(TOP_LEVEL), source)
    fixed = data.get("fixed") or {}
    if not isinstance(fixed, dict):
        raise UsageError(f"{source}: 'fixed:' must be a mapping of name: value")
    for name in [*data["params"], *fixed]:
        if not isinstance(name, str) or not name.isidentifier():
            raise UsageError(f"{source}: {name!r} cannot name a hyperparameter; use a word")
    params = {name: _parse_param(name, spec, source) for name, spec in data["params"].items()}
    overlap = set(params) & set(fixed)
    if overlap:
        raise UsageError(f"{source}: {sorted(overlap)} both searched and fixed; keep one")
    grid_points = data.get("grid_points", DEFAULT_GRID_POINTS)
    if not isinstance(grid_points, int) or isinstance(grid_points, bool) or grid_points < 2:
        raise UsageError(f"{source}: grid_points must be an integer ≥ 2, got {grid_points!r}")
    return SearchSpace(params, dict(fixed), grid_points, source)


TOP_LEVEL = ("params", "fixed", "grid_points")


def _parse_param(name: str, spec: object, source: str) -> Param:
    where = f"{source}: params.{name}"
    if not isinstance(spec, dict) or "type" not in spec:
        raise UsageError(f"{where}: expected a mapping with 'type: float|int|categorical'")
    kind = spec["type"]
    if kind == "categorical":
        return _parse_categorical(name, spec, where)
    if kind in ("float", "int"):
        return _parse_numeric(name, kind, spec, where)
    raise UsageError(f"{where}: unknown type {kind!r}; use float, int or categorical")


def _parse_categorical(name: str, spec: dict[str, Any], where: str) -> CategoricalParam:
    _check_keys(spec, {"type", "choices"}, where)
    choices = spec.get("choices")
    if not isinstance(choices, list) or not choices:
        raise UsageError(f"{where}: 'choices' must be a non-empty list")
    if len(set(map(repr, choices))) != len(choices):
        raise UsageError(f"{where}: 'choices' has duplicates")
    for choice in choices:
        if choice is not None and not isinstance(choice, bool | int | float | str):
            raise UsageError(f"{where}: choice {choice!r} must be a number, string, bool or null")
    return CategoricalParam(name, tuple(choices))


def _parse_numeric(name: str, kind: str, spec: dict[str, Any], where: str) -> NumericParam:
    _check_keys(spec, {"type", "low", "high", "log", "step", "grid"}, where)
    low, high = _number(spec, "low", where), _number(spec, "high", where)
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise UsageError(f"{where}: 'log' must be true or false, got {log!r}")
    step = _number(spec, "step", where) if spec.get("step") is not None else None
    if low >= high:
        raise UsageError(f"{where}: low ({low:g}) must be less than high ({high:g})")
    if log and low <= 0:
        raise UsageError(f"{where}: log: true needs low > 0, got {low:g}")
    if step is not None and (step <= 0 or log):
        raise UsageError(f"{where}: step must be positive and cannot be combined with log: true")
    if kind == "int" and not all(float(v).is_integer() for v in (low, high, step or 1)):
        raise UsageError(f"{where}: an int parameter needs whole-number low, high and step")
    grid = _parse_grid(spec.get("grid"), kind, low, high, where)
    return NumericParam(name, kind, low, high, log, step, grid)


def _parse_grid(
    grid: object, kind: str, low: float, high: float, where: str
) -> tuple[Value, ...] | None:
    if grid is None:
        return None
    if not isinstance(grid, list) or not grid:
        raise UsageError(f"{where}: 'grid' must be a non-empty list of values")
    values = [_as_number(v, f"{where}: 'grid' value") for v in grid]
    if kind == "int" and not all(v.is_integer() for v in values):
        raise UsageError(f"{where}: an int parameter's 'grid' needs whole numbers, got {grid!r}")
    values = [int(v) if kind == "int" else v for v in values]
    outside = [v for v in values if not low <= v <= high]
    if outside:
        raise UsageError(f"{where}: grid values {outside} lie outside [{low:g}, {high:g}]")
    return tuple(values)


def _number(spec: dict[str, Any], key: str, where: str) -> float:
    if key not in spec:
        raise UsageError(f"{where}: missing '{key}'")
    return _as_number(spec[key], f"{where}: '{key}'")


def _as_number(value: object, what: str) -> float:
    """A finite float; PyYAML reads "1e-5" (no dot) as a string: accept it."""
    try:
        number = float(value) if not isinstance(value, bool) else math.nan  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        number = math.nan
    if not math.isfinite(number):
        raise UsageError(f"{what} must be a finite number, got {value!r}")
    return number


def _check_keys(spec: dict[Any, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(map(str, set(spec) - allowed))
    if unknown:
        hint = did_you_mean(unknown[0], allowed) if len(unknown) == 1 else ""
        raise UsageError(
            f"{where}: unknown key(s) {unknown}{hint}; allowed: {', '.join(sorted(allowed))}"
        )
