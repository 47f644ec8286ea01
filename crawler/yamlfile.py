"""Operator-editable YAML files checked by pydantic models: every problem names the file, the line and the field."""
from __future__ import annotations

import difflib
from pathlib import Path
from typing import get_args

import yaml
from pydantic import BaseModel, ValidationError

# libyaml's parser (PyYAML's C binding) reads sources.yaml about nine times faster than the pure-Python one; every
# hiwatch command reads it, so it counts in each cron run's start-up. The pure-Python loader where libyaml is absent.
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_text(file: Path, error: type[Exception]) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{file}: cannot read: {exc}") from None


def duplicate_keys(node: yaml.Node | None, name: str) -> list[str]:
    """'file:line: key 'x' appears twice …' for every key repeated in one mapping (YAML would keep only the last)."""
    problems: list[str] = []
    stack = [node] if node is not None else []
    while stack:
        current = stack.pop()
        if isinstance(current, yaml.MappingNode):
            first: dict[str, int] = {}
            for key_node, value_node in current.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                    line = key_node.start_mark.line + 1
                    if key_node.value in first:
                        problems.append(f"{name}:{line}: key {key_node.value!r} appears twice in one mapping "
                                        f"(first on line {first[key_node.value]}); remove one")
                    else:
                        first[key_node.value] = line
                stack.append(value_node)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
    return sorted(problems, key=lambda p: int(p[len(name) + 1:].split(":", 1)[0]))


def parse(text: str, name: str, error: type[Exception], expect: str) -> tuple[dict, yaml.Node | None]:
    """The YAML mapping and its composed node tree (for line numbers); `expect` says what the top should hold.

    A key given twice in one mapping is an error naming both lines (plain YAML silently keeps the last)."""
    try:
        node = yaml.compose(text, Loader=LOADER)
        data = yaml.load(text, Loader=LOADER)  # noqa: S506 — a safe loader (CSafeLoader or SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise error(f"{name}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    repeated = duplicate_keys(node, name)
    if repeated:
        raise error("\n".join(repeated))
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise error(f"{name}: expected a mapping with {expect}")
    return data, node


def line_of(node: yaml.Node | None, loc: tuple) -> int | None:
    """The 1-based line of a key path (mapping keys and list indexes) in a composed document, as deep as it exists."""
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == str(part):
                    line, node = key_node.start_mark.line + 1, value_node
                    break
            else:
                break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _models_in(annotation) -> list[type[BaseModel]]:
    """The pydantic models an annotation can hold (through list, dict, Optional, Union, Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in get_args(annotation) for model in _models_in(arg)]


def fields_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """The field names known where the last part of `loc` sits (for a 'did you mean' hint on an unknown key)."""
    models = [model]
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        inner = [m for m in models if part in m.model_fields]
        if inner:
            models = [found for m in inner for found in _models_in(m.model_fields[part].annotation)]
        else:  # a union tag pydantic puts into loc ('list', 'json' …): the members whose `type` allows it
            tagged = [m for m in models
                      if "type" in m.model_fields and part in get_args(m.model_fields["type"].annotation)]
            models = tagged or models
    return sorted({name for m in models for name in m.model_fields})


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def explain(err: dict, known: list[str] = ()) -> str:
    """pydantic's error in the operator's words: what is wrong with the value, with a hint for a mistyped key."""
    kind, ctx, got = err["type"], err.get("ctx") or {}, err.get("input")
    if kind == "extra_forbidden":
        key = str(err["loc"][-1]) if err["loc"] else "?"
        close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else (f" (known here: {', '.join(known)})" if known else "")
        return f"unknown setting {key!r}{hint}"
    if kind == "missing":
        return "required but missing"
    if kind in ("greater_than_equal", "greater_than"):
        return f"must be at least {ctx.get('ge', ctx.get('gt'))}, not {_shown(got)}"
    if kind in ("less_than_equal", "less_than"):
        return f"must be at most {ctx.get('le', ctx.get('lt'))}, not {_shown(got)}"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length', 1)} item(s)"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}, not {_shown(got)}"
    if kind == "union_tag_invalid":
        return f"type must be one of {ctx.get('expected_tags')}, not {_shown(ctx.get('tag'))}"
    if kind == "union_tag_not_found":
        return f"needs a `{ctx.get('discriminator', 'type').strip(chr(39))}:`"
    if kind == "string_pattern_mismatch":
        return f"{_shown(got)} does not have the expected form ({ctx.get('pattern')})"
    wanted = {"string_type": "text", "int_parsing": "a whole number", "int_type": "a whole number",
              "int_from_float": "a whole number", "float_parsing": "a number", "float_type": "a number",
              "bool_parsing": "true or false", "bool_type": "true or false", "list_type": "a list",
              "dict_type": "a mapping (key: value lines)", "model_type": "a mapping (key: value lines)",
              "model_attributes_type": "a mapping (key: value lines)"}.get(kind)
    if wanted:
        return f"must be {wanted}, not {_shown(got)}"
    message = err["msg"]
    return message[len("Value error, "):] if message.startswith("Value error, ") else message


def validate(model: type[BaseModel], data: dict, node: yaml.Node | None, name: str, error: type[Exception]):
    """model.model_validate(data), or `error` listing each problem as `file:line: field a.b: message`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            line = line_of(node, loc)
            field = ".".join(str(part) for part in loc) or "(file)"
            where = f"{name}:{line}" if line else name
            problems.append(f"{where}: field {field}: {explain(err, fields_at(model, loc))}")
        raise error("\n".join(problems)) from None
