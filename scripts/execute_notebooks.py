"""Execute notebooks in place, top to bottom, with the current environment's kernel.

    python scripts/execute_notebooks.py chapters/03_convolution.ipynb [...]
"""

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

os.environ.setdefault("CNNCOURSE_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "data"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("PYTHONHASHSEED", "0")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # as `make test` runs them


def execute(path: Path, timeout: int = 900) -> float:
    """Execute ``path`` in its own folder and save it with outputs; returns the seconds it took."""
    notebook = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    client = NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()
    seconds = time.perf_counter() - start
    nbformat.write(notebook, path)
    return seconds


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(f"{name}: executed in {execute(Path(name)):.1f} s", flush=True)
