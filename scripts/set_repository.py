"""Set or check the repository URL in every place that names it: the command line of ``cnncourse.publishing.repository``, whose docstring tells how to run it."""

import sys

from cnncourse.publishing.repository import main

if __name__ == "__main__":
    sys.exit(main())
