"""Reading an environment.yml or requirements.txt into an :class:`EnvDocument`, safely.

Bad input (missing, a directory, binary, empty, too large, an alias bomb, not an environment
file at all) raises :class:`EnvFileError` with one line. What conda or pip would reject in a
file that is meant as one (a YAML syntax error, a duplicate key, a dependency that is a
number) becomes a finding with its line number, so that every problem shows at once.

YAML is only *composed* into nodes (never constructed into Python objects, so no tag can run
code) and the node graph's size with every alias expanded is capped before anything walks it.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import yaml

from envkit.envfiles import catalog, line_edit, locations
from envkit.envfiles.deps import CONDA, PIP, Dep, conda_dep, pip_dep
from envkit.envfiles.errors import EnvFileError
from envkit.model import Finding, Severity
from envkit.records import record

MAX_BYTES = 1024 * 1024
"""An environment file is a few kilobytes; a megabyte is not one."""
MAX_NODES = 20_000
"""YAML nodes with every alias expanded; a billion-laughs file expands to far more."""

CONDA_KEYS = ("name", "channels", "dependencies", "prefix", "variables")
REQUIREMENTS = "requirements"
_STR = "tag:yaml.org,2002:str"
_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_COMMENT = re.compile(r"(^|\s)#.*$")
_HASH_OPTION = re.compile(r"\s--hash[=\s]\S+")


@record
class EnvDocument:
    """What an environment file asks for, and the problems found while reading it."""

    path: str
    kind: str
    """conda (an environment.yml) or requirements (pip's requirements.txt)."""
    name: str | None
    channels: tuple[str, ...]
    deps: tuple[Dep, ...]
    variables: tuple[tuple[str, str], ...]
    pip_listed: bool
    """pip is among conda's dependencies (always True for a requirements file)."""
    problems: tuple[Finding, ...]
    readable: bool = True
    """False when YAML could not parse the file; the other fields are then empty."""
    text: str = ""
    """The file's text as read, for edits that keep every line envkit does not manage."""

    def conda_deps(self) -> tuple[Dep, ...]:
        return tuple(dep for dep in self.deps if dep.source == CONDA)

    def pip_deps(self) -> tuple[Dep, ...]:
        return tuple(dep for dep in self.deps if dep.source == PIP)

    def named(self, *names: str) -> tuple[Dep, ...]:
        return tuple(dep for dep in self.deps if dep.name in names)


def read_document(path: Path) -> EnvDocument:
    text = read_text(path)
    if is_requirements_name(path):
        return dataclasses.replace(parse_requirements(str(path), text), text=text)
    return dataclasses.replace(parse_conda(str(path), text), text=text)


def is_requirements_name(path: Path) -> bool:
    return path.suffix.lower() in (".txt", ".in") or "requirements" in path.name.lower()


# ---------------------------------------------------------------- the file's bytes


def read_text(path: Path) -> str:
    """The file's text; EnvFileError when it is not a small UTF-8 text file."""
    from envkit.readers import InputError, read_bytes

    try:  # the one bounded reader: a FIFO or /dev/zero is refused, never read (#12)
        data = read_bytes(path, limit=MAX_BYTES)
    except InputError as error:
        if error.code == "too-large":
            raise EnvFileError(
                f"{path} is over {MAX_BYTES // 1024} KiB; no environment file is"
            ) from None
        if error.code == "not-regular" and path.is_dir():
            raise EnvFileError(f"{path} is a directory, not an environment file") from None
        raise EnvFileError(str(error)) from None
    if b"\0" in data:
        raise EnvFileError(f"{path} is a binary file, not an environment file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise EnvFileError(f"{path} is not UTF-8 text (a binary file?)") from None
    if not text.strip():
        raise EnvFileError(f"{path} is empty")
    return text


# ---------------------------------------------------------------- environment.yml


def parse_conda(path: str, text: str) -> EnvDocument:
    try:
        root = yaml.compose(text, Loader=_SAFE_LOADER)
    except yaml.MarkedYAMLError as error:
        return _unreadable(path, _syntax_finding(error))
    except yaml.YAMLError as error:
        raise EnvFileError(f"{path}: not YAML ({' '.join(str(error).split())})") from None
    except RecursionError:
        raise EnvFileError(f"{path} is nested too deeply to be an environment file") from None
    if root is None:
        raise EnvFileError(f"{path} holds only comments; it is empty")
    _check_size(path, root)
    if not isinstance(root, yaml.MappingNode) or not any(
        key in CONDA_KEYS for key in _mapping_keys(root) or ()
    ):
        raise EnvFileError(
            f"{path} is not a conda environment file (no name:, channels: or dependencies: keys)"
        )
    return _Walker(path).document(root)


def _unreadable(path: str, finding: Finding) -> EnvDocument:
    return EnvDocument(path, CONDA, None, (), (), (), False, (finding,), readable=False)


def _syntax_finding(error: yaml.MarkedYAMLError) -> Finding:
    mark = error.problem_mark or error.context_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
    problem = error.problem or "not valid YAML"
    context = f" ({error.context})" if error.context else ""
    return catalog.YAML_SYNTAX.finding(
        Severity.ERROR,
        f"YAML cannot parse the file at {where}: {problem}",
        f"{where}: {problem}{context}; conda stops there and creates nothing",
        (
            f"# edit {where.split(',')[0]}: indent list items under their key with spaces "
            "(no tabs), quote text with ': ' or '#' in it",
        ),
    )


def _check_size(path: str, root: yaml.Node) -> None:
    sizes: dict[int, int] = {}
    try:
        too_big = _expanded_size(root, sizes, set()) > MAX_NODES
    except _RecursiveAlias:
        raise EnvFileError(
            f"{path} has a YAML alias inside the node it refers to (a recursive anchor)"
        ) from None
    if too_big:
        raise EnvFileError(
            f"{path} expands to more than {MAX_NODES} YAML nodes through its aliases "
            "(a YAML bomb?); envkit does not read it"
        )


class _RecursiveAlias(Exception):
    pass


def _expanded_size(node: yaml.Node, sizes: dict[int, int], active: set[int]) -> int:
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in active:
        raise _RecursiveAlias
    active.add(key)
    total = 1
    if isinstance(node, yaml.SequenceNode):
        for child in node.value:
            total += _expanded_size(child, sizes, active)
            if total > MAX_NODES:
                break
    elif isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            total += _expanded_size(key_node, sizes, active)
            total += _expanded_size(value_node, sizes, active)
            if total > MAX_NODES:
                break
    active.discard(key)
    sizes[key] = total
    return total


def _mapping_keys(node: yaml.Node) -> list[str] | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return [k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)]


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _is_text(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == _STR


class _Walker:
    """Walks the composed nodes of one file, collecting what it asks for and its problems."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[Finding] = []
        self.deps: list[Dep] = []
        self.pip_listed = False

    def document(self, root: yaml.MappingNode) -> EnvDocument:
        self._duplicates(root, set())
        values: dict[str, yaml.Node] = {}
        for key_node, value_node in root.value:
            key = key_node.value if _is_text(key_node) else None
            if key not in CONDA_KEYS:
                self._unknown_key(key_node)
            elif key is not None:
                values[key] = value_node
        name = self._text_value(values.get("name"), "name")
        channels = self._texts(values.get("channels"), "channels")
        if "dependencies" in values:
            self._dependencies(values["dependencies"])
        variables = self._variables(values.get("variables"))
        if name is None and "name" not in values and "prefix" not in values:
            self.problems.append(_no_name(self.path))
        if any(dep.source == PIP for dep in self.deps) and not self.pip_listed:
            self.problems.append(_pip_missing())
        return EnvDocument(
            self.path,
            CONDA,
            name,
            channels,
            tuple(self.deps),
            variables,
            self.pip_listed,
            tuple(self.problems),
        )

    # -- problems of shape

    def _structure(self, node: yaml.Node, what: str, expected: str) -> None:
        self.problems.append(
            catalog.STRUCTURE.finding(
                Severity.ERROR,
                f"line {_line(node)}: {what} must be {expected}",
                f"line {_line(node)}: {what} is a {_kind(node)}; conda env create refuses the file",
                (f"# write {what} as {expected}",),
            )
        )

    def _duplicates(self, node: yaml.Node, seen: set[int]) -> None:
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[str, int] = {}
            for key_node, _ in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value in first:
                    self.problems.append(_duplicate(key_node, first[key_node.value]))
                elif isinstance(key_node, yaml.ScalarNode):
                    first[key_node.value] = _line(key_node)
            children = [value for pair in node.value for value in pair]
        else:
            children = node.value if isinstance(node, yaml.SequenceNode) else []
        for child in children:
            self._duplicates(child, seen)

    def _unknown_key(self, key_node: yaml.Node) -> None:
        shown = key_node.value if isinstance(key_node, yaml.ScalarNode) else _kind(key_node)
        self.problems.append(
            catalog.UNKNOWN_KEY.finding(
                Severity.WARNING,
                f"line {_line(key_node)}: conda ignores the key {shown!r}",
                f"conda reads only {', '.join(CONDA_KEYS)}; {shown!r} has no effect",
                (f"# remove {shown!r} or move what it holds under dependencies:",),
            )
        )

    # -- values

    def _text_value(self, node: yaml.Node | None, what: str) -> str | None:
        if node is None:
            return None
        if _is_text(node) or (
            isinstance(node, yaml.ScalarNode) and node.tag.endswith((":int", ":float"))
        ):
            return str(node.value)
        self._structure(node, what, "one text value")
        return None

    def _texts(self, node: yaml.Node | None, what: str) -> tuple[str, ...]:
        if node is None:
            return ()
        if not isinstance(node, yaml.SequenceNode) or not all(map(_is_text, node.value)):
            self._structure(node, what, "a list of names (- conda-forge)")
            return ()
        return tuple(str(item.value) for item in node.value)

    def _variables(self, node: yaml.Node | None) -> tuple[tuple[str, str], ...]:
        if node is None:
            return ()
        if not isinstance(node, yaml.MappingNode) or not all(
            isinstance(k, yaml.ScalarNode) and isinstance(v, yaml.ScalarNode) for k, v in node.value
        ):
            self._structure(node, "variables", "a mapping of NAME: value")
            return ()
        return tuple((str(k.value), str(v.value)) for k, v in node.value)

    def _dependencies(self, node: yaml.Node) -> None:
        if not isinstance(node, yaml.SequenceNode):
            self._structure(node, "dependencies", "a list (- python=3.11)")
            return
        for item in node.value:
            if _is_text(item):
                self._conda_item(item)
            elif isinstance(item, yaml.MappingNode) and _mapping_keys(item) == ["pip"]:
                self._pip_section(item.value[0][1])
            elif isinstance(item, yaml.ScalarNode):
                self._structure(item, f"the dependency {item.value!r}", "quoted text")
            else:
                self._structure(item, "a dependency", "a package spec or a pip: list")

    def _conda_item(self, item: yaml.ScalarNode) -> None:
        dep = conda_dep(str(item.value), _line(item))
        if dep is None:
            self._structure(item, f"the dependency {item.value!r}", "a conda package spec")
            return
        self.pip_listed |= dep.name == "pip"
        self.deps.append(dep)

    def _pip_section(self, node: yaml.Node) -> None:
        if not isinstance(node, yaml.SequenceNode) or not all(map(_is_text, node.value)):
            self._structure(node, "pip:", "a list of requirements (- numpy<2)")
            return
        for item in node.value:
            self._pip_line(str(item.value), _line(item))

    def _pip_line(self, text: str, line: int) -> None:
        if text.lstrip().startswith("-"):
            self.problems.extend(_option_problems(text, line))
            return
        dep = pip_dep(text, line)
        if dep is None and locations.is_location(text):
            dep = locations.location_dep(text, line)
            if dep is None:
                self.problems.append(locations.unchecked_location(text, line))
                return
        if dep is None:
            self.problems.append(_bad_requirement(text, line))
        else:
            self.deps.append(dep)


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "mapping"
    if isinstance(node, yaml.SequenceNode):
        return "list"
    return {"str": "text", "int": "number", "float": "number", "bool": "true/false"}.get(
        node.tag.rsplit(":", 1)[-1], "empty value" if node.tag.endswith(":null") else "value"
    )


def _duplicate(key_node: yaml.ScalarNode, first_line: int) -> Finding:
    return catalog.DUPLICATE_KEY.finding(
        Severity.ERROR,
        f"line {_line(key_node)}: the key {key_node.value!r} is written twice",
        f"{key_node.value!r} first appears on line {first_line}; conda refuses duplicate keys, "
        "and a YAML reader that accepts them keeps only the last",
        (f"# merge the two {key_node.value!r} entries (lines {first_line} and {_line(key_node)})",),
    )


def _no_name(path: str) -> Finding:
    return catalog.NO_NAME.finding(
        Severity.WARNING,
        "The file names no environment",
        "without name: (or prefix:), conda env create needs -n NAME",
        (f"conda env create -n NAME -f {path}   # or add a line name: NAME",),
    )


def _pip_missing() -> Finding:
    return catalog.PIP_MISSING.finding(
        Severity.WARNING,
        "The file has a pip: section but does not install pip",
        "without pip among the dependencies, conda uses whichever pip it finds, which may "
        "install into another environment",
        ("# add to dependencies, before the pip: section:", "- pip"),
    )


def _bad_requirement(text: str, line: int) -> Finding:
    return catalog.REQUIREMENT_SYNTAX.finding(
        Severity.ERROR,
        f"line {line}: pip cannot read {text!r}",
        f"line {line}: {text!r} is not a requirement (name, extras, version specifier); "
        "pip stops and installs nothing",
        ("# write it as name==version, e.g. numpy==1.26.4",),
    )


def _option_problems(text: str, line: int) -> tuple[Finding, ...]:
    option = text.strip().split()[0]
    if option.split("=")[0] not in ("-r", "--requirement", "-c", "--constraint"):
        return ()
    return (
        catalog.NOT_FOLLOWED.finding(
            Severity.INFO,
            f"line {line}: {text.strip()} is not checked",
            "envkit checks one file; run it on the included file too",
        ),
    )


# ---------------------------------------------------------------- requirements.txt


def parse_requirements(path: str, text: str) -> EnvDocument:
    deps: list[Dep] = []
    problems: list[Finding] = []
    invalid = 0
    for line, content in _logical_lines(text):
        if content.startswith("-"):
            problems.extend(_option_problems(content, line))
            continue
        dep = pip_dep(_HASH_OPTION.sub("", content), line)
        if dep is None and locations.is_location(content):
            dep = locations.location_dep(_HASH_OPTION.sub("", content), line)
            if dep is None:
                problems.append(locations.unchecked_location(content, line))
                continue
        if dep is None:
            invalid += 1
            problems.append(_bad_requirement(content, line))
        else:
            deps.append(dep)
    if not deps and invalid:
        raise EnvFileError(f"{path} is neither a conda environment file nor a requirements file")
    return EnvDocument(path, REQUIREMENTS, None, (), tuple(deps), (), True, tuple(problems))


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, content) with comments dropped and backslash continuations joined."""
    result: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    # Numbered as the line-preserving fix numbers them (str.splitlines also breaks at \x0c,
    # \x1c-\x1e: the fix would then replace the wrong line).
    for number, raw in enumerate(line_edit.split_lines(text), start=1):
        content = _COMMENT.sub("", raw.rstrip("\r\n\x85\u2028\u2029")).rstrip()
        start, joined = pending if pending else (number, "")
        joined += content.removesuffix("\\")
        if content.endswith("\\"):
            pending = (start, joined)
            continue
        pending = None
        if joined.strip():
            result.append((start, joined.strip()))
    if pending and pending[1].strip():
        result.append((pending[0], pending[1].strip()))
    return result
