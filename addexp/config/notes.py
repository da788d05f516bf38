"""What a key, a schema or a config file is, in one line, read from where it is written already:
a schema field's trailing comment (`terms: int = 2  # operands per expression`), a schema's
docstring, a config file's header comment. `addexp --help` shows them; nothing is written twice.
"""

from __future__ import annotations

import ast
import inspect
import io
import re
import textwrap
import tokenize
from dataclasses import fields, is_dataclass


def field_notes(schema: type) -> dict[str, str]:
    """Each field of the dataclass `schema` -> the comment ending its line (its first line
    or its last, for a field written over several); a subclass's comment wins over its
    base's. A field without one, or a schema without source, has none."""
    notes: dict[str, str] = {}
    for klass in reversed(schema.__mro__):
        if is_dataclass(klass):
            notes.update(_trailing_comments(klass))
    names = {f.name for f in fields(schema)}
    return {name: note for name, note in notes.items() if name in names}


def _trailing_comments(klass: type) -> dict[str, str]:
    """The fields `klass` itself declares -> their trailing comments."""
    try:
        source = textwrap.dedent(inspect.getsource(klass))
    except (OSError, TypeError):  # made at run time (make_dataclass) or shipped without source
        return {}
    comments = {
        token.start[0]: token.string.lstrip("#").strip()
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
    }
    body = ast.parse(source).body[0]
    declared = [
        node
        for node in getattr(body, "body", [])
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
    ]
    found = {}
    for node in declared:
        note = comments.get(node.lineno) or comments.get(node.end_lineno or node.lineno)
        if note:
            found[node.target.id] = note
    return found


def summary(schema: type) -> str:
    """The first sentence of `schema`'s docstring (its first paragraph, on one line)."""
    doc = inspect.getdoc(schema) or ""
    paragraph = " ".join(doc.split("\n\n")[0].split())
    return re.split(r"(?<=\.)\s", paragraph, maxsplit=1)[0]


def header_line(text: str) -> str:
    """A config file's one-line summary: the first line of its header comment (the comment
    lines it starts with), Hydra's `# @package` line left out; "" without a header."""
    for line in text.splitlines():
        if not line.startswith("#"):
            return ""
        said = line.lstrip("#").strip()
        if said and not said.startswith("@package"):
            return said
    return ""
