"""``python -m cnncourse.exercises list [CHAPTER]``: the exercise checkers, by chapter."""

import argparse

from . import exercises


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnncourse.exercises")
    sub = parser.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="list the exercise checkers by chapter")
    listing.add_argument("chapter", nargs="?", help="only this chapter, e.g. 03_convolution")
    args = parser.parse_args(argv)
    current = None
    for exercise in exercises(args.chapter):
        if exercise.chapter != current:
            current = exercise.chapter
            print(f"{current}:")
        print(f"  {exercise.name:<28} {exercise.description}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
