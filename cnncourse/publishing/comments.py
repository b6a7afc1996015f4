"""The Chinese edition's code comments: kept beside the notebooks, keyed by their English, checked.

``cnncourse.publishing.translations`` (``scripts/translations.py``) translates a notebook's
markdown; this module translates the comments of its code cells, and nothing else: code, strings and outputs stay byte for byte
as in the English notebook (nothing is re-executed). Python's ``tokenize`` finds the comments,
so a ``#`` inside a string is never touched. A comment's key is the SHA-256 (first 12 hex
digits) of its English text (after the ``#``, stripped), so a translation follows its comment
wherever the code around it changes, and an edited comment shows up as missing.

Translations live in ``i18n/zh/comments/<page>.txt``, one entry per distinct comment, in
the notebook's order::

    [1f3a9c0b2d4e]
    en: (N, H, W, C_in), float64
    zh: (N, H, W, C_in)，float64

    [77c0a1e2b3f4 untranslated]
    en: the loss's gradient
    zh:

The ``en:`` line is for the translator (the key decides). Left alone: ``# NBVAL_*``,
``# noqa``, ``# type:`` and similar markers (also when they end a comment), shebangs, IPython
magics (``%``/``!`` lines) and comments with no English words (``# (3, 2)``).
``python scripts/translations.py status|skeleton|check|notebooks`` covers comments too.
"""

from __future__ import annotations

import collections
import hashlib
import io
import re
import tokenize
from pathlib import Path

from . import ROOT

STORE = ROOT / "i18n" / "zh" / "comments"
HEADER = ("# Code comments of {page} in Chinese; see cnncourse/publishing/comments.py.\n"
          "# Each entry: [key], the English (for reference), the Chinese. Regenerate with\n"
          "# python scripts/translations.py skeleton {page}\n")
ENTRY = re.compile(r"^\[([0-9a-f]{12})( untranslated| stale)?\]\s*$")
# Markers that tools read: never translated, kept verbatim where they end a comment.
MARKER = re.compile(r"(?:NBVAL_|noqa\b|type:\s|pragma\b|fmt:\s|pylint:|isort:|-\*-)", re.IGNORECASE)
TAIL_MARKER = re.compile(r"\s+#\s*(?:NBVAL_|noqa\b|type:\s|pragma\b|fmt:\s|pylint:).*$", re.IGNORECASE)
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")  # Chinese characters and full-width punctuation
# What a translation must keep: numbers, identifiers with an underscore or a dot, code spans, $VARIABLES.
_KEPT = re.compile(r"`[^`]+`|\$\w+|\b(?!e\.g\b|i\.e\b)[A-Za-z_]\w*(?:\.\w+)+\b|\b\w*_\w*\b|\d+(?:\.\d+)?", re.ASCII)


def comment_key(text: str) -> str:
    """The key of an English comment: the first 12 hex digits of the SHA-256 of its stripped text."""
    return hashlib.sha256(text.strip().encode("utf-8")).hexdigest()[:12]


def _split(token: str) -> tuple[str, str, str]:
    """``#  text  # noqa: F401`` -> (``"#  "``, ``"text"``, ``"  # noqa: F401"``)."""
    prefix = re.match(r"#+\s*", token).group(0)
    body, tail = token[len(prefix):], ""
    marker = TAIL_MARKER.search(body)
    if marker:
        body, tail = body[:marker.start()], marker.group(0)
    text = body.rstrip()
    return prefix, text, body[len(text):] + tail


def translatable(text: str) -> bool:
    """Whether a comment's text (after ``#``) is prose to translate: English words, and no tool marker first."""
    stripped = text.strip()
    if not stripped or MARKER.match(stripped) or stripped.startswith("!"):
        return False
    return bool(re.search(r"[A-Za-z]{2,}", stripped))


def comments_in(source: str) -> list[tuple[int, int, str]]:
    """The comments of a code cell: ``(line index, column, token)``, in order; ``[]`` when it does not tokenize.

    IPython magics and shell escapes (lines starting with ``%`` or ``!``) are blanked first,
    so the cell tokenizes as Python; their comments are left alone.
    """
    lines = source.splitlines(keepends=True)
    python = "".join("\n" if line.lstrip().startswith(("%", "!")) else line for line in lines)
    found = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(python).readline):
            if token.type == tokenize.COMMENT:
                found.append((token.start[0] - 1, token.start[1], token.string))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return []
    return found


def cell_comments(source: str) -> list[str]:
    """The translatable comment texts of a code cell, in order."""
    texts = []
    for row, col, token in comments_in(source):
        if row == 0 and col == 0 and token.startswith("#!"):
            continue
        body = _split(token)[1]
        if translatable(body):
            texts.append(body)
    return texts


def notebook_comments(notebook: dict) -> list[str]:
    """Every translatable comment of a notebook's code cells, in order (repeats included)."""
    return [text for cell in notebook["cells"] if cell["cell_type"] == "code"
            for text in cell_comments("".join(cell["source"]))]


def translate_source(source: str, entries: dict) -> str:
    """``source`` with each translated comment's text replaced; code, strings and markers unchanged."""
    lines = source.splitlines(keepends=True)
    edits = collections.defaultdict(list)
    for row, col, token in comments_in(source):
        if row == 0 and col == 0 and token.startswith("#!"):
            continue
        prefix, body, tail = _split(token)
        if not translatable(body):
            continue
        state, chinese = entries.get(comment_key(body), ("untranslated", ""))
        if state or not chinese:
            continue
        edits[row].append((col, token, prefix + chinese + tail))
    for row, changes in edits.items():
        line = lines[row]
        for col, token, new in sorted(changes, reverse=True):
            assert line[col:col + len(token)] == token, (line, token)
            line = line[:col] + new + line[col + len(token):]
        lines[row] = line
    return "".join(lines)


def translate_notebook(notebook: dict, entries: dict) -> dict:
    """Translate the comments of ``notebook``'s code cells in place (outputs untouched); returns it."""
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            source = "".join(cell["source"])
            translated = translate_source(source, entries)
            if translated != source:
                cell["source"] = translated.splitlines(keepends=True)
    return notebook


def strip_comments(source: str) -> str:
    """``source`` without any comment token and trailing spaces: equal for a notebook and its translation."""
    lines = source.splitlines()
    for row, col, token in sorted(comments_in(source), reverse=True):
        lines[row] = lines[row][:col] + lines[row][col + len(token):]
    return "\n".join(line.rstrip() for line in lines)


# --- the store ---------------------------------------------------------------------------------


def store_path(page: str) -> Path:
    return STORE / (page + ".txt")


def read_store(page: str) -> dict[str, tuple[str, str]]:
    """``{key: (state, chinese)}``; state is ``""``, ``"untranslated"`` or ``"stale"``."""
    return {key: (state, chinese) for key, (state, _, chinese) in _read_entries(store_path(page)).items()}


def _read_entries(path: Path) -> dict[str, tuple[str, str, str]]:
    if not path.exists():
        return {}
    entries, key = {}, None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        match = ENTRY.match(line)
        if match:
            key = match.group(1)
            entries[key] = [(match.group(2) or "").strip(), "", ""]
        elif line.startswith("en:") and key:
            entries[key][1] = line[3:].strip()
        elif line.startswith("zh:") and key:
            entries[key][2] = line[3:].strip()
        elif line.strip() and not line.startswith("#"):
            raise ValueError(f"{path}:{number}: expected [key], 'en: ...' or 'zh: ...', got {line!r}")
    return {key: tuple(value) for key, value in entries.items()}


def kept(text: str) -> collections.Counter:
    """Numbers, identifiers and code spans of a comment: a translation keeps them all."""
    return collections.Counter(match.group(0) for match in _KEPT.finditer(text))


def is_prose(text: str) -> bool:
    """Whether a comment holds English words (beyond identifiers and notation like ``(N, H, W, C_in)``)."""
    return bool(re.search(r"\b[A-Za-z]{3,}\b", _KEPT.sub(" ", text)))


def is_chinese(english: str, chinese: str) -> bool:
    """A translation is Chinese, or it is notation kept verbatim."""
    return bool(CJK.search(chinese)) or (chinese.strip() == english.strip() and not is_prose(english))


def damage(english: str, chinese: str) -> list[str]:
    """What the translation of a comment lost, or why it is not Chinese (empty when fine)."""
    problems = [f"lost {item!r}" for item in kept(english) - kept(chinese)]
    if not is_chinese(english, chinese):
        problems.append("no Chinese in the translation (only notation without English words may stay verbatim)")
    if "\n" in chinese:
        problems.append("a comment's translation must be one line")
    return problems


def page_status(page: str, notebook: dict | None) -> dict:
    """Comments of one page: total (with repeats), distinct, translated, missing, stale and damaged."""
    texts = notebook_comments(notebook) if notebook is not None else []
    entries = _read_entries(store_path(page))
    distinct = list(dict.fromkeys(texts))
    keys = {comment_key(text): text for text in distinct}
    missing, damaged, translated = [], [], 0
    for key, text in keys.items():
        state, _, chinese = entries.get(key, ("untranslated", "", ""))
        if state or not chinese:
            missing.append((key, text))
            continue
        problems = damage(text, chinese)
        if problems:
            damaged.append((key, problems))
        else:
            translated += texts.count(text)
    stale = [key for key in entries if key not in keys]
    return {"page": page, "comments": len(texts), "distinct": len(distinct), "translated": translated,
            "missing": missing, "stale": stale, "damaged": damaged}


def skeleton(page: str, notebook: dict | None, known: dict[str, str] | None = None) -> Path | None:
    """Rewrite the page's store in the notebook's order; new comments come in untranslated
    (or translated, when ``known`` — key to Chinese, from other pages — has them); stale entries go last."""
    texts = list(dict.fromkeys(notebook_comments(notebook))) if notebook is not None else []
    path = store_path(page)
    entries = _read_entries(path)
    if not texts and not entries:
        return None
    parts = [HEADER.format(page=page)]
    seen = set()
    for text in texts:
        key = comment_key(text)
        seen.add(key)
        state, _, chinese = entries.get(key, ("untranslated", "", ""))
        if (state or not chinese) and known and known.get(key):
            state, chinese = "", known[key]
        if state == "stale":
            state = "untranslated"
        parts.append(f"[{key}{' ' + state if state else ''}]\nen: {text}\nzh: {chinese}\n")
    for key, (state, english, chinese) in entries.items():
        if key not in seen:
            parts.append(f"[{key} stale]\nen: {english}\nzh: {chinese}\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def known_translations(pages) -> dict[str, str]:
    """Every fresh translation in the store, by key (a comment repeated across chapters is translated once)."""
    known = {}
    for page in pages:
        for key, (state, chinese) in read_store(page).items():
            if not state and chinese:
                known.setdefault(key, chinese)
    return known
