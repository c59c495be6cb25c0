"""feeds: publish Atom and RSS feeds from folders of Jekyll-style Markdown posts."""

__version__ = "0.1.0"

__all__ = ["__version__"]
