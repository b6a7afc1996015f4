"""Write the student edition (solutions replaced by stubs): the command line of ``cnncourse.publishing.student``, whose docstring tells how to run it."""

import sys

from cnncourse.publishing.student import main

if __name__ == "__main__":
    sys.exit(main())
