"""Slice rules typed as text, one condition a line (``country = DE``, ``price >= 20``,
``device in phone, tablet``, ``note is missing``), and stored conditions written back that way
for the rule form and the slice pages. The conditions themselves are
``quality.analysis.slices``'s."""

from __future__ import annotations

import math
import re
from typing import Any

from quality.analysis.slices import OPERATORS
from workbench.errors import BadInput

_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")


def value_text(value: Any) -> str:
    """A value as typed: lists comma-separated, whole floats without their ``.0``."""
    if isinstance(value, list | tuple):
        return ", ".join(value_text(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def condition_text(condition: Any) -> str:
    """A stored condition ``[field, operator, value]`` as the line one types in the rule form."""
    if not isinstance(condition, list | tuple) or len(condition) < 2:
        return str(condition)
    field, operator = str(condition[0]), str(condition[1])
    value = condition[2] if len(condition) > 2 else None
    if value is None:
        return f"{field} {operator}"
    return f"{field} {operator} {value_text(value)}"


def _scalar(text: str) -> Any:
    """A typed value: quoted stays text, a plain number becomes a number ('01234' stays text)."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    if _NUMBER.fullmatch(text):
        number = float(text)
        if math.isfinite(number):
            return int(text) if re.fullmatch(r"-?[0-9]+", text) else number
    return text


def _operator_at(rest: str) -> str | None:
    lowered = rest.lower()
    for operator in sorted([*OPERATORS, "=="], key=len, reverse=True):
        if not lowered.startswith(operator):
            continue
        # A word operator must end the line or be followed by a space: "in" is not "inside".
        after = rest[len(operator) : len(operator) + 1]
        if operator[0].isalpha() and after and not after.isspace():
            continue
        return operator
    return None


def parse_condition(line: str, fields: list[str]) -> list[Any]:
    """One typed condition, ``field operator value``, as ``[field, operator, value]``.

    The field is the longest of the dataset's fields the line starts with (so names may hold
    spaces), else the first word. ``in`` and ``not in`` take a comma-separated list. Raises
    ValueError with a message for the user."""
    line = line.strip()
    field = next(
        (
            f
            for f in sorted(fields, key=len, reverse=True)
            if line.startswith(f) and _operator_at(line[len(f) :].lstrip()) is not None
        ),
        None,
    )
    if field is None:
        match = re.match(r"[^\s=!<>]+", line)
        field = match.group(0) if match else ""
    rest = line[len(field) :].strip()
    operator = _operator_at(rest)
    if not field or operator is None:
        raise ValueError(
            f"'{line}' is not field operator value; use one of the operators {', '.join(OPERATORS)}"
        )
    raw = rest[len(operator) :].strip()
    operator = "=" if operator == "==" else operator
    if operator in ("is missing", "is not missing"):
        if raw:
            raise ValueError(f"'{line}': {operator} takes no value")
        return [field, operator, None]
    if not raw:
        raise ValueError(f"'{line}': {operator} needs a value")
    if operator in ("in", "not in"):
        values = [_scalar(v) for v in raw.split(",") if v.strip()]
        if not values:
            raise ValueError(f"'{line}': {operator} needs a list of values, separated by commas")
        return [field, operator, values]
    return [field, operator, _scalar(raw)]


def parse_conditions(text: str, fields: list[str]) -> list[list[Any]]:
    """A rule typed as one condition a line; blank lines are skipped. Raises BadInput with
    the line's number."""
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not lines:
        raise BadInput("Write at least one condition, such as: country = DE.")
    conditions = []
    for number, line in lines:
        try:
            conditions.append(parse_condition(line, fields))
        except ValueError as exc:
            raise BadInput(f"Line {number}: {exc}.") from exc
    return conditions
