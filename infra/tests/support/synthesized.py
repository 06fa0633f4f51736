"""Reading synthesized templates in tests."""

from __future__ import annotations

from collections.abc import Iterator


def resources(templates: dict, type_: str) -> Iterator[tuple[str, dict]]:
    """(logical id, properties) of every resource of `type_` in these templates."""
    for template in templates.values():
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] == type_:
                yield logical_id, resource.get("Properties", {})
