"""Reading synthesized templates in tests."""

from __future__ import annotations

from collections.abc import Iterator


def resources_of(template: dict, type_: str) -> Iterator[tuple[str, dict]]:
    """(logical id, properties) of every resource of `type_` in this template."""
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == type_:
            yield logical_id, resource.get("Properties", {})


def resources(templates: dict, type_: str) -> Iterator[tuple[str, dict]]:
    """(logical id, properties) of every resource of `type_` in these templates."""
    for template in templates.values():
        yield from resources_of(template, type_)


def as_list(value) -> list:
    """A policy field that may be one value or a list of them, as a list."""
    return value if isinstance(value, list) else [value]
