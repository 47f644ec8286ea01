"""Operator-editable YAML files checked by pydantic models: every problem names the file, the line and the field."""
from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError


def read_text(file: Path, error: type[Exception]) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{file}: cannot read: {exc}") from None


def parse(text: str, name: str, error: type[Exception], expect: str) -> tuple[dict, yaml.Node | None]:
    """The YAML mapping and its composed node tree (for line numbers); `expect` says what the top should hold."""
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise error(f"{name}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
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
            problems.append(f"{name}{':' + str(line) if line else ''}: field {field}: {err['msg']}")
        raise error("\n".join(problems)) from None
