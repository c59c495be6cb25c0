"""End-to-end on the real-world sample (finews, scraped Jekyll posts).

Sources are the sample's _posts/ and old_post/ (in that order); the site
settings come from its own _config.yml. Expectations are derived from the
files with an independent reader; the sample is skipped when absent.
"""

from __future__ import annotations

import calendar
import html
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import yaml
from lxml import etree

from conftest import CORPUS, NOW, names, parse, settings_for, shown_text, split_front
from feeds.build import build
from feeds.model import Severity

ATOM = "{http://www.w3.org/2005/Atom}"
UNDATED = "-202205262391921712.md"
LESS_THAN_POST = "2021-12-08-202112082206796814.md"
LESS_THAN_TEXT = "精度满足<1%"


# --- independent reading of the sample ------------------------------------------


@dataclass(frozen=True)
class Expected:
    file: Path
    title: str
    date: datetime
    offset_in_file: bool
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    url: str
    link: str | None
    first_paragraph: str


def jekyll_config() -> dict:
    return yaml.safe_load((CORPUS / "_config.yml").read_text("utf-8"))


def read_post(path: Path, site: str, zone: ZoneInfo) -> Expected | None:
    meta, body = split_front(path.read_text("utf-8"))
    m = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?: ([+-])(\d\d)(\d\d))?", meta.get("date", "").strip())
    if m is None:
        return None  # no usable date (and, for the sample, no dated file name)
    y, mo, d, h, mi, s, sign, oh, om = m.groups()
    naive = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s))
    if sign:
        delta = timedelta(hours=int(oh), minutes=int(om))
        date = naive.replace(tzinfo=timezone(-delta if sign == "-" else delta))
    else:
        date = naive.replace(tzinfo=zone)
    slug = re.sub(r"^\d{4}-\d\d-\d\d-", "", path.stem)
    cats = names(meta.get("categories"))
    url = f"{site}/{'/'.join(c.lower() for c in cats)}/{date:%Y/%m/%d}/{slug}.html"
    autolinks = [m.group(1) for line in body.split("\n") if (m := re.fullmatch(r"<(https?://\S+)>", line.strip()))]
    blocks = [b.strip() for b in re.split(r"\n\s*\n", body) if b.strip()]
    return Expected(
        file=path,
        title=meta["title"],
        date=date,
        offset_in_file=bool(sign),
        categories=cats,
        tags=names(meta.get("tags")),
        url=url,
        link=autolinks[-1] if autolinks else None,
        first_paragraph=re.sub(r"\s+", " ", blocks[0]).strip() if blocks else "",
    )


def sample_files(corpus: Path) -> list[Path]:
    return [p for folder in ("_posts", "old_post") for p in sorted((corpus / folder).glob("*.md"))]


def winners(corpus: Path) -> dict[str, Expected]:
    """url -> post; the first source (_posts) wins a shared permalink."""
    config = jekyll_config()
    site = config["url"].rstrip("/")
    zone = ZoneInfo(config["timezone"])
    found: dict[str, Expected] = {}
    for path in sample_files(corpus):
        post = read_post(path, site, zone)
        if post is not None:
            found.setdefault(post.url, post)
    return found


def written(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*.xml"))


def xml(path: Path):
    return etree.fromstring(path.read_bytes())


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(out, report) of one build of the sample with every post (limit 0)."""
    if not (CORPUS / "_posts").is_dir():
        pytest.skip(f"real-world sample not found at {CORPUS} (set FEEDS_CORPUS)")
    base = tmp_path_factory.mktemp("corpus")
    out = base / "out"
    settings = settings_for(
        CORPUS / "_posts", CORPUS / "old_post", out=out, cwd=base, limit=0, cache=base / "cache.sqlite"
    )
    report = build(settings, NOW)
    assert not report.aborted
    return out, report


# --- tests ------------------------------------------------------------------------


def test_settings_come_from_the_jekyll_config(corpus, tmp_path):
    config = jekyll_config()
    settings = settings_for(corpus / "_posts", corpus / "old_post", out=tmp_path, cwd=tmp_path)
    assert settings.site_url == config["url"].rstrip("/")
    assert settings.timezone == config["timezone"]
    assert settings.title == config["title"]
    assert settings.lang == config["lang"]


def test_every_file_parses_without_errors(corpus, built):
    out, _ = built
    files = written(out)
    assert "atom.xml" in files and "rss.xml" in files
    for name in files:
        parsed = parse(out / name)
        assert not parsed.bozo, (name, parsed.get("bozo_exception"))
        assert parsed.entries, name


def test_ids_unique_in_every_feed(corpus, built):
    out, _ = built
    for name in written(out):
        ids = [e.id for e in parse(out / name).entries]
        assert len(ids) == len(set(ids)), name


def test_all_feed_has_each_usable_post_exactly_once(corpus, built):
    out, _ = built
    names_ = {p.name for p in sample_files(corpus)}
    assert UNDATED in names_
    usable = len(names_) - 1
    want = winners(corpus)
    assert len(want) == usable
    for name in ("atom.xml", "rss.xml"):
        ids = [e.id for e in parse(out / name).entries]
        assert len(ids) == usable
        assert sorted(ids) == sorted(want)


def test_category_and_tag_feeds_have_exactly_their_posts(corpus, built):
    out, _ = built
    want = winners(corpus)
    groups: dict[str, set[str]] = {}
    for post in want.values():
        for c in post.categories:
            groups.setdefault(f"categories/{c.lower()}", set()).add(post.url)
        for t in post.tags:
            groups.setdefault(f"tags/{t.lower()}", set()).add(post.url)
    expected_files = {"atom.xml", "rss.xml"} | {f"{g}/{f}" for g in groups for f in ("atom.xml", "rss.xml")}
    assert set(written(out)) == expected_files
    for group, urls in groups.items():
        for fname in ("atom.xml", "rss.xml"):
            assert {e.id for e in parse(out / group / fname).entries} == urls, group


def test_entries_match_the_winning_files(corpus, built):
    out, _ = built
    want = winners(corpus)
    entries = {e.id: e for e in parse(out / "atom.xml").entries}
    items = {i.findtext("guid"): i for i in xml(out / "rss.xml").findall("channel/item")}
    for url, post in want.items():
        assert entries[url].title == post.title, post.file
        assert shown_text(items[url].find("title"), "rss") == post.title, post.file
        assert entries[url].link == (post.link or post.url), post.file
        assert items[url].findtext("link") == (post.link or post.url), post.file
        assert {t.term for t in entries[url].tags} == {*post.categories, *post.tags}


def test_duplicates_use_the_posts_copy(corpus, built):
    out, report = built
    posts = {p.name for p in (corpus / "_posts").glob("*.md")}
    olds = {p.name for p in (corpus / "old_post").glob("*.md")}
    shared = sorted(posts & olds)
    assert shared, "the sample has articles in both folders"
    want = winners(corpus)
    for name in shared:
        assert want[read_post_for(corpus, "_posts", name).url].file.parent.name == "_posts"
    # the old_post copies are the ones reported as duplicates
    dup_paths = {Path(p.path).name for p in report.problems if "same permalink" in p.message}
    assert dup_paths == set(shared)
    for p in report.problems:
        if "same permalink" in p.message:
            assert Path(p.path).parent.name == "old_post"


def read_post_for(corpus: Path, folder: str, name: str) -> Expected:
    config = jekyll_config()
    post = read_post(corpus / folder / name, config["url"].rstrip("/"), ZoneInfo(config["timezone"]))
    assert post is not None
    return post


def test_all_dates_keep_plus_eight(corpus, built):
    out, _ = built
    want = winners(corpus)
    assert any(not p.offset_in_file for p in want.values()), "the sample has dates without an offset"
    assert any(p.offset_in_file for p in want.values())
    for name in written(out):
        root = xml(out / name)
        if name.endswith("atom.xml"):
            stamps = [root.findtext(f"{ATOM}updated")]
            for entry in root.findall(f"{ATOM}entry"):
                published = entry.findtext(f"{ATOM}published")
                stamps += [published, entry.findtext(f"{ATOM}updated")]
                assert datetime.fromisoformat(published) == want[entry.findtext(f"{ATOM}id")].date
            assert all(s.endswith("+08:00") for s in stamps), (name, stamps)
        else:
            stamps = [root.findtext("channel/lastBuildDate")]
            for item in root.findall("channel/item"):
                pub = item.findtext("pubDate")
                stamps.append(pub)
                assert parsedate_to_datetime(pub) == want[item.findtext("guid")].date
            assert all(s.endswith("+0800") for s in stamps), (name, stamps)
        parsed = parse(out / name)
        for entry in parsed.entries:
            assert calendar.timegm(entry.published_parsed) == int(want[entry.id].date.timestamp())


def test_undated_post_is_an_error_and_absent(corpus, built):
    out, report = built
    errors = [p for p in report.problems if p.severity is Severity.ERROR]
    assert [Path(p.path).name for p in errors] == [UNDATED]
    assert Path(errors[0].path).parent.name == "_posts"
    assert len({p.path for p in errors}) == 1
    article_id = UNDATED.removesuffix(".md").lstrip("-")
    for name in written(out):
        assert article_id.encode() not in (out / name).read_bytes(), name


def test_raw_less_than_survives_in_the_summary(corpus, tmp_path):
    post = read_post_for(corpus, "_posts", LESS_THAN_POST)
    assert LESS_THAN_TEXT in post.first_paragraph
    out = tmp_path / "out"
    build(
        settings_for(
            corpus / "_posts", corpus / "old_post", out=out, cwd=tmp_path, limit=0, summary_length=0,
            cache=tmp_path / "cache.sqlite",
        ),
        NOW,
    )
    entry = next(e for e in xml(out / "atom.xml").findall(f"{ATOM}entry") if e.findtext(f"{ATOM}id") == post.url)
    assert entry.findtext(f"{ATOM}summary") == post.first_paragraph
    item = next(i for i in xml(out / "rss.xml").findall("channel/item") if i.findtext("guid") == post.url)
    assert html.unescape(item.findtext("description")) == post.first_paragraph
    assert not parse(out / "rss.xml").bozo


def test_raw_less_than_survives_with_the_default_summary_length(corpus, built):
    out, _ = built
    post = read_post_for(corpus, "_posts", LESS_THAN_POST)
    entry = next(e for e in xml(out / "atom.xml").findall(f"{ATOM}entry") if e.findtext(f"{ATOM}id") == post.url)
    summary = entry.findtext(f"{ATOM}summary")
    assert LESS_THAN_TEXT in summary
    assert post.first_paragraph.startswith(summary.rstrip("…"))
    item = next(i for i in xml(out / "rss.xml").findall("channel/item") if i.findtext("guid") == post.url)
    assert html.unescape(item.findtext("description")) == summary


def _is_absolute_http(url: str | None) -> bool:
    if not url:
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and url == url.strip()


def test_every_link_is_absolute_http_and_never_empty(corpus, built):
    out, _ = built
    assert any("<>" in p.read_text("utf-8") for p in sample_files(corpus)), "the sample has an empty <> link"
    for name in written(out):
        root = xml(out / name)
        if name.endswith("atom.xml"):
            hrefs = [l.get("href") for l in root.iter(f"{ATOM}link")]
            hrefs += [root.findtext(f"{ATOM}id")] + [e.findtext(f"{ATOM}id") for e in root.iter(f"{ATOM}entry")]
        else:
            hrefs = [root.findtext("channel/link")]
            hrefs += [l.get("href") for l in root.iter(f"{ATOM}link")]
            hrefs += [i.findtext("link") for i in root.iter("item")]
            hrefs += [i.findtext("guid") for i in root.iter("item")]
        assert hrefs
        for href in hrefs:
            assert _is_absolute_http(href), (name, href)
            assert "<" not in href and ">" not in href
        for entry in parse(out / name).entries:
            assert _is_absolute_http(entry.link), (name, entry.link)
            for link in entry.links:
                assert _is_absolute_http(link.href), (name, link.href)
