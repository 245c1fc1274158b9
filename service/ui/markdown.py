"""A small, safe Markdown subset for job descriptions and log messages.

Safety comes from the order: the whole text is HTML-escaped first, and only then are a few
patterns turned into tags that we write ourselves (``strong``, ``em``, ``code``, ``pre``, ``h4``-
``h6``, ``ul``/``ol``/``li``, ``p``, and ``a`` whose ``href`` must start with ``http://``,
``https://`` or one ``/`` and holds no backslash). Nothing from the input can open a tag or an
attribute: ``<`` and quotes are already entities by the time any pattern runs.
"""

from __future__ import annotations

import re
from html import escape

from markupsafe import Markup

#: Characters that may start Markdown formatting; text without any of them is only escaped.
_MARKERS = frozenset("`*_[")
_TOKENS = re.compile(
    r"`(?P<code>[^`\n]+)`"
    # No backslash anywhere in a link: browsers read ``/\host`` as ``//host``, another site.
    r"|\[(?P<text>[^\]\n]+)\]\((?P<href>(?:https?://|/(?![/\\]))[^\s()<>\\]*)\)"
)
_STAR_STRONG = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_STAR_EMPHASIS = re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])")
_UNDERSCORE_STRONG = re.compile(r"(?<!\w)__(?=\S)(.+?)(?<=\S)__(?!\w)")
_UNDERSCORE_EMPHASIS = re.compile(r"(?<!\w)_(?=\S)(.+?)(?<=\S)_(?!\w)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d{1,9}[.)]\s+(.*)$")
_FENCE = re.compile(r"^\s*(```|~~~)")


def _emphasis(escaped: str) -> str:
    # Each pattern runs only when its marker is present: most log lines have none.
    if "*" in escaped:
        escaped = _STAR_STRONG.sub(r"<strong>\1</strong>", escaped)
        escaped = _STAR_EMPHASIS.sub(r"<em>\1</em>", escaped)
    if "_" in escaped:
        escaped = _UNDERSCORE_STRONG.sub(r"<strong>\1</strong>", escaped)
        escaped = _UNDERSCORE_EMPHASIS.sub(r"<em>\1</em>", escaped)
    return escaped


def _inline_escaped(escaped: str) -> str:
    """Format already-escaped text; code spans and links are taken out before emphasis runs."""
    if "`" not in escaped and "[" not in escaped:
        return _emphasis(escaped)
    parts, position = [], 0
    for match in _TOKENS.finditer(escaped):
        parts.append(_emphasis(escaped[position:match.start()]))
        if match.group("code") is not None:
            parts.append(f"<code>{match.group('code')}</code>")
        else:
            parts.append(f'<a href="{match.group("href")}" rel="nofollow noopener noreferrer">'
                         f'{_emphasis(match.group("text"))}</a>')
        position = match.end()
    parts.append(_emphasis(escaped[position:]))
    return "".join(parts)


def inline_html(text: str | None) -> str:
    """Render one message (code, emphasis, links) to an HTML string; line breaks are kept by CSS."""
    text = "" if text is None else str(text)
    escaped = escape(text)
    return escaped if _MARKERS.isdisjoint(text) else _inline_escaped(escaped)


def render_inline(text: str | None) -> Markup:
    """``inline_html`` as markup a template inserts as it is."""
    return Markup(inline_html(text))


def render_block(text: str | None) -> Markup:
    """Render a description: paragraphs, headings, lists and fenced code, with inline formatting."""
    html: list[str] = []
    paragraph: list[str] = []
    list_tag: str | None = None
    code: list[str] | None = None

    def close_paragraph() -> None:
        if paragraph:
            html.append("<p>" + "\n".join(_inline_escaped(line) for line in paragraph) + "</p>")
            paragraph.clear()

    def close_list() -> None:
        nonlocal list_tag
        if list_tag:
            html.append(f"</{list_tag}>")
            list_tag = None

    for line in escape(text or "").splitlines():
        if code is not None:
            if _FENCE.match(line):
                html.append("<pre><code>" + "\n".join(code) + "</code></pre>")
                code = None
            else:
                code.append(line)
            continue
        if _FENCE.match(line):
            close_paragraph()
            close_list()
            code = []
            continue
        if not line.strip():
            close_paragraph()
            close_list()
            continue
        heading = _HEADING.match(line)
        item = _BULLET.match(line) or _NUMBERED.match(line)
        if heading:
            close_paragraph()
            close_list()
            level = min(len(heading.group(1)) + 3, 6)  # page titles own h1-h3
            html.append(f"<h{level}>{_inline_escaped(heading.group(2))}</h{level}>")
        elif item:
            close_paragraph()
            tag = "ul" if _BULLET.match(line) else "ol"
            if list_tag != tag:
                close_list()
                html.append(f"<{tag}>")
                list_tag = tag
            html.append(f"<li>{_inline_escaped(item.group(1))}</li>")
        else:
            close_list()
            paragraph.append(line)
    if code is not None:
        html.append("<pre><code>" + "\n".join(code) + "</code></pre>")
    close_paragraph()
    close_list()
    return Markup("\n".join(html))
