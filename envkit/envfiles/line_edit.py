"""Edits of an environment file that keep every line envkit does not manage, verbatim and in place.

`env check --fix` replaces only its own lines (Python, TensorFlow, its CUDA, Keras, NumPy, pip);
everything else the user wrote stays byte for byte where it was: comments, blank lines,
``--index-url`` and ``--extra-index-url`` (dropping a private index would send private package
names to the public one), ``-e .``, ``-r``, VCS URLs, local paths, ``prefix:``, variables.

For an environment.yml the YAML is composed (never constructed) to find the line of each item;
a layout these edits cannot keep (flow style, an item spread over lines) returns None, and the
caller writes the whole file instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import yaml

from envkit.envfiles.emit import scalar
from envkit.records import record

_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_LINE_BREAK = re.compile(r"(\r\n|\r|\n|\x85|\u2028|\u2029)")
"""The line breaks YAML counts lines by (str.splitlines knows more, and would miscount)."""
_COMMENT = re.compile(r"(^|\s)#.*$")


@record
class Managed:
    """What the fix writes, and which of the file's lines (1-based) it replaces."""

    conda: tuple[str, ...]
    pip: tuple[str, ...]
    replaced_lines: frozenset[int]
    channels: tuple[str, ...] = ()
    """Channels to add when the file names none."""
    variables: tuple[tuple[str, str], ...] = ()
    """Variables to set (added, or the line of the same name replaced)."""
    header: tuple[str, ...] = ()
    name: str | None = None
    """A name: line to add when the file has neither name: nor prefix:."""


def split_lines(text: str) -> list[str]:
    """The file's lines, each with its own line break, as YAML numbers them."""
    parts = _LINE_BREAK.split(text)
    lines = [parts[i] + parts[i + 1] for i in range(0, len(parts) - 1, 2)]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _newline(lines: Sequence[str]) -> str:
    for line in lines:
        match = _LINE_BREAK.search(line)
        if match:
            return match.group(0)
    return "\n"


# ---------------------------------------------------------------- requirements.txt


def edit_requirements(text: str, managed: Managed) -> str:
    lines = split_lines(text)
    newline = _newline(lines)
    spans = _requirement_spans(lines, managed.replaced_lines)
    skip = {index for start, end in spans.items() for index in range(start, end)}
    new = [requirement + newline for requirement in managed.pip]
    insert_at = min(spans) if spans else len(lines)
    out = [f"# {line}".rstrip() + newline for line in managed.header]
    for index, line in enumerate(lines):
        if index == insert_at:
            out += new
        if index not in skip:
            out.append(line)
    if insert_at == len(lines):
        if out and not out[-1].endswith(("\n", "\r")):
            out[-1] += newline
        out += new
    return "".join(out)


def _requirement_spans(lines: Sequence[str], starts: Iterable[int]) -> dict[int, int]:
    """0-based [start, end) of each replaced logical line, backslash continuations included."""
    spans: dict[int, int] = {}
    for line_number in starts:
        start = line_number - 1
        if not 0 <= start < len(lines):
            continue
        end = start
        while end < len(lines) and _COMMENT.sub("", lines[end].rstrip("\r\n")).rstrip().endswith(
            "\\"
        ):
            end += 1
        spans[start] = min(end + 1, len(lines))
    return spans


# ---------------------------------------------------------------- environment.yml


def edit_conda(text: str, managed: Managed) -> str | None:
    """The file with its managed lines replaced, or None when its layout does not allow it."""
    try:
        root = yaml.compose(text, Loader=_SAFE_LOADER)
    except (yaml.YAMLError, RecursionError):
        return None
    if not isinstance(root, yaml.MappingNode) or root.flow_style:
        return None
    lines = split_lines(text)
    newline = _newline(lines)
    keys = {
        key.value: (key, value) for key, value in root.value if isinstance(key, yaml.ScalarNode)
    }
    if "dependencies" not in keys:
        return None
    deps = keys["dependencies"][1]
    if not isinstance(deps, yaml.SequenceNode) or deps.flow_style or not deps.value:
        return None
    edits = _Edits(lines, newline)
    if not _edit_dependencies(edits, deps, managed):
        return None
    if managed.channels and "channels" not in keys:
        at = keys["dependencies"][0].start_mark.line
        edits.insert(at, ["channels:", *(f"  - {scalar(c)}" for c in managed.channels)])
    if managed.variables and not _edit_variables(edits, keys.get("variables"), managed):
        return None
    if managed.name and "name" not in keys and "prefix" not in keys:
        edits.insert(root.start_mark.line, [f"name: {scalar(managed.name)}"])
    header = [f"# {line}".rstrip() for line in managed.header]
    return edits.render(header)


class _Edits:
    """Line removals, replacements and insertions against the original lines."""

    def __init__(self, lines: list[str], newline: str) -> None:
        self.lines = lines
        self.newline = newline
        self.removed: set[int] = set()
        self.before: dict[int, list[str]] = {}

    def insert(self, index: int, new_lines: Sequence[str]) -> None:
        self.before.setdefault(index, []).extend(new_lines)

    def remove(self, index: int) -> None:
        self.removed.add(index)

    def render(self, header: Sequence[str]) -> str:
        out = [line + self.newline for line in header]
        for index, line in enumerate(self.lines):
            out += [new + self.newline for new in self.before.get(index, [])]
            if index not in self.removed:
                out.append(line)
        tail = self.before.get(len(self.lines), [])
        if tail and out and not out[-1].endswith(("\n", "\r")):
            out[-1] += self.newline
        out += [new + self.newline for new in tail]
        return "".join(out)


def _item_prefix(lines: Sequence[str], node: yaml.Node) -> str | None:
    """``  - `` of a block-sequence item alone on its line, else None."""
    line = node.start_mark.line
    if node.end_mark.line != line and not (
        node.end_mark.line == line + 1 and node.end_mark.column == 0
    ):
        return None
    prefix = lines[line][: node.start_mark.column]
    return prefix if prefix.strip() == "-" else None


def _after(node: yaml.Node) -> int:
    """The 0-based line just after ``node``."""
    end = node.end_mark
    return int(end.line) + (1 if end.column > 0 else 0)


def _edit_dependencies(edits: _Edits, deps: yaml.SequenceNode, managed: Managed) -> bool:
    lines = edits.lines
    first_prefix = _item_prefix(lines, deps.value[0]) or _mapping_prefix(lines, deps.value[0])
    if first_prefix is None:
        return False
    conda_at: int | None = None
    pip_section: yaml.SequenceNode | None = None
    pip_line: int | None = None
    for item in deps.value:
        if isinstance(item, yaml.MappingNode) and len(item.value) == 1:
            key, value = item.value[0]
            if isinstance(key, yaml.ScalarNode) and key.value == "pip":
                pip_line = item.start_mark.line
                pip_section = value if isinstance(value, yaml.SequenceNode) else None
            continue
        if item.start_mark.line + 1 in managed.replaced_lines:
            if _item_prefix(lines, item) is None:
                return False
            conda_at = item.start_mark.line if conda_at is None else conda_at
            edits.remove(item.start_mark.line)
    item_indent = " " * len(first_prefix)
    new_conda = [f"{first_prefix}{scalar(spec)}" for spec in managed.conda]
    edits.insert(conda_at if conda_at is not None else deps.value[0].start_mark.line, new_conda)
    if not managed.pip:
        return True
    if pip_section is None or pip_section.flow_style or not pip_section.value:
        if pip_line is not None:
            return False  # `- pip:` with no list, or a flow list: not ours to rearrange
        pip_prefix = f"{item_indent}  - "
        block = [f"{first_prefix}pip:", *(f"{pip_prefix}{scalar(r)}" for r in managed.pip)]
        edits.insert(_after(deps), block)
        return True
    return _edit_pip(edits, pip_section, managed)


def _mapping_prefix(lines: Sequence[str], node: yaml.Node) -> str | None:
    prefix = lines[node.start_mark.line][: node.start_mark.column]
    return prefix if prefix.strip() == "-" else None


def _edit_pip(edits: _Edits, section: yaml.SequenceNode, managed: Managed) -> bool:
    lines = edits.lines
    prefix = _item_prefix(lines, section.value[0])
    if prefix is None:
        return False
    at: int | None = None
    for item in section.value:
        if item.start_mark.line + 1 in managed.replaced_lines:
            if _item_prefix(lines, item) is None:
                return False
            at = item.start_mark.line if at is None else at
            edits.remove(item.start_mark.line)
    first_requirement = next(
        (
            item.start_mark.line
            for item in section.value
            if isinstance(item, yaml.ScalarNode) and not str(item.value).lstrip().startswith("-")
        ),
        _after(section),
    )
    edits.insert(
        at if at is not None else first_requirement, [f"{prefix}{scalar(r)}" for r in managed.pip]
    )
    return True


def _edit_variables(
    edits: _Edits, entry: tuple[yaml.Node, yaml.Node] | None, managed: Managed
) -> bool:
    if entry is None:
        block = ["variables:", *(f"  {scalar(k)}: {scalar(v)}" for k, v in managed.variables)]
        edits.insert(len(edits.lines), block)
        return True
    node = entry[1]
    if not isinstance(node, yaml.MappingNode) or node.flow_style or not node.value:
        return False
    indent = " " * node.value[0][0].start_mark.column
    for name, value in managed.variables:
        new = f"{indent}{scalar(name)}: {scalar(value)}"
        same = [k for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == name]
        if same:
            line = same[0].start_mark.line
            edits.remove(line)
            edits.insert(line, [new])
        else:
            edits.insert(_after(node), [new])
    return True
