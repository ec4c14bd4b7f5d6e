"""Path templates of ``google.api.http`` rules: parsing and matching.

The grammar is the one ``google/api/http.proto`` gives::

    Template = "/" Segments [ Verb ] ;
    Segments = Segment { "/" Segment } ;
    Segment  = "*" | "**" | LITERAL | Variable ;
    Variable = "{" FieldPath [ "=" Segments ] "}" ;
    Verb     = ":" LITERAL ;

A request path is split the same way: the verb is what follows the last
``:`` of the last segment, and each segment is percent-decoded after
splitting, so an encoded ``/`` or ``:`` stays inside its segment.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote


class TemplateError(ValueError):
    """A path template does not follow the grammar; the message names it."""


@dataclass(frozen=True)
class Segment:
    """One segment: a literal, or ``*`` (one segment) or ``**`` (the rest)."""

    text: str
    # The field path of the variable this segment belongs to, if any.
    variable: str | None = None

    @property
    def wildcard(self) -> bool:
        return self.text in ("*", "**")

    def fits(self, part: str) -> bool:
        """Whether one request segment fits this one: ``*`` takes any but
        an empty one, a literal only itself."""
        return bool(part) if self.wildcard else part == self.text


@dataclass(frozen=True)
class PathTemplate:
    """A parsed template: its segments in order, and its verb."""

    source: str
    segments: tuple[Segment, ...]
    verb: str | None

    @property
    def variables(self) -> tuple[str, ...]:
        """The field paths the template binds, in order."""
        seen: dict[str, None] = {}
        for segment in self.segments:
            if segment.variable is not None:
                seen.setdefault(segment.variable)
        return tuple(seen)

    @property
    def literal_count(self) -> int:
        """How many segments are literals: the more, the more specific."""
        return sum(not segment.wildcard for segment in self.segments)

    def match(self, path: RequestPath) -> dict[str, str] | None:
        """The variables' values when ``path`` fits, else ``None``."""
        if path.verb != self.verb:
            return None
        values: dict[str, list[str]] = {}
        position = 0
        for segment in self.segments:
            if segment.text == "**":
                taken = path.segments[position:]
            elif position < len(path.segments) and segment.fits(
                path.segments[position]
            ):
                taken = path.segments[position : position + 1]
            else:
                return None
            position += len(taken)
            if segment.variable is not None:
                values.setdefault(segment.variable, []).extend(taken)
        if position != len(path.segments):
            return None
        return {name: "/".join(parts) for name, parts in values.items()}


@dataclass(frozen=True)
class RequestPath:
    """A request's path split into decoded segments and a verb."""

    segments: tuple[str, ...]
    verb: str | None

    @classmethod
    def parse(cls, raw_path: str) -> RequestPath:
        """Splits the still percent-encoded path of a request."""
        parts = raw_path.lstrip("/").split("/")
        last, colon, verb = parts[-1].rpartition(":")
        verb_text: str | None = None
        if colon:
            parts[-1], verb_text = last, unquote(verb)
        return cls(tuple(unquote(part) for part in parts), verb_text)


def parse_template(source: str) -> PathTemplate:
    """Parses ``source``; raises :class:`TemplateError` naming what is wrong."""
    if not source.startswith("/"):
        raise TemplateError(f"path template {source!r} must start with '/'")
    raw_segments = _split_outside_braces(source[1:], "/")
    last = _split_outside_braces(raw_segments[-1], ":")
    if len(last) > 2:
        raise TemplateError(f"path template {source!r} has more than one verb")
    verb = last[1] if len(last) == 2 else None
    raw_segments[-1] = last[0]
    segments: list[Segment] = []
    for raw in raw_segments:
        segments.extend(_parse_segment(raw, source))
    if any(s.text == "**" for s in segments[:-1]):
        raise TemplateError(f"path template {source!r} may use '**' only last")
    return PathTemplate(source, tuple(segments), verb)


def _parse_segment(raw: str, source: str) -> list[Segment]:
    if not raw:
        raise TemplateError(f"path template {source!r} has an empty segment")
    if not raw.startswith("{"):
        if "{" in raw or "}" in raw:
            raise TemplateError(f"path template {source!r}: bad segment {raw!r}")
        return [Segment(raw)]
    if not raw.endswith("}"):
        raise TemplateError(f"path template {source!r}: unclosed variable {raw!r}")
    name, _, inner = raw[1:-1].partition("=")
    if not name or not all(part.isidentifier() for part in name.split(".")):
        raise TemplateError(f"path template {source!r}: bad field path {name!r}")
    inner = inner or "*"
    parts = inner.split("/")
    if any(not part or "{" in part or "}" in part for part in parts):
        raise TemplateError(f"path template {source!r}: bad variable {raw!r}")
    return [Segment(part, name) for part in parts]


def _split_outside_braces(text: str, separator: str) -> list[str]:
    """Splits ``text`` at each ``separator`` not inside ``{...}``."""
    parts, current, depth = [], [], 0
    for char in text:
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        if char == separator and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts
