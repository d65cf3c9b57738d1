"""Input rules in one place: each Field validates a value and describes itself as
JSON Schema, so the REST checks, the notebook faces and the OpenAPI document agree."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidInput

#: Bounds of a whole number the store can hold (a 64-bit signed integer).
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
#: How deep a JSON value may nest (objects and arrays), and a whole request body.
MAX_DEPTH = 32

JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


@dataclass(frozen=True)
class Field:
    """One input field: its JSON type and the rules a value must meet."""

    type: str
    description: str = ""
    nullable: bool = False
    max_length: int | None = None
    min_length: int | None = None
    pattern: str | None = None
    #: a regex that must match nowhere in the value (JSON Schema `not: {pattern}`)
    forbid: str | None = None
    rule: str = ""
    enum: tuple[str, ...] | None = None
    minimum: int | None = None
    maximum: int | None = None
    items: Field | None = None
    max_items: int | None = None
    check: Callable[[Any], str | None] | None = None
    normalize: Callable[[Any], Any] | None = None
    #: a secret (a token, a password): never quoted back in an error
    secret: bool = False
    #: values to suggest in a form (JSON Schema `examples`): not a rule, any valid value is taken
    examples: tuple[str, ...] = ()
    _regex: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.pattern:
            object.__setattr__(self, "_regex", re.compile(self.pattern))
        if self.type == "integer":  # nothing the store cannot hold gets past the check
            object.__setattr__(self, "minimum", INT64_MIN if self.minimum is None else self.minimum)
            object.__setattr__(self, "maximum", INT64_MAX if self.maximum is None else self.maximum)

    def clean(self, name: str, value: Any) -> Any:
        """The value, normalized, or InvalidInput naming `name` and the rule it broke."""
        if value is None:
            if self.nullable:
                return None
            raise InvalidInput(f"{name}: must not be null", field=name)
        if self.type == "integer" and isinstance(value, float) and value.is_integer():
            value = int(value)  # JSON Schema (and JavaScript) count 1.0 as an integer
        kinds = JSON_TYPES[self.type]
        if not isinstance(value, kinds) or (self.type in ("integer", "number") and isinstance(value, bool)):
            raise InvalidInput(f"{name}: must be {_article(self.type)} (got {_json_type(value)})", field=name)
        # text is checked where it is: an array of typed items leaves it to each item's rule
        problem = json_problem(value, content=self.items is None)
        if problem:
            raise InvalidInput(f"{name}: {problem}", field=name)
        if self.normalize is not None:
            value = self.normalize(value)
        if self.max_length is not None and isinstance(value, str) and len(value) > self.max_length:
            raise InvalidInput(f"{name}: must be at most {self.max_length} characters (got {len(value)})", field=name)
        if self.min_length is not None and isinstance(value, str) and len(value) < self.min_length:
            raise InvalidInput(f"{name}: must be at least {self.min_length} character(s)", field=name)
        if self.enum is not None and value not in self.enum:
            raise InvalidInput(f"{name}: must be one of {', '.join(self.enum)} (got {value!r})", field=name)
        if self._regex is not None and (
            not self._regex.fullmatch(value) or (self.forbid is not None and re.search(self.forbid, value))
        ):
            got = "value not shown" if self.secret else f"got {_short(value)}"
            raise InvalidInput(f"{name}: {self.rule or f'must match {self.pattern}'} ({got})", field=name)
        if self.minimum is not None and value < self.minimum:
            raise InvalidInput(f"{name}: must be at least {self.minimum} (got {value})", field=name)
        if self.maximum is not None and value > self.maximum:
            raise InvalidInput(f"{name}: must be at most {self.maximum} (got {value})", field=name)
        if self.type == "array":
            if self.max_items is not None and len(value) > self.max_items:
                raise InvalidInput(f"{name}: must have at most {self.max_items} items (got {len(value)})", field=name)
            if self.items is not None:
                value = [self.items.clean(f"{name}[{i}]", item) for i, item in enumerate(value)]
        if self.check is not None:
            problem = self.check(value)
            if problem:
                raise InvalidInput(f"{name}: {problem}", field=name)
        return value

    def json_schema(self) -> dict[str, Any]:
        """This field as a JSON Schema fragment (OpenAPI 3.1)."""
        schema: dict[str, Any] = {"type": [self.type, "null"] if self.nullable else self.type}
        for key, value in (
            ("description", self.description or self.rule),
            ("maxLength", self.max_length),
            ("minLength", self.min_length),
            ("pattern", f"^(?:{self.pattern})$" if self.pattern else None),
            ("enum", list(self.enum) if self.enum else None),
            ("minimum", self.minimum),
            ("maximum", self.maximum),
            ("maxItems", self.max_items),
            ("examples", list(self.examples) or None),
        ):
            if value is not None and value != "":
                schema[key] = value
        if self.items is not None:
            schema["items"] = self.items.json_schema()
        if self.forbid is not None:
            schema["not"] = {"type": "string", "pattern": self.forbid}
        return schema


Spec = Mapping[str, Field]


def clean(
    spec: Spec, data: Any, *, required: tuple[str, ...] = (), partial: bool = False, what: str = "body"
) -> dict[str, Any]:
    """Validate a JSON object against `spec`: no unknown fields, every rule met.

    `required` fields must be present unless `partial` (an update, which needs at
    least one field). Returns only the fields that were given, cleaned."""
    if not isinstance(data, dict):
        raise InvalidInput(f"{what}: must be a JSON object (got {_json_type(data)})", field=what)
    unknown = sorted(set(data) - set(spec))
    if unknown:
        raise InvalidInput(
            f"{unknown[0]}: unknown field; allowed fields are {', '.join(sorted(spec))}", field=unknown[0]
        )
    if not partial:
        for name in required:
            if name not in data:
                raise InvalidInput(f"{name}: is required", field=name)
    if partial and not data:
        raise InvalidInput(f"{what}: give at least one of {', '.join(sorted(spec))}", field=what)
    return {name: spec[name].clean(name, value) for name, value in data.items()}


def object_schema(spec: Spec, required: tuple[str, ...] = ()) -> dict[str, Any]:
    """`spec` as a closed JSON Schema object."""
    schema: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {name: rule.json_schema() for name, rule in spec.items()},
    }
    if required:
        schema["required"] = list(required)
    return schema


def json_problem(value: Any, max_depth: int = MAX_DEPTH, *, content: bool = True) -> str | None:
    """Why a decoded JSON value cannot be taken, or None: nested deeper than `max_depth`
    objects and arrays, or (with `content`) a number too large to be finite (`1e400`) or a
    string or key holding a lone surrogate, which no UTF-8 store or file name can hold.
    Walks without recursion."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if content and not _unicode(item):
                return "must be valid Unicode text (it holds a lone surrogate)"
        elif isinstance(item, float):
            if content and not math.isfinite(item):
                return "must hold finite numbers (JSON has no Infinity or NaN)"
        elif isinstance(item, (dict, list)):
            if depth >= max_depth:
                return f"must not nest deeper than {max_depth} levels"
            if isinstance(item, dict):
                for key, child in item.items():
                    if content and not _unicode(key):
                        return "must be valid Unicode text (a key holds a lone surrogate)"
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)
    return None


def _unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _json_type(value: Any) -> str:
    for name, kinds in JSON_TYPES.items():
        if isinstance(value, kinds) and not (name in ("integer", "number") and isinstance(value, bool)):
            return "a float" if isinstance(value, float) else _article(name)
    return "null" if value is None else type(value).__name__


def _article(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _short(value: str) -> str:
    return repr(value if len(value) <= 60 else value[:57] + "...")


@dataclass(frozen=True)
class Shape:
    """The fields of one kind of object: which are required to create it, which may change
    afterwards, which go `together` (all or none given), and of which `one_of` exactly one
    is given (not null, empty or 0)."""

    fields: Spec
    required: tuple[str, ...] = ()
    updatable: tuple[str, ...] = ()
    together: tuple[str, ...] = ()
    one_of: tuple[str, ...] = ()

    def for_create(self, data: Any) -> dict[str, Any]:
        """Cleaned input for a create; InvalidInput otherwise."""
        cleaned = clean(self.fields, data, required=self.required)
        if self.together:
            given = [name for name in self.together if name in cleaned]
            if given and len(given) != len(self.together):
                missing = next(name for name in self.together if name not in cleaned)
                raise InvalidInput(
                    f"{missing}: give {' and '.join(self.together)} together, or none of them", field=missing
                )
        if self.one_of and sum(1 for name in self.one_of if cleaned.get(name)) != 1:
            raise InvalidInput(
                f"{self.one_of[0]}: give exactly one of {' or '.join(self.one_of)}", field=self.one_of[0]
            )
        return cleaned

    def for_update(self, data: Any) -> dict[str, Any]:
        """Cleaned input for an update of the updatable fields; InvalidInput otherwise."""
        return clean(self._update_spec(), data, partial=True)

    def create_schema(self) -> dict[str, Any]:
        """JSON Schema of a create body (with the together and one-of rules)."""
        schema = object_schema(self.fields, self.required)
        if self.together:
            schema["dependentRequired"] = {
                name: [other for other in self.together if other != name] for name in self.together
            }
        if self.one_of:
            schema["oneOf"] = [
                {"required": [name], "properties": {name: {"not": {"enum": [None, "", 0]}}}} for name in self.one_of
            ]
        return schema

    def update_schema(self) -> dict[str, Any]:
        """JSON Schema of an update body (at least one field)."""
        return {**object_schema(self._update_spec()), "minProperties": 1}

    def _update_spec(self) -> dict[str, Field]:
        return {name: self.fields[name] for name in self.updatable}
