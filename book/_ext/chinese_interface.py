"""Sphinx extension of the Chinese book: its interface strings in Chinese (``cnncourse.publishing.interface``)."""

from cnncourse.publishing.interface import setup, translate_exercises, translate_interface  # noqa: F401
