"""Template filters of the revisions partials."""

from __future__ import annotations

from collections.abc import Iterable

from django import template

register = template.Library()


@register.filter
def and_list(items: Iterable[object]) -> str:
    """ "a", "a and b", "a, b and c": one "and", never a chain of them."""
    names = [str(item) for item in items]
    if len(names) < 2:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"
