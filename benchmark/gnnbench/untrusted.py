"""Reading what a submitter hands us: size caps, YAML without aliases, strict JSON, short messages, escaping.

Everything in a ``submissions/<name>/`` folder is written by someone we do not know, and what
gnnbench reads from it ends up in error messages, ``leaderboard/README.md`` and HTML pages. The
rules here keep that bounded and inert:

* a file is read only if it is a regular file (not a symbolic link, FIFO or device) and no larger
  than its cap (:data:`METADATA_MAX_BYTES`, :data:`SCORES_MAX_BYTES`); the cap is checked before
  the bytes are read;
* YAML is parsed by PyYAML's safe loader with anchors and aliases refused: a 1 KB "billion laughs"
  file cannot expand into gigabytes. Merge keys (``<<``) are refused too, whatever they point at
  (``<<: *missing``, ``<<: 5``, even ``<<: {a: 1}``), and so are duplicate keys: PyYAML keeps the
  last of two equal keys and a merge fills in keys from elsewhere, so a file could show a reader
  one value and give the scorer another;
* JSON must be strict: no ``NaN``/``Infinity``, no number that overflows a float, no nesting deeper
  than Python's recursion limit;
* any text from a submission that is echoed in a message is cut to one short line (:func:`short`);
* text placed in Markdown is escaped (:func:`md_escape`), text placed in HTML with :func:`html_escape`;
  both show every character that is not printable as its escape (``\u202e``): control characters,
  and the invisible format characters (Unicode category Cf) among them the bidirectional overrides
  and isolates, which reorder how the text around them is displayed ("Trojan Source"), and the
  zero-width space, joiners and BOM, which make two different names look the same;
* a submission folder's name must match :data:`SAFE_NAME` (the metadata ``name`` pattern), and a
  name that does not is only ever shown as its ``repr``, escaped and cut (:func:`shown_name`).
"""

from __future__ import annotations

import html
import json
import math
import os
import re
import stat
from pathlib import Path

import yaml

METADATA_MAX_BYTES = 64 * 1024         # metadata.yaml: the committed ones are about 1 KB
SCORES_MAX_BYTES = 16 * 1024 * 1024    # scores.json: the committed ones are about 1.1 MB on mini
SCORES_MAX_VALUES = 1_000_000          # JSON values in scores.json: the committed ones hold ~73 000 (full: ~150 000); the
                                       # schema check costs ~20 µs a value, so 16 MiB of "0," would take minutes
MESSAGE_MAX_CHARS = 300                # text of a submission echoed in one message
SAFE_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")  # a submission folder; the metadata schema's name pattern


class UntrustedInputError(ValueError):
    """A file from a submission is refused before it is parsed (too large, not a regular file, not strict)."""


def short(text: object, limit: int = MESSAGE_MAX_CHARS) -> str:
    """``text`` on one line, cut to ``limit`` characters. Every character that is not printable is shown
    escaped (``str.isprintable`` is False for line breaks, control characters and the invisible format
    characters of Unicode category Cf: bidirectional overrides and isolates, zero-width space and joiners)."""
    one_line = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))
    if len(one_line) <= limit:
        return one_line
    return f"{one_line[:limit]}… ({len(one_line) - limit} more characters)"


def schema_message(err) -> str:
    """A jsonschema error's message with the offending value quoted short ("'AAA… (99990 more characters)' is too long")."""
    quoted = repr(err.instance)
    return short(err.message.replace(quoted, short(quoted, 60)) if len(quoted) > 60 else err.message, 200)


def shown_name(name: str) -> str:
    """A folder name as messages and generated files show it: itself if it is safe, else its cut ``repr``."""
    return name if SAFE_NAME.match(name) else short(repr(name), 80)


def folder_name_problem(folder: Path) -> str | None:
    """Why ``folder``'s name cannot be a submission's (None if it can)."""
    name = Path(folder).name
    if SAFE_NAME.match(name):
        return None
    return (f"{shown_name(name)}: not a valid submission folder name (lower-case letters, digits, '.', '_' and '-', "
            "starting with a letter or digit, at most 64 characters)")


def read_capped(path: Path, limit: int) -> bytes:
    """The bytes of ``path``, refused if it is not a regular file or is larger than ``limit`` bytes."""
    path = Path(path)
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        raise UntrustedInputError(f"{path}: a symbolic link; submission files must be regular files")
    if not stat.S_ISREG(info.st_mode):
        raise UntrustedInputError(f"{path}: not a regular file")
    if info.st_size > limit:
        raise UntrustedInputError(f"{path}: {info.st_size} bytes, over the {_size(limit)} limit for this file")
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:  # it grew while we looked
        raise UntrustedInputError(f"{path}: over the {_size(limit)} limit for this file")
    return data


def _size(n: int) -> str:
    return f"{n // 2**20} MiB" if n % 2**20 == 0 else f"{n // 2**10} KiB" if n % 2**10 == 0 else f"{n} bytes"


MERGE_TAG = "tag:yaml.org,2002:merge"


class _NoAliasLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing anchors (``&a``), aliases (``*a``) and merge keys (``<<``) where they
    are composed, and duplicate keys where a mapping is constructed."""

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(parent, yaml.MappingNode) and isinstance(index, yaml.ScalarNode) and index.tag == MERGE_TAG:
            # ``index`` is the key whose value is composed next: ``<<`` (before its value, so ``<<: *missing`` says this too)
            raise yaml.composer.ComposerError(None, None, "YAML merge keys (<<) are not allowed", index.start_mark)
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise yaml.composer.ComposerError(None, None, "YAML anchors and aliases (& and *) are not allowed", event.start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # an unhashable key: the safe constructor says so below
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {short(repr(key), 60)}", key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


def load_yaml(data: bytes | str):
    """Parse YAML from a submission: safe types only, no anchors or aliases. Raises UntrustedInputError
    with a short message."""
    try:
        return yaml.load(data, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as err:
        raise UntrustedInputError(f"not valid YAML ({short(_yaml_problem(err))})") from None
    except RecursionError:
        raise UntrustedInputError("not acceptable YAML (nested too deeply)") from None
    except (ValueError, OverflowError) as err:  # e.g. an integer of more than 4300 digits
        raise UntrustedInputError(f"not acceptable YAML ({short(err)})") from None


def _yaml_problem(err: yaml.YAMLError) -> str:
    """The problem and where, without the snippet of the file PyYAML quotes (it can be one huge line)."""
    if isinstance(err, yaml.MarkedYAMLError):
        mark = err.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        return f"{err.problem or err.context}{where}"
    return str(err)


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} overflows a float")
    return value


def load_json(data: bytes | str, max_values: int = SCORES_MAX_VALUES):
    """Parse strict JSON from a submission (no NaN, Infinity or overflowing numbers, at most
    ``max_values`` values in all). Raises UntrustedInputError with a short message."""
    try:
        parsed = json.loads(data, parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError:
        raise UntrustedInputError("not acceptable JSON (nested too deeply)") from None
    except (ValueError, UnicodeDecodeError) as err:  # JSONDecodeError is a ValueError
        raise UntrustedInputError(f"not valid JSON ({short(err)})") from None
    pending, seen = [parsed], 0
    while pending:
        value = pending.pop()
        seen += 1
        if seen > max_values:
            raise UntrustedInputError(f"more than {max_values} JSON values; a scores.json holds far fewer")
        if isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return parsed


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&$])")  # inline syntax, HTML, table cells, GitHub math


def html_escape(text: object, limit: int | None = None) -> str:
    """``text`` as inert HTML text or attribute value: one line, every character that is not printable
    shown escaped (:func:`short`), then ``html.escape`` (quotes included)."""
    return html.escape(short(text, limit) if limit else short(text, 10**9))


def md_escape(text: object, limit: int | None = None) -> str:
    """``text`` as inert Markdown: one line, every character Markdown or HTML could act on backslash-escaped."""
    one_line = short(text, limit) if limit else short(text, 10**9)
    return _MARKDOWN_SPECIAL.sub(r"\\\1", one_line)
