"""Where results live: content-addressed files, their recipes and lineage, in SQLite."""

from darkroom.library.store import Library, LibraryImage

__all__ = ["Library", "LibraryImage"]
