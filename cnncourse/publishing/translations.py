"""The Chinese edition: translations kept beside the English pages, checked, and built.

Every page of the book (a notebook's markdown cells, or a Markdown page cut at its headings)
is split into *units*. A unit's key is the SHA-256 of its English text (first 12 hex digits),
so a translation stays attached to the exact English it was made from: edit the English and
the old translation becomes *stale*, the new text *missing*.

Translations live in ``i18n/zh/<page>.md``, one file per page, in the English order::

    <!-- unit 1f3a9c0b2d4e -->
    中文译文……

    <!-- unit 77c0a1e2b3f4 untranslated -->
    The English text, still to be translated (the word "untranslated" goes when it is done).

Commands (run from the repository root)::

    python scripts/translations.py status            # per page: units, translated, missing, stale
    python scripts/translations.py skeleton [PAGE]   # add entries for missing units, in order;
                                                     # stale entries move to the end, marked stale
    python scripts/translations.py build OUT         # the Chinese source tree, ready for jupyter-book
    python scripts/translations.py check             # exit 1 on any missing, stale or damaged unit
                                                     # (or comment), or a stale notebook under zh/
    python scripts/translations.py notebooks         # regenerate the Chinese notebooks under zh/

Code cells and their outputs are copied unchanged but for their comments, translated in
``i18n/zh/comments/<page>.txt`` (``cnncourse/publishing/comments.py``), so the Chinese notebooks never need
re-executing: nbval on the English ones covers their code. Maths, code spans, link targets,
cross-reference targets, labels and directive lines must survive a translation intact
(``invariants``).

``check`` also holds the Chinese to a house style (``style_problems``): no line break between two
CJK characters inside a paragraph (a browser shows it as a space; the build joins such lines too),
full-width parentheses around or beside Chinese, “” rather than 「」, ``1%`` rather than ``1 %``, no
``{doc}``/``{ref}`` without Chinese link text inside a Chinese sentence, and none of the forbidden
variants listed in ``i18n/zh/vocabulary.yml`` (the glossary's term instead). Quotations of the seed
(lines starting with ``>``), code and maths are exempt. Chinese search learns the glossary's terms
and the page titles as words (``search_terms``, a jieba user dictionary).
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import re
import shutil
from pathlib import Path

from . import ROOT, comments  # comments: the code comments, i18n/zh/comments/
from .toc import toc_pages

LANGUAGE = "zh"
I18N = ROOT / "i18n" / LANGUAGE
# The Chinese notebooks, generated (``notebooks``) and committed: the Chinese pages' launch buttons open them.
NOTEBOOKS = ROOT / LANGUAGE
ENTRY = re.compile(r"^<!-- unit ([0-9a-f]{12})( untranslated| stale)? -->$", re.MULTILINE)
FENCE = re.compile(r"^(`{3,}|:{3,})")


def unit_key(text: str) -> str:
    """The key of an English unit: the first 12 hex digits of the SHA-256 of its text."""
    return hashlib.sha256(text.strip().encode("utf-8")).hexdigest()[:12]


def source_path(page: str) -> Path:
    """The English source file of ``page`` (a notebook or a Markdown file)."""
    for suffix in (".ipynb", ".md"):
        path = ROOT / (page + suffix)
        if path.exists():
            return path
    raise FileNotFoundError(f"page {page!r}: neither {page}.ipynb nor {page}.md exists")


def split_markdown(text: str) -> list[str]:
    """Cut a Markdown page into units at its headings (outside fenced blocks)."""
    units, current, fence = [], [], None
    for line in text.splitlines():
        match = FENCE.match(line.strip())
        if match:
            marker = match.group(1)
            if fence is None:
                fence = marker
            elif marker == fence and line.strip() == marker:
                fence = None
        if fence is None and line.startswith("#") and current and any(part.strip() for part in current):
            units.append("\n".join(current).strip("\n"))
            current = []
        current.append(line)
    if any(part.strip() for part in current):
        units.append("\n".join(current).strip("\n"))
    return units


def english_units(page: str) -> list[str]:
    """The English units of ``page``, in order: markdown cells of a notebook, sections of a Markdown page."""
    path = source_path(page)
    if path.suffix == ".ipynb":
        notebook = json.loads(path.read_text(encoding="utf-8"))
        return ["".join(cell["source"]).strip("\n") for cell in notebook["cells"] if cell["cell_type"] == "markdown"]
    return split_markdown(path.read_text(encoding="utf-8"))


def translation_path(page: str) -> Path:
    return I18N / (page + ".md")


def read_translations(page: str) -> dict[str, tuple[str, str]]:
    """``{key: (state, text)}`` of the page's translation file; state is ``""``, ``"untranslated"`` or ``"stale"``."""
    path = translation_path(page)
    if not path.exists():
        return {}
    text = path.read_text(encoding="utf-8")
    entries = {}
    matches = list(ENTRY.finditer(text))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        entries[match.group(1)] = ((match.group(2) or "").strip(), text[match.end():end].strip("\n"))
    return entries


# --- what a translation must keep -------------------------------------------------------------

_MATH_BLOCK = re.compile(r"\$\$.+?\$\$", re.DOTALL)
# Inline maths and code spans may wrap onto the next line, but never across a blank line.
_MATH_INLINE = re.compile(r"(?<![\\$])\$(?!\$)(?:\\.|[^$\\\n]|\n(?![ \t]*\n))+?\$")
_ROLE = re.compile(r"\{([\w:-]+)\}`([^`]*)`")
_CODE = re.compile(r"(?<![`}])(`+)(?!`)((?:[^\n]|\n(?![ \t]*\n))+?)(?<!`)\1(?!`)")
_LINK_TARGET = re.compile(r"\]\(([^)\s]+)\)")
_LABEL = re.compile(r"^\(([\w.:-]+)\)=\s*$", re.MULTILINE)
_DIRECTIVE = re.compile(r"^\s*(`{3,}|:{3,})\{([\w:-]+)\}(.*)$", re.MULTILINE)
_OPTION = re.compile(r"^\s*:([\w-]+):(.*)$", re.MULTILINE)
_HEADING = re.compile(r"^(#{1,6}) ", re.MULTILINE)
_TRANSLATABLE_OPTIONS = {"title", "alt", "caption"}
# Directives whose argument is a label (kept) rather than a title (translated).
_LABEL_ARGUMENT = {"solution", "solution-start", "solution-end", "exercise-start", "exercise-end", "math", "figure", "image"}


def _code_blocks(text: str) -> tuple[list[str], str]:
    """Plain fenced code blocks (```python and the like, not directives), and the text without them."""
    blocks, kept, inside, fence = [], [], None, None
    for line in text.splitlines():
        stripped = line.strip()
        if inside is None:
            match = re.match(r"^(`{3,}|~{3,})(?!\{)", stripped)
            if match:
                inside, fence = [line], match.group(1)
                continue
            kept.append(line)
        else:
            inside.append(line)
            if stripped == fence:
                blocks.append("\n".join(inside))
                inside = None
    if inside is not None:
        blocks.append("\n".join(inside))
    return blocks, "\n".join(kept)


def invariants(text: str) -> collections.Counter:
    """The parts of a unit that a translation must keep exactly, as a multiset of tagged strings."""
    found = collections.Counter()
    blocks, text = _code_blocks(text)
    found.update(("code-block", block.strip()) for block in blocks)
    for pattern, tag in ((_MATH_BLOCK, "math"),):
        found.update((tag, " ".join(m.group(0).split())) for m in pattern.finditer(text))
        text = pattern.sub(" ", text)
    found.update(("math", " ".join(m.group(0).split())) for m in _MATH_INLINE.finditer(text))
    text = _MATH_INLINE.sub(" ", text)
    for match in _ROLE.finditer(text):
        role, content = match.groups()
        target = re.search(r"<([^<>]+)>\s*$", content)
        found[("role", role, target.group(1) if target else content)] += 1
    text = _ROLE.sub(" ", text)
    found.update(("code", " ".join(m.group(2).split())) for m in _CODE.finditer(text))
    text = _CODE.sub(" ", text)
    found.update(("link", m.group(1)) for m in _LINK_TARGET.finditer(text))
    found.update(("label", m.group(1)) for m in _LABEL.finditer(text))
    for match in _DIRECTIVE.finditer(text):
        fence, name, argument = match.groups()
        found[("directive", fence, name, argument.strip() if name in _LABEL_ARGUMENT else "")] += 1
    for match in _OPTION.finditer(text):
        name, value = match.groups()
        found[("option", name, "" if name in _TRANSLATABLE_OPTIONS else value.strip())] += 1
    found.update(("heading", m.group(1)) for m in _HEADING.finditer(text))
    return found


def needs_translation(text: str) -> bool:
    """False when a unit has no prose: only directive lines, labels, maths and code."""
    rest = _code_blocks(text)[1]
    for pattern in (_MATH_BLOCK, _MATH_INLINE, _ROLE, _CODE, _LABEL, _DIRECTIVE, _OPTION):
        rest = pattern.sub(" ", rest)
    return bool(re.search(r"[A-Za-z]{2,}", rest))


def damage(english: str, translation: str) -> list[str]:
    """What ``translation`` lost or added among ``english``'s invariants (empty when intact)."""
    want, have = invariants(english), invariants(translation)
    problems = [f"lost {item!r}" for item in (want - have)]
    problems += [f"added {item!r}" for item in (have - want)]
    return problems


# --- Chinese typography, vocabulary and references ---------------------------------------------

# A Chinese character or a full-width punctuation mark (、。，：；“”（）「」《》……).
_CJK = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef\u2018\u2019\u201c\u201d\u2026\u2014"
_CJK_CHAR = re.compile(f"[{_CJK}]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_LINK_TARGET_FULL = re.compile(r"\]\([^)\s]+\)")
VOCABULARY = I18N / "vocabulary.yml"


def _masked(text: str) -> str:
    """``text`` with code, maths, roles, link targets, labels, comments and directive/option lines
    blanked out (each character replaced by NUL, newlines kept), so positions still match ``text``."""
    chars = list(text)

    def blank(start, end):
        for index in range(start, end):
            if chars[index] != "\n":
                chars[index] = "\0"

    offset = 0
    inside = None
    for line in text.splitlines(keepends=True):  # fenced code blocks (not directives), whole
        stripped = line.strip()
        if inside is None:
            match = re.match(r"^(`{3,}|~{3,})(?!\{)", stripped)
            if match:
                inside = match.group(1)
                blank(offset, offset + len(line))
        else:
            blank(offset, offset + len(line))
            if stripped == inside:
                inside = None
        offset += len(line)
    for match in re.finditer(r"^>.*$", text, re.MULTILINE):  # quotations (the seed's own text) stay as quoted
        blank(*match.span())
    current = "".join(chars)
    for pattern in (_HTML_COMMENT, _MATH_BLOCK, _MATH_INLINE, _ROLE, _CODE, _LINK_TARGET_FULL, _LABEL, _DIRECTIVE, _OPTION):
        for match in pattern.finditer(current):
            blank(*match.span())
        current = "".join(chars)
    return current


def _cjk_breaks(masked: str) -> list[int]:
    """Offsets of the newlines that sit between two CJK characters inside a paragraph."""
    found = []
    for match in re.finditer(f"(?<=[{_CJK}])\n(?=[{_CJK}])", masked):
        line = masked[masked.rfind("\n", 0, match.start()) + 1:match.start()]
        if not line.startswith("#"):  # a heading ends at its line
            found.append(match.start())
    return found


def join_cjk_lines(text: str) -> str:
    """``text`` with every line break between two CJK characters removed (a browser shows it as a space)."""
    breaks = set(_cjk_breaks(_masked(text)))
    return "".join(char for index, char in enumerate(text) if index not in breaks)


def _half_width_parentheses(masked: str) -> list[tuple[int, int]]:
    """Spans ``(start, end)`` of half-width parentheses that belong in Chinese: their content holds
    Chinese, or a Chinese character stands right before ``(`` or right after ``)`` (spaces skipped)."""
    spans = []
    for match in re.finditer(r"\(([^()\n\0]*)\)", masked):
        start, end = match.span()
        before = masked[:start].rstrip(" *_")[-1:]  # emphasis marks skipped: **通道**(channel)
        after = masked[end:].lstrip(" *_")[:1]
        content = match.group(1)
        if re.fullmatch(r"[a-z]|[0-9]{1,2}|[ivx]{1,4}|\s*\w{1,2}(\s*,\s*\w{1,2})+\s*", content.replace("\0", "x")) \
                and not _HAN.search(content):
            continue  # an enumerator (a), (1), (iv) or a shape (H, W): not a gloss
        if start and re.match(r"[A-Za-z0-9_/\\^\]\0]", masked[start - 1]):
            continue  # a function's or formula's argument: f(x), 1/(1-rate)
        if _HAN.search(content) or _CJK_CHAR.match(before or " ") or _CJK_CHAR.match(after or " "):
            spans.append((start, end))
    return spans


def full_width_parentheses(text: str) -> str:
    """Half-width parentheses around or beside Chinese text made full-width, without the spaces around them."""
    masked = _masked(text)
    out, last = [], 0
    for start, end in _half_width_parentheses(masked):
        head = start
        while head > last and text[head - 1] == " " and head - 1 > 0 and text[head - 2] != "\n":
            head -= 1
        tail = end
        while tail < len(text) and text[tail] == " " and tail + 1 < len(text) and _CJK_CHAR.match(text[tail + 1]):
            tail += 1
        out.append(text[last:head])
        out.append("（" + text[start + 1:end - 1].strip() + "）")
        last = tail
    out.append(text[last:])
    return "".join(out)


def typography_problems(text: str) -> list[str]:
    """What a Chinese unit gets wrong in Chinese typography (empty when nothing)."""
    masked = _masked(text)
    problems = []
    for offset in _cjk_breaks(masked):
        problems.append(f"line break between CJK characters: {text[max(0, offset - 8):offset]!r}⏎{text[offset + 1:offset + 9]!r}")
    for start, end in _half_width_parentheses(masked):
        problems.append(f"half-width parentheses in Chinese text: {text[max(0, start - 6):end + 2]!r}")
    for match in re.finditer(r"[「」『』]", masked):
        problems.append(f"corner bracket {match.group(0)!r} (use “” and ‘’): {text[max(0, match.start() - 8):match.end() + 8]!r}")
    for match in re.finditer(r"[\d\0] %", masked):
        problems.append(f"space before a percent sign: {text[max(0, match.start() - 8):match.end() + 4]!r}")
    return problems


def bare_references(text: str) -> list[str]:
    """``{doc}`` and ``{ref}`` roles without explicit link text that sit inside a Chinese sentence
    (they would render the bilingual page or section title in the middle of it)."""
    problems = []
    for match in re.finditer(r"\{(doc|ref)\}`([^`<>]*)`", text):
        line_start = text.rfind("\n", 0, match.start()) + 1
        line_end = text.find("\n", match.end())
        line = text[line_start:line_end if line_end >= 0 else len(text)]
        if line.lstrip().startswith("|") or line.lstrip().startswith(":"):
            continue
        if _HAN.search(_masked(line)):
            problems.append(f"bare {{{match.group(1)}}}`{match.group(2)}` in a Chinese sentence: give it Chinese link text")
    return problems


def vocabulary() -> list[dict]:
    """The rules of ``i18n/zh/vocabulary.yml``: each a preferred term, its forbidden variants, and
    optionally ``context`` (a regular expression that must match near the variant: the 12 characters on each
    side, within its line) and ``except`` (one that, matching there, lets the variant stand)."""
    if not VOCABULARY.exists():
        return []
    import yaml

    rules = yaml.safe_load(VOCABULARY.read_text(encoding="utf-8")) or []
    for rule in rules:
        if not isinstance(rule, dict) or "preferred" not in rule or not rule.get("variants"):
            raise ValueError(f"{VOCABULARY}: every rule needs 'preferred' and a list of 'variants', got {rule!r}")
    return rules


def vocabulary_problems(text: str, rules: list[dict]) -> list[str]:
    """Forbidden variants of the glossary's terms in a Chinese unit (outside code and maths)."""
    masked = _masked(text)
    problems = []
    for rule in rules:
        for variant in rule["variants"]:
            for match in re.finditer(re.escape(variant), masked):
                line_start = masked.rfind("\n", 0, match.start()) + 1
                line_end = masked.find("\n", match.end())
                line_end = len(masked) if line_end < 0 else line_end
                window = masked[max(line_start, match.start() - 12):min(line_end, match.end() + 12)]
                if match.start() - 12 <= line_start:
                    window = masked[line_start:min(line_end, match.end() + 12)]
                if rule.get("context") and not re.search(rule["context"], window):
                    continue
                if rule.get("except") and re.search(rule["except"], window):
                    continue
                problems.append(f"{variant!r} is a variant of {rule['preferred']!r}: {masked[max(0, match.start() - 8):match.end() + 8]!r}")
    return problems


def style_problems(text: str, rules: list[dict] | None = None) -> list[str]:
    """Typography, bare references and vocabulary problems of one Chinese unit."""
    rules = vocabulary() if rules is None else rules
    return typography_problems(text) + bare_references(text) + vocabulary_problems(text, rules)


# --- status, skeleton, build ------------------------------------------------------------------


def page_status(page: str) -> dict:
    """Counts and lists for one page: units, translated, missing, stale and damaged units."""
    units = english_units(page)
    entries = read_translations(page)
    keys = [unit_key(unit) for unit in units]
    translated, missing, damaged, style = [], [], [], []
    rules = vocabulary()
    for index, (key, unit) in enumerate(zip(keys, units)):
        state, text = entries.get(key, ("untranslated", ""))
        if not needs_translation(unit) and key not in entries:
            translated.append(index)
        elif state:
            missing.append((index, key, unit.splitlines()[0][:70] if unit else ""))
        else:
            problems = damage(unit, text)
            (damaged.append((index, key, problems)) if problems else translated.append(index))
            found = style_problems(text, rules)
            if found:
                style.append((index, key, found))
    stale = [key for key, (state, _) in entries.items() if key not in set(keys)]
    return {"page": page, "units": len(units), "translated": len(translated), "missing": missing, "stale": stale,
            "damaged": damaged, "style": style}


def skeleton(page: str) -> Path:
    """Rewrite ``i18n/zh/<page>.md`` in the English order, adding the missing units in English."""
    units = english_units(page)
    entries = read_translations(page)
    keys, parts, seen = [unit_key(unit) for unit in units], [], set()
    for key, unit in zip(keys, units):
        if key in seen or (not needs_translation(unit) and key not in entries):
            continue
        seen.add(key)
        state, text = entries.get(key, ("untranslated", unit))
        if state == "stale":
            state = "untranslated"
        parts.append(f"<!-- unit {key}{' ' + state if state else ''} -->\n{text}\n")
    for key, (state, text) in entries.items():
        if key not in seen:
            parts.append(f"<!-- unit {key} stale -->\n{text}\n")
    path = translation_path(page)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def translate_unit(unit: str, entries: dict) -> str:
    """The unit's fresh translation, or the English itself when there is none."""
    state, text = entries.get(unit_key(unit), ("untranslated", unit))
    return join_cjk_lines(text) if not state else unit


def translated_notebook(page: str) -> dict:
    notebook = json.loads(source_path(page).read_text(encoding="utf-8"))
    entries = read_translations(page)
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown":
            text = translate_unit("".join(cell["source"]).strip("\n"), entries)
            cell["source"] = text.splitlines(keepends=True)
    return comments.translate_notebook(notebook, comments.read_store(page))


def translated_markdown(page: str) -> str:
    entries = read_translations(page)
    return "\n\n".join(translate_unit(unit, entries) for unit in english_units(page)) + "\n"


# The Chinese book's own strings: its title and the captions of its table of contents.
TITLE = "卷积神经网络在医学影像分析中的应用"
CAPTIONS = {"Getting started": "入门", "The course": "课程", "For instructors": "教师用书",
            "Beyond the seed: applications": "原文之外：应用"}
# The Chinese book's author line ("作者：…") and its solution toggle's hints (sphinx-togglebutton).
AUTHOR = "cnncourse 作者团队"
TOGGLE_HINTS = ("点击显示", "点击隐藏")
# The words Chinese search must find whole (jieba's user dictionary), written beside the Chinese sources.
SEARCH_DICTIONARY = "_search/jieba_userdict.txt"


def search_terms() -> list[str]:
    """The Chinese words that search must know as words: every all-Chinese term of the zh glossary's
    中文 and d2l-zh columns (split at its parentheses, commas and semicolons) and the Chinese of each
    page's title. Without them jieba cuts 卷积神经网络 into 卷积/神经/网络 and a search for the
    whole term finds nothing."""
    terms = []

    def add(text):
        for part in re.split(r"[\s（）()，、,;；/：:·“”\"]+", re.sub(r"原文：", "", text)):
            if len(part) >= 2 and all(_HAN.match(char) for char in part) and part not in terms:
                terms.append(part)

    for line in translation_path("book/glossary").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 2 or cells[1] == "中文" or set(cells[1]) <= set("-: "):
            continue
        add(cells[1])
        if len(cells) > 3:
            add(cells[3])
    for page in toc_pages():
        for state, text in read_translations(page).values():
            for match in re.finditer(r"^# (.+)$", text if not state else "", re.MULTILINE):
                add(match.group(1).split(" · ")[0])
    return terms


def write_search_dictionary(path: Path) -> Path:
    """Write ``search_terms()`` as a jieba user dictionary (one word a line; jieba picks the frequency
    that keeps each word whole) to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(search_terms()) + "\n", encoding="utf-8")
    return path


def chinese_config(english: str, search_dictionary: Path | None = None) -> str:
    """The Chinese book's ``_config.yml``: the English one with its title, author, language and switch
    changed, the interface in Chinese (``book/_ext/chinese_interface.py``, the toggle's hints) and, given
    ``search_dictionary``, Chinese search told the course's words (``html_search_options``)."""
    config, count = re.subn(r'^title: .*$', f'title: "{TITLE}"', english, count=1, flags=re.MULTILINE)
    replacements = {
        r'^(\s*)language_switch_root: .*$': r'\1language_switch_root: "../"',
        r'^(\s*)language_switch_label: .*$': r'\1language_switch_label: "English"',
        r'^(\s*)language_switch_hreflang: .*$': r'\1language_switch_hreflang: "en"',
    }
    for pattern, replacement in replacements.items():
        config, found = re.subn(pattern, replacement, config, count=1, flags=re.MULTILINE)
        count += found
    config, found = re.subn(r'^(\s*)(bibtex_reference_style: .*)$', r'\1\2\n\1language: zh_CN', config, count=1,
                            flags=re.MULTILINE)
    settings = [f'togglebutton_hint: "{TOGGLE_HINTS[0]}"', f'togglebutton_hint_hide: "{TOGGLE_HINTS[1]}"']
    if search_dictionary is not None:
        settings.append(f'html_search_options: {{dict: "{Path(search_dictionary).resolve().as_posix()}"}}')
    config = re.sub(r'^(\s*)(language: zh_CN)$', lambda m: "\n".join([m.group(0)] + [m.group(1) + line for line in settings]),
                    config, count=1, flags=re.MULTILINE)
    config, authored = re.subn(r'^author: .*$', f'author: "{AUTHOR}"', config, count=1, flags=re.MULTILINE)
    config, extended = re.subn(r'^(\s*)(language_switch: book/_ext)\s*$', r'\1\2\n\1chinese_interface: book/_ext', config,
                               count=1, flags=re.MULTILINE)
    if not (authored and extended):
        raise ValueError("_config.yml: expected an author and the local extension language_switch: book/_ext, "
                         "to derive the Chinese config from")
    # The launch buttons (Colab, Binder) open <path_to_book>/<page>.ipynb in the repository: the Chinese notebook.
    config, pointed = re.subn(r'^(\s*)path_to_book: .*$', rf'\1path_to_book: "{LANGUAGE}"', config, count=1,
                              flags=re.MULTILINE)
    if not pointed:
        raise ValueError("_config.yml: expected repository.path_to_book, to point the Chinese launch buttons at zh/")
    if count + found != 5:
        raise ValueError("_config.yml: expected a title, sphinx.config.bibtex_reference_style and the three "
                         "language_switch_* settings, to derive the Chinese config from")
    return config


def chinese_toc(english: str) -> str:
    """The Chinese ``_toc.yml``: the same pages, with the captions translated."""
    def caption(match):
        text = match.group(2).strip().strip('"')
        if text not in CAPTIONS:
            raise ValueError(f"_toc.yml caption {text!r} has no Chinese in cnncourse/publishing/translations.py CAPTIONS")
        return f"{match.group(1)}{CAPTIONS[text]}"
    return re.sub(r"^(\s*- caption: )(.*)$", caption, english, flags=re.MULTILINE)


def build_tree(out: Path) -> Path:
    """Write the Chinese book's sources to ``out``: config, toc, book/ assets, translated pages.

    Code cells and outputs are copied unchanged; untranslated units stay in English (``check``
    is what fails on them).
    """
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    dictionary = write_search_dictionary(out / SEARCH_DICTIONARY)
    (out / "_config.yml").write_text(chinese_config((ROOT / "_config.yml").read_text(encoding="utf-8"), dictionary),
                                     encoding="utf-8")
    (out / "_toc.yml").write_text(chinese_toc((ROOT / "_toc.yml").read_text(encoding="utf-8")), encoding="utf-8")
    shutil.copytree(ROOT / "book", out / "book", ignore=shutil.ignore_patterns("__pycache__", "*.md"))
    for page in toc_pages():
        path = source_path(page)
        target = out / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".ipynb":
            target.write_text(json.dumps(translated_notebook(page), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        else:
            target.write_text(translated_markdown(page), encoding="utf-8")
    return out


def notebook_pages() -> list[str]:
    return [page for page in toc_pages() if source_path(page).suffix == ".ipynb"]


def chinese_notebook_text(page: str) -> str:
    """The Chinese notebook of ``page``, as written to ``zh/<page>.ipynb`` and into the Chinese book."""
    return json.dumps(translated_notebook(page), ensure_ascii=False, indent=1) + "\n"


def write_notebooks() -> list[Path]:
    """Regenerate ``zh/<page>.ipynb`` for every notebook page (and remove any other notebook there)."""
    written = []
    for page in notebook_pages():
        target = NOTEBOOKS / (page + ".ipynb")
        target.parent.mkdir(parents=True, exist_ok=True)
        text = chinese_notebook_text(page)
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
            written.append(target)
    expected = {NOTEBOOKS / (page + ".ipynb") for page in notebook_pages()}
    for path in NOTEBOOKS.rglob("*.ipynb") if NOTEBOOKS.exists() else []:
        if path not in expected:
            path.unlink()
            written.append(path)
    return written


def stale_notebooks() -> list[str]:
    """Why the committed Chinese notebooks differ from what ``notebooks`` writes (empty when fresh)."""
    problems = []
    for page in notebook_pages():
        target = NOTEBOOKS / (page + ".ipynb")
        if not target.exists():
            problems.append(f"{target.relative_to(ROOT)} is missing")
        elif target.read_text(encoding="utf-8") != chinese_notebook_text(page):
            problems.append(f"{target.relative_to(ROOT)} is stale")
    expected = {NOTEBOOKS / (page + ".ipynb") for page in notebook_pages()}
    problems += [f"{path.relative_to(ROOT)} is no page of _toc.yml"
                 for path in (NOTEBOOKS.rglob("*.ipynb") if NOTEBOOKS.exists() else []) if path not in expected]
    return problems


def comments_report(pages: list[str], verbose: bool) -> int:
    """Print the code comments' status per notebook page; return the number of problems."""
    bad = total = done = 0
    for page in pages:
        notebook = json.loads(source_path(page).read_text(encoding="utf-8")) if page in notebook_pages() else None
        status = comments.page_status(page, notebook)
        total, done = total + status["comments"], done + status["translated"]
        bad += len(status["missing"]) + len(status["stale"]) + len(status["damaged"])
        if notebook is None and not status["stale"]:
            continue
        print(f"{page + ' (comments)':32s} comments {status['comments']:3d}  translated {status['translated']:3d}  "
              f"missing {len(status['missing']):3d}  stale {len(status['stale']):3d}  damaged {len(status['damaged']):3d}")
        if verbose:
            for key, text in status["missing"]:
                print(f"    missing comment {key}: {text[:70]}")
            for key in status["stale"]:
                print(f"    stale comment entry {key}")
            for key, problems in status["damaged"]:
                print(f"    damaged comment {key}: {'; '.join(problems[:4])}")
    print(f"code comments: {done} of {total} translated")
    return bad


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("status")
    commands.add_parser("check")
    commands.add_parser("notebooks")
    make = commands.add_parser("skeleton")
    make.add_argument("pages", nargs="*")
    tree = commands.add_parser("build")
    tree.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    pages = toc_pages()
    if args.command == "build":
        print(build_tree(args.out))
        return 0
    if args.command == "skeleton":
        for page in args.pages or pages:
            if page not in pages:
                parser.error(f"page {page!r} is not in _toc.yml; pages: {', '.join(pages)}")
            print(skeleton(page).relative_to(ROOT))
        known = comments.known_translations(pages)
        for page in args.pages or pages:
            notebook = json.loads(source_path(page).read_text(encoding="utf-8")) if page in notebook_pages() else None
            path = comments.skeleton(page, notebook, known)
            if path:
                print(path.relative_to(ROOT))
        return 0
    if args.command == "notebooks":
        for path in write_notebooks():
            print(path.relative_to(ROOT))
        return 0
    bad = 0
    for page in pages:
        status = page_status(page)
        style = sum(len(found) for _, _, found in status["style"])
        bad += len(status["missing"]) + len(status["stale"]) + len(status["damaged"]) + style
        print(f"{page:32s} units {status['units']:3d}  translated {status['translated']:3d}  "
              f"missing {len(status['missing']):3d}  stale {len(status['stale']):3d}  damaged {len(status['damaged']):3d}  "
              f"style {style:3d}")
        if args.command == "check":
            for index, key, first in status["missing"]:
                print(f"    missing unit {index} ({key}): {first}")
            for key in status["stale"]:
                print(f"    stale entry {key}")
            for index, key, problems in status["damaged"]:
                print(f"    damaged unit {index} ({key}): {'; '.join(problems[:4])}")
            for index, key, found in status["style"]:
                for problem in found:
                    print(f"    style, unit {index} ({key}): {problem}")
    bad += comments_report(pages, verbose=args.command == "check")
    for problem in stale_notebooks():
        bad += 1
        print(f"    {problem}: python scripts/translations.py notebooks")
    return 1 if (args.command == "check" and bad) else 0


