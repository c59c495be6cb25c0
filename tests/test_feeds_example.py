"""End-to-end: build the example site (posts/) and read every feed back.

Expectations are derived from the post files themselves, read here
independently of feeds (a small front-matter splitter + PyYAML), never
copied from a run.
"""

from __future__ import annotations

import calendar
import html
import re
import shutil
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from lxml import etree

from conftest import EXAMPLE, NOW, names, parse, settings_for, shown_text, split_front
from feeds.build import build

ATOM = "{http://www.w3.org/2005/Atom}"
A = {"a": "http://www.w3.org/2005/Atom"}
CONFIG = tomllib.loads((EXAMPLE / "feeds.toml").read_text("utf-8"))
SITE = CONFIG["site_url"].rstrip("/")
ZONE = ZoneInfo(CONFIG["timezone"])
SUMMARY_LENGTH = 200  # the documented default
DUP_NAME = "2024-05-02-202405021415093382.md"


# --- an independent reader of the example posts ---------------------------------


@dataclass(frozen=True)
class Expected:
    file: Path
    title: str
    date: datetime
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    url: str
    link: str  # the entry link feeds should give (source, else the post URL)
    summary: str  # untruncated plain text
    blockquote: bool


def parse_date(text: str) -> datetime:
    m = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\s*([+-])(\d\d):?(\d\d))?", text.strip())
    assert m, f"unexpected date form {text!r}"
    y, mo, d, h, mi, s, sign, oh, om = m.groups()
    naive = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s))
    if sign:
        delta = timedelta(hours=int(oh), minutes=int(om))
        return naive.replace(tzinfo=timezone(-delta if sign == "-" else delta))
    return naive.replace(tzinfo=ZONE)


def collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def read_post(path: Path, site: str = SITE) -> Expected:
    meta, body = split_front(path.read_text("utf-8"))
    stem = path.stem
    slug = re.sub(r"^\d{4}-\d\d-\d\d-", "", stem)
    date = parse_date(meta["date"])
    cats = names(meta.get("categories"))
    tags = names(meta.get("tags"))
    url = f"{site}/{'/'.join(c.lower() for c in cats)}/{date:%Y/%m/%d}/{slug}.html"
    link = meta.get("source")
    if not link:
        autolinks = [m.group(1) for line in body.split("\n") if (m := re.fullmatch(r"<(https?://\S+)>", line.strip()))]
        link = autolinks[-1] if autolinks else url
    blocks = [b for b in re.split(r"\n\s*\n", body) if b.strip()]
    first = blocks[0].strip()
    quoted = first.startswith(">")
    if meta.get("summary"):
        summary = collapse(meta["summary"])
    elif quoted:
        summary = collapse(" ".join(line.lstrip()[1:] for line in first.split("\n") if line.lstrip().startswith(">")))
    else:
        summary = collapse(first)
    return Expected(path, meta["title"], date, cats, tags, url, link, summary, quoted and not meta.get("summary"))


def example_files(root: Path = EXAMPLE) -> list[Path]:
    return sorted(p for p in root.rglob("*.md") if not any(part.startswith(".") for part in p.parts))


def expected_posts(root: Path = EXAMPLE, site: str = SITE) -> dict[str, Expected]:
    """url -> post; for a permalink given twice, the _posts copy."""
    found: dict[str, Expected] = {}
    for path in example_files(root):
        post = read_post(path, site)
        if post.url not in found or path.parent.name == "_posts":
            found[post.url] = post
    return found


def order(posts) -> list[Expected]:
    return sorted(posts, key=lambda p: (-p.date.timestamp(), p.url))


def expected_feeds(posts: dict[str, Expected]) -> dict[str, list[Expected]]:
    """feed directory ('' = all) -> its posts, newest first."""
    feeds: dict[str, list[Expected]] = {"": order(posts.values())}
    for post in posts.values():
        for kind, values in (("categories", post.categories), ("tags", post.tags)):
            for name in dict.fromkeys(v.lower() for v in values):
                # the names in the example are simple: the directory is the lower-cased name
                assert re.fullmatch(r"\w+", name), name
                feeds.setdefault(f"{kind}/{name}", []).append(post)
    return {k: order(v) for k, v in feeds.items()}


def feed_file_url(relative: str) -> str:
    return f"{SITE}/{quote(relative)}"


def rel(directory: str, name: str) -> str:
    return f"{directory}/{name}" if directory else name


# --- reading what was written ---------------------------------------------------


def xml(path: Path):
    return etree.fromstring(path.read_bytes())


def atom_entries(root) -> list:
    return root.findall(f"{ATOM}entry")


def rss_items(root) -> list:
    return root.findall("channel/item")


def written_files(out: Path) -> set[str]:
    """Every visible file under out (feeds' own bookkeeping files are dot-files)."""
    return {
        p.relative_to(out).as_posix()
        for p in out.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(out).parts)
    }


def all_files(out: Path) -> set[str]:
    return {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}


def do_build(root: Path, out: Path, now: datetime = NOW, **flags):
    # the cache goes beside the output in tmp, never into the repository's posts/
    flags = {"limit": 0, "cache": out.parent / f"{out.name}.cache.sqlite", **flags}
    return build(settings_for(root, out=out, **flags), now)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("example") / "out"
    report = do_build(EXAMPLE, out)
    assert not report.aborted
    return out


POSTS = expected_posts()
FEEDS = expected_feeds(POSTS)
FEED_FILES = sorted(rel(d, f) for d in FEEDS for f in ("atom.xml", "rss.xml"))


# --- the tests ------------------------------------------------------------------


def test_exactly_the_expected_feed_files_are_written(built):
    assert written_files(built) == set(FEED_FILES)


@pytest.mark.parametrize("relative", FEED_FILES)
def test_every_file_parses_cleanly(built, relative):
    parsed = parse(built / relative)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == ("atom10" if relative.endswith("atom.xml") else "rss20")
    assert len(parsed.entries) == len(FEEDS[relative.rpartition("/")[0]])


@pytest.mark.parametrize("directory", sorted(FEEDS))
def test_atom_entries_match_the_posts(built, directory):
    root = xml(built / rel(directory, "atom.xml"))
    entries = atom_entries(root)
    want = FEEDS[directory]
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    assert len(ids) == len(set(ids)), "duplicate entry ids"
    # exactly its posts, newest first, ties by URL
    assert ids == [p.url for p in want]
    for entry, post in zip(entries, want):
        assert shown_text(entry.find(f"{ATOM}title"), "atom") == post.title
        links = [l.get("href") for l in entry.findall(f"{ATOM}link") if l.get("rel", "alternate") == "alternate"]
        assert links == [post.link]
        published = entry.findtext(f"{ATOM}published")
        assert published.endswith("+08:00"), published
        assert datetime.fromisoformat(published) == post.date
        terms = [c.get("term") for c in entry.findall(f"{ATOM}category")]
        assert sorted(terms) == sorted(dict.fromkeys((*post.categories, *post.tags)))


@pytest.mark.parametrize("directory", sorted(FEEDS))
def test_rss_items_match_the_posts(built, directory):
    root = xml(built / rel(directory, "rss.xml"))
    items = rss_items(root)
    want = FEEDS[directory]
    guids = [i.find("guid") for i in items]
    ids = [g.text for g in guids]
    assert len(ids) == len(set(ids)), "duplicate guids"
    assert ids == [p.url for p in want]
    assert all(g.get("isPermaLink") == "true" for g in guids)
    for item, post in zip(items, want):
        assert shown_text(item.find("title"), "rss") == post.title
        assert item.findtext("link") == post.link
        pub = item.findtext("pubDate")
        assert pub.endswith("+0800"), pub
        assert parsedate_to_datetime(pub) == post.date
        assert sorted(c.text for c in item.findall("category")) == sorted(
            dict.fromkeys((*post.categories, *post.tags))
        )


@pytest.mark.parametrize("relative", FEED_FILES)
def test_feedparser_reads_ids_titles_links_instants(built, relative):
    parsed = parse(built / relative)
    want = FEEDS[relative.rpartition("/")[0]]
    assert [e.id for e in parsed.entries] == [p.url for p in want]
    assert [e.title for e in parsed.entries] == [p.title for p in want]
    assert [e.link for e in parsed.entries] == [p.link for p in want]
    assert [calendar.timegm(e.published_parsed) for e in parsed.entries] == [
        int(p.date.timestamp()) for p in want
    ]
    for entry, post in zip(parsed.entries, want):
        assert {t.term for t in entry.tags} == {*post.categories, *post.tags}


def test_titles_come_from_the_post_files(built):
    # every post file's title (read with yaml) appears in the all-posts feed
    titles = {e.findtext(f"{ATOM}title") for e in atom_entries(xml(built / "atom.xml"))}
    for path in example_files():
        meta, _ = split_front(path.read_text("utf-8"))
        assert meta["title"] in titles, path


def test_all_feed_has_every_post_once_and_the_duplicate_once(built):
    distinct_names = {p.name for p in example_files()}
    assert len(distinct_names) < len(example_files()), "the example should hold a duplicate pair"
    for name in ("atom.xml", "rss.xml"):
        parsed = parse(built / name)
        ids = [e.id for e in parsed.entries]
        assert len(ids) == len(set(ids)) == len(distinct_names)
        dup = [e for e in parsed.entries if DUP_NAME.removesuffix(".md").split("-", 3)[3] in e.id]
        assert len(dup) == 1


def test_duplicate_entry_comes_from_the_posts_copy(built):
    source = read_post(EXAMPLE / "_posts" / DUP_NAME)
    entry = next(e for e in atom_entries(xml(built / "atom.xml")) if e.findtext(f"{ATOM}id") == source.url)
    assert entry.find(f"{ATOM}link").get("href") == source.link
    assert entry.findtext(f"{ATOM}summary") == source.summary


def test_duplicate_posts_copy_wins_when_the_copies_differ(tmp_path):
    site = tmp_path / "site"
    shutil.copytree(EXAMPLE, site, ignore=shutil.ignore_patterns(".*"))
    old = site / "old_post" / DUP_NAME
    text = old.read_text("utf-8")
    text = text.replace("title: \"", "title: \"OLD COPY ", 1)
    text = re.sub(r"<http://finance\.eastmoney\.com/news/[^>]+>", "<http://old.example.net/old-copy.html>", text)
    meta, body = split_front(text)
    first = [b for b in re.split(r"\n\s*\n", body) if b.strip()][0]
    text = text.replace(first.strip(), "OLD COPY SUMMARY " + first.strip())
    old.write_text(text, "utf-8")
    assert read_post(old).link != read_post(site / "_posts" / DUP_NAME).link
    out = tmp_path / "out"
    do_build(site, out)
    winner = read_post(site / "_posts" / DUP_NAME, SITE)
    for name in ("atom.xml", "rss.xml"):
        entries = [e for e in parse(out / name).entries if e.id == winner.url]
        assert len(entries) == 1
        assert entries[0].title == winner.title
        assert entries[0].link == winner.link
        assert "OLD COPY" not in entries[0].summary
    atom = next(e for e in atom_entries(xml(out / "atom.xml")) if e.findtext(f"{ATOM}id") == winner.url)
    assert atom.findtext(f"{ATOM}summary") == winner.summary


def test_each_category_and_tag_feed_has_exactly_its_posts(built):
    for directory, want in FEEDS.items():
        if not directory:
            continue
        kind, name = directory.split("/")
        key = "categories" if kind == "categories" else "tags"
        members = {
            p.url for p in POSTS.values() if name in {v.lower() for v in getattr(p, key)}
        }
        for fname in ("atom.xml", "rss.xml"):
            ids = [e.id for e in parse(built / directory / fname).entries]
            assert sorted(ids) == sorted(members), directory


def test_techweb_spellings_share_one_tag_feed(built):
    spellings = {t for p in POSTS.values() for t in p.tags if t.lower() == "techweb"}
    assert len(spellings) >= 2, "the example should spell TechWeb two ways"
    tag_dirs = [d.name for d in (built / "tags").iterdir()]
    assert [d for d in tag_dirs if d.lower() == "techweb"] == ["techweb"]
    want = {p.url for p in POSTS.values() if any(t in spellings for t in p.tags)}
    for fname in ("atom.xml", "rss.xml"):
        assert {e.id for e in parse(built / "tags" / "techweb" / fname).entries} == want


def test_chinese_tag_feed_path_and_encoded_self_link(built):
    tag = "东财滚动新闻"
    assert any(tag in p.tags for p in POSTS.values())
    encoded = quote(tag)
    assert encoded.startswith("%E4%B8%9C")
    for fname in ("atom.xml", "rss.xml"):
        path = built / "tags" / tag / fname
        assert path.is_file()
        want = f"{SITE}/tags/{encoded}/{fname}"
        parsed = parse(path)
        selfs = [l.href for l in parsed.feed.links if l.rel == "self"]
        assert selfs == [want]
        raw = path.read_text("utf-8")
        assert f'href="{want}"' in raw
        assert f"/tags/{tag}/" not in raw  # never the raw, unencoded path in a URL
    assert xml(built / "tags" / tag / "atom.xml").findtext(f"{ATOM}id") == f"{SITE}/tags/{encoded}/atom.xml"


@pytest.mark.parametrize("directory", sorted(FEEDS))
def test_feed_updated_is_the_newest_entry(built, directory):
    newest = max(p.date for p in FEEDS[directory])
    atom = xml(built / rel(directory, "atom.xml"))
    updated = atom.findtext(f"{ATOM}updated")
    assert updated.endswith("+08:00")
    assert datetime.fromisoformat(updated) == newest
    rss = xml(built / rel(directory, "rss.xml"))
    last = rss.findtext("channel/lastBuildDate")
    assert last.endswith("+0800")
    assert parsedate_to_datetime(last) == newest
    parsed = parse(built / rel(directory, "atom.xml"))
    assert calendar.timegm(parsed.feed.updated_parsed) == int(newest.timestamp())


def test_feeds_do_not_depend_on_the_clock(tmp_path):
    other_now = datetime(2031, 7, 15, 3, 4, 5, tzinfo=timezone.utc)
    assert other_now != NOW
    a, b = tmp_path / "a", tmp_path / "b"
    do_build(EXAMPLE, a, NOW)
    do_build(EXAMPLE, b, other_now)
    files = all_files(a)
    assert files == all_files(b) and written_files(a)
    for name in sorted(files):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
        assert b"2031" not in (b / name).read_bytes()


@pytest.mark.parametrize("directory", sorted(FEEDS))
def test_feed_level_links_author_and_ids(built, directory):
    atom = xml(built / rel(directory, "atom.xml"))
    feed_id = atom.findtext(f"{ATOM}id")
    assert feed_id == feed_file_url(rel(directory, "atom.xml"))
    selfs = [l.get("href") for l in atom.findall(f"{ATOM}link") if l.get("rel") == "self"]
    assert selfs == [feed_id]
    authors = [a.findtext(f"{ATOM}name") for a in atom.findall(f"{ATOM}author")]
    assert authors == [CONFIG["author"]]

    rss = xml(built / rel(directory, "rss.xml"))
    channel_link = rss.findtext("channel/link")
    assert channel_link.rstrip("/") == SITE
    assert not channel_link.endswith(".xml")
    rss_self = [
        l.get("href") for l in rss.findall("channel/{http://www.w3.org/2005/Atom}link") if l.get("rel") == "self"
    ]
    assert rss_self == [feed_file_url(rel(directory, "rss.xml"))]
    parsed = parse(built / rel(directory, "rss.xml"))
    assert parsed.feed.link.rstrip("/") == SITE


def test_feed_titles_name_the_site_and_the_feed(built):
    assert parse(built / "atom.xml").feed.title == CONFIG["title"]
    for directory in FEEDS:
        if directory:
            title = parse(built / directory / "atom.xml").feed.title
            assert title.startswith(CONFIG["title"])
            assert directory.split("/")[1] in title.lower()


def test_limit_caps_every_feed(tmp_path):
    out = tmp_path / "out"
    do_build(EXAMPLE, out, limit=2)
    assert written_files(out) == set(FEED_FILES)
    assert any(len(v) > 2 for v in FEEDS.values())
    for relative in FEED_FILES:
        want = FEEDS[relative.rpartition("/")[0]][:2]
        ids = [e.id for e in parse(out / relative).entries]
        assert ids == [p.url for p in want], relative


def test_formats_atom_writes_no_rss(tmp_path):
    out = tmp_path / "out"
    do_build(EXAMPLE, out, formats="atom")
    files = written_files(out)
    assert files == {f for f in FEED_FILES if f.endswith("atom.xml")}
    assert not any(f.endswith("rss.xml") for f in files)


def test_blockquote_posts_summarise_the_blockquote(built):
    quoted = [p for p in POSTS.values() if p.blockquote]
    assert quoted, "the example should hold a blockquote post"
    entries = {e.findtext(f"{ATOM}id"): e for e in atom_entries(xml(built / "atom.xml"))}
    for post in quoted:
        assert 0 < len(post.summary) <= SUMMARY_LENGTH
        assert entries[post.url].findtext(f"{ATOM}summary") == post.summary
        assert ">" not in entries[post.url].findtext(f"{ATOM}summary")


def test_summaries_are_the_plain_text(built):
    entries = {e.findtext(f"{ATOM}id"): e for e in atom_entries(xml(built / "atom.xml"))}
    for post in POSTS.values():
        got = entries[post.url].findtext(f"{ATOM}summary")
        if len(post.summary) <= SUMMARY_LENGTH:
            assert got == post.summary, post.file
        else:
            assert len(got) <= SUMMARY_LENGTH and got.endswith("…"), post.file
            assert post.summary.startswith(got[:-1]), post.file


@pytest.mark.parametrize("directory", sorted(FEEDS))
def test_rss_description_unescapes_to_the_summary(built, directory):
    summaries = {
        e.findtext(f"{ATOM}id"): e.findtext(f"{ATOM}summary")
        for e in atom_entries(xml(built / rel(directory, "atom.xml")))
    }
    for item in rss_items(xml(built / rel(directory, "rss.xml"))):
        assert html.unescape(item.findtext("description")) == summaries[item.findtext("guid")]


def test_markup_characters_in_a_summary_survive(tmp_path):
    site = tmp_path / "site"
    (site / "_posts").mkdir(parents=True)
    shutil.copy(EXAMPLE / "feeds.toml", site / "feeds.toml")
    # "&amp;lt;" is the text "&lt;": the reader must see those four characters, not "<"
    text = "精度满足<1% & a <b> tag-like & AT&amp;T &amp;lt;literal&amp;gt;"
    (site / "_posts" / "2024-05-07-markup.md").write_text(
        f"---\ntitle: \"A < B & C\"\ndate: 2024-05-07 08:00:00 +0800\ncategories: lab\n---\n\n{text}\n", "utf-8"
    )
    out = tmp_path / "out"
    do_build(site, out)
    atom = atom_entries(xml(out / "atom.xml"))[0]
    summary = shown_text(atom.find(f"{ATOM}summary"), "atom")
    assert "精度满足<1%" in summary
    assert "AT&T" in summary and "&lt;literal&gt;" in summary
    assert shown_text(atom.find(f"{ATOM}title"), "atom") == "A < B & C"
    item = rss_items(xml(out / "rss.xml"))[0]
    assert html.unescape(item.findtext("description")) == summary
    assert shown_text(item.find("title"), "rss") == "A < B & C"
    for name in ("atom.xml", "rss.xml"):
        assert not parse(out / name).bozo
