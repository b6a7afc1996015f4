"""The Chinese edition (translations beside the English pages): status, skeleton, check, build, notebooks: the command line of ``cnncourse.publishing.translations``, whose docstring tells how to run it."""

import sys

from cnncourse.publishing.translations import main

if __name__ == "__main__":
    sys.exit(main())
