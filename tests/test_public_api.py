"""No module of ``cnncourse`` reaches into another ``cnncourse`` module's private (``_``-named) names.

A module may use its own ``_helpers``; across modules only public names travel, so what
the chapters show and what the layers call is the same public API. Two forms are
refused, found by parsing every file with ``ast``:

- ``from x import _y`` (relative or absolute), ``_y`` not a dunder;
- ``m._y`` where ``m`` is a module (``import x.m``, ``import x.m as m``, ``from x import m``),
  including dotted chains such as ``cnncourse.scratch.conv._y``.

Private *methods* called on objects (``layer._forward``) are the layers' own protocol
and are not modules' names; they are not checked here.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "cnncourse"


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _resolve(module: str | None, level: int, current: str, is_package: bool) -> str:
    """The absolute name of ``from <level dots><module> import ...`` inside module ``current``."""
    if level == 0:
        return module or ""
    base = current.split(".") if is_package else current.split(".")[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join(base + ([module] if module else []))


def _in_package(name: str) -> bool:
    # Only the course's own modules: documented names such as os._exit are not this test's business.
    return name == "cnncourse" or name.startswith("cnncourse.")


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _dotted(node) -> str | None:
    """``a.b.c`` for a chain of attributes on a name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def private_uses(source: str, module: str, is_package: bool = False) -> list[str]:
    """Every cross-module use of a private name in ``source`` (the code of ``module``), as readable lines."""
    tree = ast.parse(source)
    problems = []
    aliases: dict[str, str] = {}  # local name -> module it stands for
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    aliases[alias.name.split(".")[0]] = alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            source_module = _resolve(node.module, node.level, module, is_package)
            if source_module == "__future__":
                continue
            for alias in node.names:
                if _is_private(alias.name) and source_module != module and _in_package(source_module):
                    problems.append(f"line {node.lineno}: from {source_module} import {alias.name}")
                elif _is_module(f"{source_module}.{alias.name}"):
                    aliases[alias.asname or alias.name] = f"{source_module}.{alias.name}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _is_private(node.attr):
            chain = _dotted(node.value)
            if chain is None:
                continue
            head, _, rest = chain.partition(".")
            if head not in aliases:
                continue
            target = aliases[head] + ("." + rest if rest else "")
            if target != module and _in_package(target) and _is_module(target):
                problems.append(f"line {node.lineno}: {chain}.{node.attr} (private name of module {target})")
    return problems


def _package_files():
    return sorted(PACKAGE_ROOT.rglob("*.py"))


@pytest.mark.parametrize("path", _package_files(), ids=lambda p: str(p.relative_to(PACKAGE_ROOT.parent)))
def test_no_module_uses_another_modules_private_names(path):
    module = _module_name(path, PACKAGE_ROOT)
    problems = private_uses(path.read_text(encoding="utf-8"), module, is_package=path.name == "__init__.py")
    assert not problems, f"{path.relative_to(PACKAGE_ROOT.parent)} uses private names of other modules:\n" + "\n".join(
        problems
    )


def test_the_check_finds_both_forms_and_allows_the_public_ones():
    source = (
        "from .conv import _conv_forward, conv2d\n"
        "from cnncourse.scratch import conv as scratch_conv\n"
        "import cnncourse.scratch.pooling\n"
        "from . import layers\n"
        "scratch_conv._offsets\n"
        "cnncourse.scratch.pooling._check_pool_args\n"
        "layers.ActivatedLayer\n"
        "self._cache\n"
        "import os\nos._exit\n"
        "from __future__ import annotations\n"
    )
    problems = private_uses(source, "cnncourse.scratch.model")
    assert len(problems) == 3, problems
    assert "from cnncourse.scratch.conv import _conv_forward" in problems[0]
    assert any("scratch_conv._offsets" in p for p in problems)
    assert any("cnncourse.scratch.pooling._check_pool_args" in p for p in problems)
    # A module's own private names are its own business.
    assert private_uses("from .conv import _clip\n", "cnncourse.scratch.conv") == []
