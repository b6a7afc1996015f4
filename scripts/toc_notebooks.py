"""Print the chapter notebooks listed in _toc.yml, one per line (used by the Makefile)."""

import sys

from cnncourse.publishing.toc import toc_notebooks

if __name__ == "__main__":
    sys.stdout.write("\n".join(str(path) for path in toc_notebooks()) + "\n")
