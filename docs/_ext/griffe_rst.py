"""A griffe extension for the API reference: render zkinfer's reST-flavoured docstrings as Markdown.

zkinfer's docstrings use Google-style sections ("Arguments:", "Returns:", "Raises:") but a few
reST habits in the prose: cross-reference roles (``:func:`zkinfer.prover.setup```), simple tables
framed by ``====  ====`` lines, and ``::`` before literal blocks. Markdown would show the roles
verbatim and read a table's ``====`` line as a heading underline. This extension rewrites the
docstring text griffe hands to mkdocstrings (never the source files):

- a role becomes inline code of its target (``~a.b.c`` shows ``c``; ``Title <target>`` shows
  ``Title``);
- a simple table becomes a preformatted block (markup removed, columns kept aligned);
- a trailing ``::`` becomes ``:``.

Loaded by ``mkdocs.yml`` (``extensions: - docs/_ext/griffe_rst.py``); not part of the package.
"""

from __future__ import annotations

import re

import griffe

_ROLE = re.compile(r":(?:py:)?(?:func|class|mod|meth|attr|data|exc|obj|const):`([^`]+)`")
_RULE = re.compile(r"^\s*=+(\s+=+)+\s*$")


def _role_text(target: str) -> str:
    target = target.strip()
    title = re.match(r"^(.*?)\s*<([^>]+)>$", target)
    if title:
        return title.group(1).strip()
    if target.startswith("~"):
        return target[1:].rsplit(".", 1)[-1]
    return target


def _roles(text: str) -> str:
    return _ROLE.sub(lambda m: f"`{_role_text(m.group(1))}`", text)


def _strip(cell: str) -> str:
    return _ROLE.sub(lambda m: _role_text(m.group(1)), cell).replace("``", "")


def _plain(line: str, starts: list[int]) -> str:
    """A table line without markup, cut at the column starts of the rule above it and padded
    so that the columns stay aligned."""
    if _RULE.match(line):
        return line
    cells = [line[a:b] for a, b in zip(starts, starts[1:] + [len(line) + 1])]
    text = [_strip(c).rstrip() for c in cells]
    return line[: starts[0]] + "".join(t.ljust(b - a) for t, a, b in
                                       zip(text[:-1], starts, starts[1:])) + text[-1]


def _tables(text: str) -> str:
    """Simple tables (three ``====`` rules: top, under the header, bottom) as fenced text."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        if _RULE.match(lines[i]):
            rules = [i]
            j = i + 1
            while j < len(lines) and len(rules) < 3:
                if _RULE.match(lines[j]):
                    rules.append(j)
                j += 1
            if len(rules) == 3:
                indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
                out.append(indent + "```text")
                starts = [m.start() for m in re.finditer(r"=+", lines[i])]
                for line in lines[i: rules[2] + 1]:
                    out.append(_plain(line, starts))
                out.append(indent + "```")
                i = rules[2] + 1
                continue
        out.append(lines[i])
        i += 1
    return "\n".join(out)


def rewrite(text: str) -> str:
    """The Markdown form of one docstring (see the module docstring)."""
    text = _roles(_tables(text))
    return re.sub(r"(\S)::[ \t]*$", r"\1:", text, flags=re.MULTILINE)


class ReSTRoles(griffe.Extension):
    """Rewrite every docstring once the object tree is loaded."""

    def on_object(self, *, obj: griffe.Object, **kwargs: object) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rewrite(obj.docstring.value)
