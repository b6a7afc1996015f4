"""Publishing: one repository URL everywhere, and a setup cell that makes a chapter run on a fresh machine (Colab)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from cnncourse.publishing import repository as set_repository

ROOT = Path(__file__).resolve().parents[1]


def test_every_place_names_the_configured_repository():
    assert set_repository.problems() == []


def test_set_url_rewrites_every_place(tmp_path):
    for name in ("_config.yml", "_toc.yml", *set_repository.TEXT_PLACES):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    for notebook in set_repository.toc_notebooks():
        (tmp_path / "chapters").mkdir(exist_ok=True)
        shutil.copy(notebook, tmp_path / "chapters" / notebook.name)
    set_repository.set_url("https://github.com/medical-ai-lab/cnncourse", tmp_path)
    assert set_repository.repository_url(tmp_path) == "https://github.com/medical-ai-lab/cnncourse"
    assert set_repository.problems(tmp_path) == []
    assert "https://medical-ai-lab.github.io/cnncourse/" in (tmp_path / "README.md").read_text(encoding="utf-8")
    with pytest.raises(SystemExit, match="must look like https://github.com/OWNER/REPO"):
        set_repository.set_url("not a url", tmp_path)


@pytest.mark.parametrize("notebook", set_repository.toc_notebooks(), ids=lambda path: path.stem)
def test_setup_cell_comes_first_and_is_hidden(notebook):
    cells = nbformat.read(notebook, as_version=4).cells
    first_code = next(cell for cell in cells if cell.cell_type == "code")
    assert first_code.get("id") == set_repository.SETUP_CELL_ID
    assert set_repository.SETUP_TAG in first_code.metadata.get("tags", [])
    assert not first_code.outputs, "where cnncourse is installed, the setup cell prints nothing"


@pytest.mark.slow
def test_setup_cell_installs_the_package_in_a_fresh_environment(tmp_path):
    """A fresh venv without cnncourse: the setup cell installs it (from this checkout instead of the URL)."""
    source = tmp_path / "source"
    shutil.copytree(ROOT / "cnncourse", source / "cnncourse", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = str(venv / "bin" / "python")
    absent = subprocess.run([python, "-c", "import cnncourse"], cwd=tmp_path, capture_output=True, text=True)
    assert absent.returncode != 0 and "No module named 'cnncourse'" in absent.stderr

    cell = set_repository.setup_source(set_repository.repository_url(), "08_end_to_end")
    requirement = f'"cnncourse[keras] @ git+{set_repository.repository_url()}"'
    assert requirement in cell and '"--quiet", ' in cell
    # The local checkout stands in for the repository URL; --no-deps keeps the test quick
    # (the build backend still comes from PyPI, as in Colab).
    runnable = cell.replace(requirement, repr(str(source))).replace('"--quiet", ', '"--quiet", "--no-deps", ')
    subprocess.run([python, "-c", runnable], cwd=tmp_path, check=True, timeout=600)
    # The package is installed in the fresh venv (its dependencies were left out, so locate it without importing).
    installed = subprocess.run(
        [python, "-c", "import importlib.metadata as m, importlib.util as u; "
                       "print(m.version('cnncourse')); print(u.find_spec('cnncourse').origin)"],
        cwd=tmp_path, capture_output=True, text=True, check=True)
    version, origin = installed.stdout.split()
    assert version == "0.1.0" and origin.startswith(str(venv)), installed.stdout
    # Where cnncourse is installed (this environment), the cell never reaches pip.
    subprocess.run([sys.executable, "-c", runnable.replace("subprocess.check_call", "NEVER_CALLED")],
                   cwd=tmp_path, check=True, timeout=60)
