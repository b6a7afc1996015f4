"""``python -m cnncourse.exercises list [CHAPTER]``: the exercise checkers, by chapter.

``CHAPTER`` is a chapter id such as ``03_convolution``, or just its number (``03`` or ``3``).
"""

from __future__ import annotations

import argparse
import sys

from . import exercises


def _select(chapter: str | None) -> list:
    """The exercises of ``chapter`` (an id, or a number such as ``3`` or ``03``); all if None."""
    every = exercises()
    if chapter is None:
        return every
    wanted = chapter.strip()
    if wanted.isdigit():
        wanted = f"{int(wanted):02d}_"
        return [exercise for exercise in every if exercise.chapter.startswith(wanted)]
    return [exercise for exercise in every if exercise.chapter == wanted]


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cnncourse.exercises", description="The course's exercise checkers."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="list the exercise checkers by chapter")
    listing.add_argument("chapter", nargs="?", help="only this chapter, e.g. 03_convolution or 3")
    args = parser.parse_args(argv)
    selected = _select(args.chapter)
    if not selected:
        known = ", ".join(sorted({exercise.chapter for exercise in exercises()}))
        print(f"no exercises for chapter {args.chapter!r}; chapters with exercises: {known}", file=sys.stderr)
        return 2
    current = None
    for exercise in selected:
        if exercise.chapter != current:
            current = exercise.chapter
            print(f"{current}:")
        print(f"  {exercise.name:<28} {exercise.description}")
    chapters = len({exercise.chapter for exercise in selected})
    print(
        f"\n{_plural(len(selected), 'exercise')} in {_plural(chapters, 'chapter')}. "
        f'In a notebook: check("name", your_function)'
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
