"""Settings: defaults < a Jekyll _config.yml < feeds.toml < command-line flags.

Pure apart from reading the two config files; returns a frozen Settings.
"""

from __future__ import annotations

import hashlib
import os
import re
import string
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from feeds.dates import DateError, parse_timezone
from feeds.errors import ConfigError, MissingSiteURL
from feeds.model import FILE_NAMES
from feeds.text import one_line
from feeds.urls import PERMALINK_STYLES, absolute_url

CONFIG_NAME = "feeds.toml"
DEFAULT_CACHE_NAME = ".feeds-cache.sqlite"
JEKYLL_CONFIG = "_config.yml"


@dataclass(frozen=True, slots=True)
class Settings:
    sources: tuple[Path, ...]
    out: Path
    site_url: str  # absolute, percent-encoded, baseurl included, no trailing slash
    title: str
    author: str
    author_email: str | None
    lang: str
    description: str
    timezone: str
    limit: int = 20
    formats: tuple[str, ...] = ("atom", "rss")
    link: str = "source"
    summary_length: int = 200
    permalink: str = "date"
    future: bool = False
    category_url: str | None = None
    tag_url: str | None = None
    encoding: str = "utf-8"
    max_post_size: int = 10 * 1024 * 1024
    strict: bool = False
    cache: Path | None = None  # None: no cache (--no-cache)
    jobs: int = 1
    wait: float = 60.0
    prune: bool = False
    config_file: Path | None = None
    jekyll_config: Path | None = None


# Keys a feeds.toml may set (the flag names, with "_" for "-").
TOML_KEYS = {
    "sources", "out", "site_url", "title", "author", "author_email", "lang", "description",
    "timezone", "limit", "formats", "link", "summary_length", "permalink", "future",
    "category_url", "tag_url", "encoding", "max_post_size", "strict", "cache", "no_cache",
    "jobs", "wait", "prune",
}
_PATH_KEYS = {"out", "cache"}


def default_jobs() -> int:
    """One worker per CPU this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def default_cache(config_file: Path | None, out: Path) -> Path | None:
    """Beside feeds.toml; without one, in the user's cache folder, one file per --out.

    Never inside --out (it is published) and never next to it (nothing but
    --out is written where the feeds go). None when there is no home folder.
    """
    if config_file is not None:
        return config_file.parent / DEFAULT_CACHE_NAME
    root = os.environ.get("XDG_CACHE_HOME")
    if not root or not os.path.isabs(root):  # (the XDG spec: a relative path is to be ignored)
        try:
            root = str(Path.home() / ".cache")
        except RuntimeError:  # no HOME and no password entry
            return None
    key = hashlib.sha256(os.path.realpath(out).encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return Path(root) / "feeds" / f"{key}.sqlite"


def default_sources(cwd: Path) -> tuple[Path, ...]:
    """posts/; or, at the root of a Jekyll site, _posts/ and its archive folders.

    Sites like the finews mirror move old posts out of _posts/ (to old_post/):
    every top-level folder whose name has "post" in it is read after _posts/,
    in name order (_drafts and the built _site are not).
    """
    if is_jekyll_root(cwd) and not (cwd / "posts").is_dir():
        return jekyll_post_folders(cwd, Path())
    return (Path("posts"),)


def is_jekyll_root(directory: Path) -> bool:
    return (directory / JEKYLL_CONFIG).is_file() and (directory / "_posts").is_dir()


def jekyll_post_folders(root: Path, named: Path) -> tuple[Path, ...]:
    """_posts/, then each top-level folder with "post" in its name, under ``named`` (how ``root`` is written)."""
    archives = sorted(
        entry.name
        for entry in root.iterdir()
        if entry.is_dir()
        and "post" in entry.name.lower()
        and entry.name not in ("_posts", "_drafts", "_site")
        and not entry.name.startswith(".")
    )
    return (named / "_posts", *(named / name for name in archives))


def _expand_site_roots(sources: tuple[Path, ...]) -> tuple[Path, ...]:
    """A source that is a Jekyll site's root stands for its post folders, as
    with no source at all: its drafts, built _site and pages are no posts."""
    expanded: list[Path] = []
    for source in sources:
        if is_jekyll_root(source):  # (a file has no _posts/ folder in it)
            expanded.extend(jekyll_post_folders(source, source))
        else:
            expanded.append(source)
    return tuple(expanded)


def find_site_root(source: Path) -> Path | None:
    """The nearest directory holding a Jekyll _config.yml: the source itself or up to two parents."""
    start = source if source.is_dir() else source.parent
    candidate = start.resolve()
    for _ in range(3):
        if (candidate / JEKYLL_CONFIG).is_file():
            return candidate
        if candidate.parent == candidate:
            break
        candidate = candidate.parent
    return None


def load(flags: dict[str, Any], cwd: Path) -> Settings:
    """Merge defaults, the Jekyll config, feeds.toml and the flags given (None = not given)."""
    given = {k: v for k, v in flags.items() if v is not None and v != ()}
    for key in ("site_url", "timezone", "out", "cache", "config", "permalink", "encoding"):
        if isinstance(given.get(key), str) and not given[key].strip():
            # ("--timezone $TZ" with TZ unset): not a silent fallback to some other value
            raise ConfigError(f"--{key.replace('_', '-')} is empty")
    if any(not str(source).strip() for source in given.get("sources", ())):
        raise ConfigError("a source is empty (an unset variable?)")
    sources = tuple(Path(s) for s in given.get("sources", ())) or None

    config_file = _find_config(given.get("config"), cwd, sources or default_sources(cwd))
    toml = _read_toml(config_file) if config_file else {}
    if sources is None and "sources" in toml:
        sources = tuple(_relative_to(config_file, Path(s)) for s in _as_list(toml.pop("sources"), "sources"))
    else:
        toml.pop("sources", None)
    sources = sources or default_sources(cwd)
    for source in sources:
        if not source.exists():
            raise ConfigError(f"no such file or directory: {source}")
    sources = _expand_site_roots(sources)

    root = find_site_root(sources[0])
    jekyll_file = root / JEKYLL_CONFIG if root else None
    jekyll = _read_jekyll(jekyll_file) if jekyll_file else {}

    merged: dict[str, Any] = {"out": Path("public")}
    merged.update(jekyll)
    for key, value in toml.items():
        if key in _PATH_KEYS:
            if not isinstance(value, str):
                raise ConfigError(f"{key} must be a path (a string), not {value!r}", config_file)
            value = _relative_to(config_file, Path(value))
        merged[key] = value
    for key, value in given.items():
        if key not in ("sources", "config"):
            merged[key] = value
    return _validate(merged, sources, config_file, jekyll_file)


def _find_config(explicit: str | Path | None, cwd: Path, sources: tuple[Path, ...]) -> Path | None:
    if explicit is not None:
        path = Path(explicit)
        if path.is_dir():
            raise ConfigError(f"--config {path} is a directory; give the feeds.toml file")
        if not path.is_file():
            raise ConfigError(f"no such config file: {path}")
        return path
    if (cwd / CONFIG_NAME).is_file():
        return cwd / CONFIG_NAME
    # in the first source folder, or beside it (/srv/site/feeds.toml for /srv/site/_posts)
    folder = sources[0] if sources[0].is_dir() else sources[0].parent
    for candidate in (folder / CONFIG_NAME, folder.parent / CONFIG_NAME):
        if candidate.is_file():
            return candidate
    return None


def _relative_to(config_file: Path | None, path: Path) -> Path:
    if path.is_absolute() or config_file is None:
        return path
    base = config_file.parent
    return path if base == Path(".") else base / path


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", path) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", path) from exc
    unknown = sorted(set(data) - TOML_KEYS)
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(unknown)}", path)
    return data


def _read_jekyll(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"cannot read the Jekyll config: not valid YAML{where}: {problem}", path) from exc
    except (UnicodeDecodeError, OSError, ValueError, RecursionError) as exc:
        raise ConfigError(f"cannot read the Jekyll config: {one_line(str(exc))}", path) from exc
    if not isinstance(data, dict):
        return {}
    found: dict[str, Any] = {}
    url = data.get("url")
    if isinstance(url, str) and url.strip():
        base = data.get("baseurl")
        base = base.strip().strip("/") if isinstance(base, str) else ""
        found["site_url"] = url.strip().rstrip("/") + (f"/{base}" if base else "")
    author = data.get("author")
    if isinstance(author, dict):
        if author.get("name"):
            found["author"] = _jekyll_text(author["name"], "author.name", path)
        if author.get("email"):
            found["author_email"] = _jekyll_text(author["email"], "author.email", path)
    elif author:
        found["author"] = _jekyll_text(author, "author", path)
    for key in ("title", "lang", "timezone", "description"):
        if data.get(key) not in (None, ""):
            found[key] = _jekyll_text(data[key], key, path)
    if data.get("permalink") not in (None, ""):
        permalink = _jekyll_text(data["permalink"], "permalink", path).strip()
        # Jekyll makes every permalink start with "/" (":year/:title" works there too)
        found["permalink"] = permalink if permalink in PERMALINK_STYLES or permalink.startswith("/") else "/" + permalink
    return found


def _jekyll_text(value: object, key: str, path: Path) -> str:
    if isinstance(value, (dict, list, set, tuple)):
        kind = "list" if isinstance(value, (list, set, tuple)) else "mapping"
        raise ConfigError(f"{key} in the Jekyll config is a {kind}, not text", path)
    return str(value)


SQLITE_HEADER = b"SQLite format 3\x00"
CACHE_SUFFIXES = (".sqlite", ".sqlite3", ".db", ".cache")


def _check_cache_path(cache: Path, out: Path) -> None:
    """--cache may name a new file, a cache, or a damaged one (rebuilt, with a warning),
    never a file of anyone else's (a post, the notes a typo named) or one in --out."""
    real_out, real_cache = os.path.realpath(out), os.path.realpath(cache)
    if os.path.commonpath([real_out, real_cache]) == real_out:
        raise ConfigError(f"--cache {cache} is inside --out {out}, which is published; put it elsewhere")
    if cache.is_dir():
        raise ConfigError(f"--cache {cache} is a directory; give a file name")
    if not cache.parent.is_dir():  # a typo: no folders are made for it
        raise ConfigError(f"--cache {cache}: no such folder {cache.parent}")
    try:
        with open(cache, "rb") as found:
            head = found.read(len(SQLITE_HEADER))
    except OSError:
        return  # none yet (or unreadable: opening the cache will say so)
    if head and head != SQLITE_HEADER and not cache.name.lower().endswith(CACHE_SUFFIXES):
        raise ConfigError(
            f"--cache {cache} is not a feeds cache (no SQLite database, and not named *.sqlite);"
            " refusing to overwrite it"
        )


_URL_HEAD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?#]+[/?#]")


def _check_page_pattern(key: str, pattern: str, site_url: str) -> None:
    """category_url/tag_url: only {slug}, {name} and {site}, giving an absolute http(s) URL."""
    try:
        fields = [field for _text, field, _spec, _conv in string.Formatter().parse(pattern) if field is not None]
    except ValueError as exc:
        raise ConfigError(f"{key}: {exc}") from exc
    wrong = [field for field in fields if field not in ("slug", "name", "site")]
    if wrong:
        raise ConfigError(f"{key}: use only {{slug}}, {{name}} and {{site}} in the pattern, not {wrong}")
    if absolute_url(pattern.format(slug="x", name="x", site=site_url)) is None:
        raise ConfigError(f"{key}: {pattern!r} does not give an absolute http(s) URL")
    # a name goes in percent-encoded, which a path, query or fragment takes and a host does not
    head = pattern.format(slug="\x00", name="\x00", site=site_url).split("\x00", 1)[0]
    if ("slug" in fields or "name" in fields) and not _URL_HEAD.match(head):
        raise ConfigError(f"{key}: put {{slug}} and {{name}} after the host, as in https://example.org/tags/{{slug}}/")


def _as_list(value: Any, key: str) -> list[str]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise ConfigError(f"{key} must be a list of strings or a comma-separated string")


def _validate(m: dict[str, Any], sources, config_file, jekyll_file) -> Settings:
    site = m.get("site_url")
    if not site:
        raise MissingSiteURL(
            "no site URL: pass --site-url, or set site_url in feeds.toml (or url in the Jekyll _config.yml)"
        )
    site_url = absolute_url(str(site))
    if site_url is None:
        raise ConfigError(f"site URL {site!r} is not an absolute http(s) URL")
    if "?" in site_url or "#" in site_url:
        raise ConfigError(f"site URL {site!r} must not have a query or fragment: feed paths are added to it")
    site_url = site_url.rstrip("/")
    try:
        parse_timezone(str(m.get("timezone") or "UTC"))
    except DateError as exc:
        raise ConfigError(str(exc)) from exc
    formats = tuple(dict.fromkeys(f.lower() for f in _as_list(m.get("formats", "atom,rss"), "formats")))
    if not formats or set(formats) - set(FILE_NAMES):
        raise ConfigError(f"formats must be a list of {', '.join(FILE_NAMES)}; got {m.get('formats')!r}")
    link = str(m.get("link", "source"))
    if link not in ("source", "post"):
        raise ConfigError(f"link must be 'source' or 'post', not {link!r}")
    ints = {}
    for key, default in (("limit", 20), ("summary_length", 200), ("max_post_size", 10 * 1024 * 1024)):
        value = m.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"{key} must be a whole number >= 0, not {value!r}")
        ints[key] = value
    encoding = str(m.get("encoding", "utf-8"))
    try:
        # a text encoding ("rot13" or "base64" are not; "idna" and "undefined"
        # refuse "replace" with a UnicodeError)
        b"x".decode(encoding, "replace")
    except (LookupError, UnicodeError) as exc:
        raise ConfigError(f"unknown text encoding {encoding!r}") from exc
    permalink = str(m.get("permalink", "date"))
    if permalink not in PERMALINK_STYLES and not permalink.startswith("/"):
        raise ConfigError(
            f"permalink must be a style ({', '.join(PERMALINK_STYLES)}) or a pattern starting with '/'"
        )
    for key in ("category_url", "tag_url"):
        if m.get(key) is not None:
            _check_page_pattern(key, str(m[key]), site_url)
    title = one_line(str(m.get("title") or "")) or site_url.split("//", 1)[1]
    jobs = m.get("jobs", 0)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 0:
        raise ConfigError(f"jobs must be a whole number >= 0 (0 = one per CPU), not {jobs!r}")
    if jobs == 0:
        jobs = default_jobs()
    wait = m.get("wait", 60)
    if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not 0 <= wait < float("inf"):
        raise ConfigError(f"wait must be a number of seconds >= 0, not {wait!r}")
    for key in ("out", "cache"):
        if m.get(key) is not None and not isinstance(m[key], (str, Path)):
            raise ConfigError(f"{key} must be a path (a string), not {m[key]!r}")
    out = Path(m["out"])
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} exists and is not a directory")
    cache: Path | None = None
    if not m.get("no_cache", False):
        if m.get("cache"):
            cache = Path(m["cache"])
            _check_cache_path(cache, out)
        else:
            cache = default_cache(config_file, out)
    for key in ("future", "strict", "no_cache", "prune"):
        if not isinstance(m.get(key, False), bool):
            raise ConfigError(f"{key} must be true or false")
    return Settings(
        sources=tuple(sources),
        out=out,
        site_url=site_url,
        title=title,
        author=one_line(str(m.get("author") or "")) or title,
        author_email=one_line(str(m["author_email"])) if m.get("author_email") else None,
        lang=one_line(str(m.get("lang") or "en")),
        description=one_line(str(m.get("description") or "")) or title,
        timezone=str(m.get("timezone") or "UTC"),
        limit=ints["limit"],
        formats=formats,
        link=link,
        summary_length=ints["summary_length"],
        permalink=permalink,
        future=bool(m.get("future", False)),
        category_url=str(m["category_url"]) if m.get("category_url") else None,
        tag_url=str(m["tag_url"]) if m.get("tag_url") else None,
        encoding=encoding,
        max_post_size=ints["max_post_size"],
        strict=bool(m.get("strict", False)),
        cache=cache,
        jobs=jobs,
        wait=float(wait),
        prune=bool(m.get("prune", False)),
        config_file=config_file,
        jekyll_config=jekyll_file,
    )
