"""feeds: publish Atom and RSS feeds from folders of Jekyll-style Markdown posts."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("feeds")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
