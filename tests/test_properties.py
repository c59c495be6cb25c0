"""Property tests: arbitrary (valid-YAML) posts always give valid feeds inside --out.

Titles, category/tag names and bodies come from the whole Unicode range
(hypothesis' default text alphabet: controls, astral planes, combining marks;
no lone surrogates, which a UTF-8 file cannot hold). The front matter is
written by yaml.safe_dump, so it is always valid YAML; what is under test is
everything feeds does after that. The expected titles are computed here with
an independent XML-Char filter, not with feeds.text.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import unicodedata
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import feedparser
import pytest
import yaml
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from lxml import etree

from conftest import NOW, settings_for, shown_text
from feeds.build import build
from feeds.fm import parse as fm_parse
from feeds.fm import parse_flat
from feeds.read import ReadOptions, parse_post
from feeds.text import slug_key, slugify

ATOM = "{http://www.w3.org/2005/Atom}"
SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
OPTIONS = ReadOptions(site_url="https://example.org", timezone=ZoneInfo("Asia/Shanghai"))

# XML 1.0 Char, and whitespace collapsing as documented for titles (one line).
_XML_FORBIDDEN = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_WS = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def visible(text: str) -> str:
    """As documented for titles: one of spaces and invisible format characters only is no title."""
    return text if any(not ch.isspace() and unicodedata.category(ch) != "Cf" for ch in text) else ""


def _dropped(ch: str) -> bool:
    """XML-forbidden, or discouraged: DEL and C1 controls (not NEL), noncharacters."""
    code = ord(ch)
    return bool(
        _XML_FORBIDDEN.match(ch)
        or (0x7F <= code <= 0x9F and code != 0x85)
        or 0xFDD0 <= code <= 0xFDEF
        or (code & 0xFFFE) == 0xFFFE
    )


def clean(text: str) -> str:
    return _WS.sub(" ", "".join(ch for ch in text if not _dropped(ch))).strip()


# --- strategies ---------------------------------------------------------------------------

names = st.text(max_size=40)
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
naive_dates = st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2025, 12, 30))
aware_dates = st.builds(lambda dt, tz: dt.replace(tzinfo=tz), naive_dates, offsets)
# A NUL byte marks a binary file (see bad_posts/2024-06-06-nul-bytes.md), so bodies have none.
bodies = st.text().map(lambda s: s.replace("\x00", ""))


@st.composite
def posts(draw):
    front: dict = {}
    if draw(st.booleans()):
        front["title"] = draw(st.text())
    front["date"] = draw(st.one_of(naive_dates, aware_dates))
    if draw(st.booleans()):
        front["categories"] = draw(st.lists(names, max_size=4))
    if draw(st.booleans()):
        front["tags"] = draw(st.lists(names, max_size=4))
    return front, draw(bodies), draw(st.booleans())


# --- helpers --------------------------------------------------------------------------------


def write_posts(src: Path, drawn) -> list[tuple[str, dict]]:
    written = []
    for i, (front, body, allow_unicode) in enumerate(drawn):
        slug = f"post-{i}"
        text = "---\n" + yaml.safe_dump(front, allow_unicode=allow_unicode) + "---\n" + body
        (src / f"{slug}.md").write_bytes(text.encode("utf-8"))
        written.append((slug, front))
    return written


def feed_files(out: Path) -> list[Path]:
    found = []
    for dirpath, _dirs, files in os.walk(out):
        for name in files:
            if Path(dirpath) == out and name.startswith(".feeds"):
                continue  # the build's own bookkeeping (lock, manifest), not a feed
            found.append(Path(dirpath, name))
    return found


# --- the whole pipeline ------------------------------------------------------------------------


@SETTINGS
@given(st.lists(posts(), min_size=1, max_size=5))
def test_any_valid_yaml_posts_give_valid_feeds_inside_out(drawn):
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp, "src"), Path(tmp, "site", "out")
        src.mkdir()
        written = write_posts(src, drawn)
        report = build(settings_for(src, out=out, limit=0, site_url="https://example.org", timezone="Asia/Shanghai"), NOW)
        found = report.problems if hasattr(report, "problems") else report.scan.problems
        problems = "\n".join(str(p) for p in found)
        assert not [p for p in found if p.severity.value == "error"], problems

        real_out = os.path.realpath(out)
        files = feed_files(out)
        assert files
        for path in files:
            assert os.path.commonpath([real_out, os.path.realpath(path)]) == real_out, path
            data = path.read_bytes()
            data.decode("utf-8")
            etree.fromstring(data)
            parsed = feedparser.parse(data)
            assert not parsed.bozo, (path, parsed.get("bozo_exception"))

        # Every post is in the all-posts feeds, with its title made XML-safe and one line.
        # (untitled: the file name's slug as Jekyll titles it, "post-0" -> "Post 0")
        expected_titles = sorted(
            visible(clean(front.get("title") or "")) or " ".join(w.capitalize() for w in slug.split("-"))
            for slug, front in written
        )
        atom = etree.parse(str(out / "atom.xml")).getroot()
        entries = list(atom.iter(f"{ATOM}entry"))
        assert len(entries) == len(written), problems
        assert sorted(shown_text(e.find(f"{ATOM}title"), "atom") for e in entries) == expected_titles
        rss = etree.parse(str(out / "rss.xml")).getroot()
        assert sorted(shown_text(i.find("title"), "rss") for i in rss.iter("item")) == expected_titles

        # Every non-empty category/tag name is an entry term.
        expected_terms = {
            clean(name) for _slug, front in written for name in [*front.get("categories", ()), *front.get("tags", ())]
        } - {""}
        terms = {c.get("term") for e in entries for c in e.iter(f"{ATOM}category")}
        assert terms == expected_terms

        # Category and tag feed directories have safe names.
        for kind in ("categories", "tags"):
            folder = out / kind
            if not folder.exists():
                continue
            for child in folder.iterdir():
                name = child.name
                assert child.is_dir() and (child / "atom.xml").is_file(), child
                assert "/" not in name and "\\" not in name and ".." not in name, repr(name)
                assert not _CONTROL.search(name) and not name.startswith("."), repr(name)


# --- slugify ------------------------------------------------------------------------------------

SLUG_LIMIT = 120 + 1 + 8  # up to 120 bytes of name, then "-" and an 8-character hash
any_text = st.text(alphabet=st.characters(blacklist_categories=()), max_size=200)  # surrogates too


def assert_safe_slug(slug: str) -> None:
    assert slug
    assert "/" not in slug and "\\" not in slug and ".." not in slug, repr(slug)
    assert not _CONTROL.search(slug), repr(slug)
    assert not slug.startswith("."), repr(slug)
    assert len(slug.encode("utf-8", "surrogatepass")) <= SLUG_LIMIT, repr(slug)


@SETTINGS
@given(st.text())
def test_slugify_is_a_safe_file_name(name):
    slug = slugify(name)
    assert_safe_slug(slug)
    slug.encode("utf-8")  # a real file name: no surrogates from surrogate-free input
    assert slugify(name) == slug


@SETTINGS
@given(any_text)
def test_slugify_never_fails_even_on_surrogates(name):
    assert_safe_slug(slugify(name))


@SETTINGS
@given(st.text(), st.sampled_from(["upper", "lower", "NFKC", "NFKD", "NFC", "NFD", "casefold"]))
def test_same_key_same_slug(name, variant):
    other = getattr(name, variant)() if variant in ("upper", "lower", "casefold") else unicodedata.normalize(variant, name)
    assume(slug_key(other) == slug_key(name))
    assert slugify(other) == slugify(name)


@SETTINGS
@given(st.text(alphabet="abcdefghij字", min_size=130, max_size=300), st.text(min_size=1, max_size=5), st.text(min_size=1, max_size=5))
def test_long_names_keep_apart(prefix, end_a, end_b):
    assume(slug_key(prefix + end_a) != slug_key(prefix + end_b))
    a, b = slugify(prefix + end_a), slugify(prefix + end_b)
    assert_safe_slug(a)
    assert_safe_slug(b)
    assert a != b, (a, b)


# --- front matter on arbitrary text ----------------------------------------------------------------


@SETTINGS
@given(any_text, st.integers(min_value=1, max_value=1000))
def test_parse_flat_never_raises(front, first_line):
    meta, notes = parse_flat(front, first_line)
    assert isinstance(meta, dict) and all(isinstance(k, str) for k in meta)
    last = first_line + front.count("\n")
    for line, message in notes:
        assert line is None or first_line <= line <= last, (line, first_line, last)
        assert isinstance(message, str)


@SETTINGS
@given(st.text(), st.integers(min_value=1, max_value=100))
def test_fm_parse_never_raises(front, first_line):
    parsed = fm_parse(front, first_line)
    assert parsed.meta is None or isinstance(parsed.meta, dict)


# What the scraper writes: "key: value" lines with the value not escaped at all.
KEYS = st.sampled_from(["title", "date", "categories", "tags", "category", "tag", "published", "permalink", "summary", "source", "updated"])
DATE_LIKE = st.from_regex(
    r"\A[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([ T][0-9]{1,2}:[0-9]{2}(:[0-9]{2})?)?( ?[+-][0-9]{1,2}(:?[0-9]{2})?| ?Z)?\Z"
)
RAW_VALUE = st.one_of(st.text(alphabet=st.characters(blacklist_characters="\n\r"), max_size=30), DATE_LIKE)


def check_read(text: str, filename: str) -> None:
    result = parse_post(text, f"_posts/{filename}", filename, OPTIONS)
    if result.post is not None:
        post = result.post
        assert post.title and post.title == clean(post.title)
        assert post.date.utcoffset() is not None
        for name in (*post.categories, *post.tags):
            assert name and name == clean(name)
    else:
        assert result.problems
    for problem in result.problems:
        assert problem.path == f"_posts/{filename}"
        assert "\n" not in problem.message


@SETTINGS
@given(st.lists(st.tuples(KEYS, RAW_VALUE), max_size=8), bodies, st.sampled_from(["2024-05-01-x.md", "x.md"]))
def test_scraper_front_matter_never_raises(lines, body, filename):
    check_read("---\n" + "".join(f"{key}: {value}\n" for key, value in lines) + "---\n" + body, filename)


@SETTINGS
@given(DATE_LIKE, st.sampled_from(["date", "updated", "last_modified_at"]), st.sampled_from(["2024-05-01-x.md", "x.md"]))
def test_any_date_like_value_never_raises(value, key, filename):
    # Impossible days, months, hours and offsets ("2024-02-30", "+25:00") included.
    check_read(f"---\ntitle: t\ndate: 2024-05-01\n{key}: {value}\n---\nBody.\n", filename)


# --- the front-matter fast paths give exactly what the slow paths give -------------------------------
#
# fm.parse_simple() reads flat front matter without a YAML parser (and dates in
# the scraper's form without even YAML's resolver); fm.split() finds the front
# matter without cutting the whole file into lines. Each is checked here
# against the plain way: PyYAML itself, and a line-by-line split.

SCALAR = st.one_of(
    DATE_LIKE,
    st.from_regex(r"\A[0-9٠-٩]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}( [+-][0-9]{4})?\Z"),
    st.builds(  # the scraper's own: with and without an offset
        lambda when, offset: when.strftime("%Y-%m-%d %H:%M:%S") + offset,
        st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31)),
        st.sampled_from(["", " +0800", " -0530", "+0800", " +08:00", "  +0800"]),
    ),
    st.sampled_from(["yes", "No", "on", "null", "~", "1_000", "0x1F", "0o17", "017", "1:30", "1e3", ".5",
                     "-.inf", "2024-02-30", "2024-13-01 10:00:00", "=", "<<", "post", "emnews 东财"]),
    st.text(alphabet=st.characters(blacklist_characters="\n\r"), max_size=20),
    st.text(alphabet="0123456789-:.+ eE_xob", max_size=20),
    # quoted with escapes, as generators that escape their titles write them (JSON's
    # escapes, YAML's own, and some YAML refuses), and single-quoted with '' for '
    st.builds(json.dumps, st.text(alphabet=st.characters(blacklist_characters="\n\r"), max_size=12)),
    st.builds(lambda text: json.dumps(text, ensure_ascii=False), st.text(max_size=12)),
    st.from_regex(r'\A"(?:[a-z "\t]|\\[0abtnvfre "/\\N_LPq\t]|\\x[0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}|\\U00[01][0-9a-fA-F]{5}|\\)*"\Z'),
    st.builds(lambda text: "'" + text.replace("'", "''") + "'", st.text(alphabet="ab' ", max_size=8)),
    st.sampled_from(["'a'b'", "''''", r'"\\"', r'"\\\"', r'"\ud83d\ude00"', r'"\U00110000"', r'"a\"b"', r'"a"b"',
                     # YAML's other line breaks, which fold quoted text into a space
                     '"a\x85b"', "'a\u2028b'", "a\u2029b"]),
)


def _yaml_value(front: str):
    """What YAML makes of flat front matter, as fm.parse() would hand it on."""
    try:
        meta = yaml.safe_load(front)
    except (yaml.YAMLError, ValueError, OverflowError):
        return "invalid"
    if meta is None:
        return {}  # (only comments)
    return {str(k): v for k, v in meta.items()} if isinstance(meta, dict) else "not a mapping"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.from_regex(r"\A[a-z_][a-z0-9_]{0,8}\Z"), SCALAR), min_size=1, max_size=6))
def test_simple_front_matter_is_read_as_yaml_reads_it(pairs):
    from feeds.fm import parse_simple

    front = "\n".join(f"{key}: {value}" for key, value in pairs)
    simple = parse_simple(front)
    if simple is None:
        return  # left to YAML itself
    expected = _yaml_value(front)
    if expected != "invalid":
        assert simple == expected
        assert [type(v) for v in simple.values()] == [type(v) for v in expected.values()]
        return
    # YAML rejects the whole of it for an impossible timestamp ("2024-02-30 10:00:00");
    # the fast path keeps such a value as text (the date check reports it) and reads the rest
    for key, value in dict(pairs).items():
        alone = _yaml_value(f"{key}: {value}")
        if alone == "invalid":
            assert simple[key] == value.rstrip(" ")
        else:
            assert simple[key] == alone[key] and type(simple[key]) is type(alone[key])


# List items: the scalars above, names with spaces and CJK, quoted ones, and
# pieces YAML reads otherwise (nesting, commas, colons, comments, empty items).
ITEM = st.one_of(
    SCALAR,
    st.sampled_from(["emnews", "东财滚动新闻", "a b", '"q"', "'s'", '"a, b"', "[x]", "- x", "a: b", "a #c", "", " ",
                     "x,", "{a}", "2022-06-01 16:03:57", "-a", "~", "#"]),
)
LIST_LINES = st.one_of(
    st.builds(lambda key, items, sep: f"{key}: [{sep.join(items)}]",
              st.sampled_from(["tags", "categories", "x"]), st.lists(ITEM, max_size=4), st.sampled_from([", ", ",", " , "])),
    st.builds(lambda key, items, indent: "\n".join([f"{key}:", *(f"{indent}- {item}" for item in items)]),
              st.sampled_from(["tags", "categories", "x"]), st.lists(ITEM, max_size=4), st.sampled_from(["", "  ", "    "])),
    st.sampled_from(["# a comment", "  # indented comment", "layout: post", 'title: "央行降准"', "date: 2022-06-01 16:03:57 +0800",
                     "  - stray item", "-  x", "tags:", "   ", "\t- tab"]),
)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(LIST_LINES, min_size=1, max_size=5))
def test_front_matter_with_lists_and_comments_is_read_as_yaml_reads_it(lines):
    from feeds.fm import parse_simple

    front = "\n".join(lines)
    simple = parse_simple(front)
    if simple is None:
        return  # left to YAML itself
    expected = _yaml_value(front)
    top_level_impossible = any(
        _yaml_value(line) == "invalid" for line in front.split("\n") if re.match(r"[A-Za-z_][\w-]*: [^\[]", line)
    )
    if expected == "invalid" and top_level_impossible:
        return  # an impossible top-level timestamp, kept as text: the test above covers it
    assert simple == expected
    assert [type(v) for v in simple.values()] == [type(v) for v in expected.values()]
    for key, value in simple.items():
        if isinstance(value, list):
            assert [type(v) for v in value] == [type(v) for v in expected[key]]


@pytest.mark.parametrize(
    "front",
    [
        "categories: [emnews, markets]\ntags: [东财滚动新闻, '央行', \"降准\"]",
        "categories:\n  - emnews\ntags:\n- 东财滚动新闻\n- 2024\n",
        "# written by the scraper\nlayout: post\ntags: []\ncategories:\n\n  - a b\n  # a comment\n  - c",
    ],
)
def test_the_usual_lists_take_the_fast_path(front):
    from feeds.fm import parse_simple

    simple = parse_simple(front)
    assert simple is not None and simple == _yaml_value(front)


@pytest.mark.parametrize(
    ("front", "title"),
    [
        (r'title: "He said \"降准\" today"', 'He said "降准" today'),
        (r'title: "C:\\data \u00e9\t\/"', "C:\\data é\t/"),
        ("title: 'It''s here'", "It's here"),
    ],
)
def test_escaped_titles_take_the_fast_path(front, title):
    # a generator that escapes its titles (JSON-style) must not pay for a YAML parser per post
    from feeds.fm import parse_simple

    assert parse_simple(front) == {"title": title} == _yaml_value(front)


def _split_by_lines(text: str):
    lines = text.split("\n")
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    if start >= len(lines) or not re.fullmatch(r"-{3,}[ \t]*", lines[start]):
        return (None, text, 1, 1, False)
    for end in range(start + 1, len(lines)):
        if re.fullmatch(r"(?:-{3,}|\.{3})[ \t]*", lines[end]):
            return ("\n".join(lines[start + 1 : end]), "\n".join(lines[end + 1 :]), start + 2, start + 1, False)
    return (None, "", 1, start + 1, True)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["", " ", "---", "--- ", "----", "...", "a: b", "text", "-- -", "\t"]), max_size=10))
def test_split_finds_what_a_line_by_line_split_finds(lines):
    from feeds.fm import split

    text = "\n".join(lines)
    got = split(text)
    assert (got.front, got.body, got.front_line, got.open_line, got.unclosed) == _split_by_lines(text)


# --- fast paths against their plain formulations --------------------------------

# Lines built from the pieces that matter: autolinks (valid or not), block marks,
# digits (also non-ASCII ones), spaces, tabs and other text.
LINE_PIECES = st.sampled_from(
    ["<https://a.example/x>", "<http://b.example>", "<http://bad example>", "<https://>", "<http", ">",
     " ", "\t", "   ", "# ", "> ", ">", "- ", "* ", "+ ", "1. ", "12) ", "１. ", "٣) ", "-", "#", "text", "字", "<>", "\u2028"]
)
BODY_LINES = st.lists(st.lists(LINE_PIECES, max_size=5).map("".join), max_size=8).map("\n".join)


@settings(max_examples=500, deadline=None)
@given(BODY_LINES)
def test_autolink_lines_are_those_a_multiline_pattern_finds(body):
    from feeds.read import autolink_lines

    pattern = re.compile(r"^[ \t]*<(https?://[^<>\s]+)>[ \t]*$", re.MULTILINE)
    assert list(autolink_lines(body)) == list(reversed(pattern.findall(body)))


@settings(max_examples=500, deadline=None)
@given(st.one_of(BODY_LINES, st.text()))
def test_plain_text_skips_block_marks_only_when_there_are_none(text):
    from feeds import text as text_module

    block_mark = re.compile(r"^[ \t]{0,3}(?:#{1,6}[ \t]+|>[ \t]?|[-*+][ \t]+|\d{1,9}[.)][ \t]+)", re.MULTILINE)
    may_have = bool(text_module._MARK_FIRST_LINE.match(text) or text_module._MARK_LATER_LINE.search(text))
    if block_mark.search(text):
        assert may_have


PATH_PIECES = st.lists(
    st.sampled_from(["/", "//", ".", "..", "./", "a", "Z9", "%", "%2", "%25", "%zz", "%E5", "字", " ", "~", "?", "#", "@"]),
    max_size=10,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(PATH_PIECES)
def test_sanitize_path_is_jekylls(path):
    from feeds.urls import sanitize_path

    jekyll = re.sub(r"/{2,}", "/", ("/" + path).replace("..", "/").replace("./", ""))
    assert sanitize_path(path) == jekyll


@settings(max_examples=500, deadline=None)
@given(st.one_of(PATH_PIECES, st.text()))
def test_encoded_path_check_in_two_steps_is_the_pattern(path):
    from feeds.urls import _ENCODED_PATH, _is_encoded_path

    assert _is_encoded_path(path) == (_ENCODED_PATH.fullmatch(path) is not None)


# Each shortcut below is checked against the plain formulation it skips.

ANGLE_PIECES = st.lists(
    st.sampled_from(["<", ">", "<>", "<!--", "-->", "<b>", "</b>", "<2%", "< a", "<?x?>", "<http://a.example/>",
                     "[", "](u)", "[<](u)", "a", "字", " ", "\n", "&amp;", "*", "`"]),
    max_size=10,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(st.one_of(ANGLE_PIECES, st.text()))
def test_plain_text_skips_tag_patterns_only_when_they_cannot_match(markup):
    from feeds import text as text_module

    # the angle check decides only whether the tag patterns run: with a
    # pattern that always matches, plain_text must give the same
    class Always:
        def search(self, text):
            return True

    expected_module = text_module._ANGLE
    got = text_module.plain_text(markup)
    text_module._ANGLE = Always()
    try:
        assert got == text_module.plain_text(markup)
    finally:
        text_module._ANGLE = expected_module


SLUG_PIECES = st.lists(st.sampled_from(["a", "Z", "9", "-", ".", "_", "~", "字", " ", "%", "/", "@"]), max_size=8).map("".join)


@settings(max_examples=500, deadline=None)
@given(st.one_of(SLUG_PIECES, st.text()))
@example("a--a")  # found by this test: slugify makes a run of "-" one
@example("-a")
@example("a-")
@example("")
def test_plain_title_shortcut_is_the_escaped_pretty_slug(slug):
    from feeds.urls import _EXPANSIONS, _escape_path, _slugify_pretty

    when = datetime(2024, 5, 1, tzinfo=timezone.utc)
    assert _EXPANSIONS["title"](when, slug, (), ".html") == _escape_path(_slugify_pretty(slug))


SCRAPER_DATES = st.builds(
    "{}-{}-{} {}:{}:{} {}{}{}".format,
    st.sampled_from(["2024", "0999", "1000", "1001", "9998", "9999", "２０２４"]),
    st.sampled_from(["01", "02", "12", "13", "00"]),
    st.sampled_from(["01", "29", "30", "31", "00"]),
    st.sampled_from(["00", "23", "24"]),
    st.sampled_from(["00", "59", "60"]),
    st.sampled_from(["00", "59", "60"]),
    st.sampled_from(["+", "-"]),
    st.sampled_from(["00", "08", "14", "23", "24", "99"]),
    st.sampled_from(["00", "30", "59", "60", "99"]),
)


def _date_the_general_way(value, zone):
    from feeds import dates

    try:
        return dates._from_match(dates._FAST.fullmatch(value), zone)
    except (ValueError, OverflowError):
        return "error"


@settings(max_examples=500, deadline=None)
@given(SCRAPER_DATES)
def test_scraper_date_shortcut_is_the_general_parse(value):
    from feeds.dates import DateError, to_datetime

    zone = ZoneInfo("Asia/Shanghai")
    try:
        got = to_datetime(value, zone)
    except DateError:
        got = "error"
    expected = _date_the_general_way(value, zone)
    assert got == expected
    if got != "error":
        assert got.utcoffset() == expected.utcoffset() and got.isoformat() == expected.isoformat()


RFC2822_DATES = st.builds(
    "{}{} {} {} {}:{}{}{}".format,
    st.sampled_from(["", "Sun, ", "Mon,", "Fri,  "]),
    st.sampled_from(["1", "02", "29", "31", "0", "32"]),
    st.sampled_from(["Jan", "Feb", "Nov", "Dec"]),
    st.sampled_from(["2025", "1000", "0999", "9999", "2024"]),
    st.sampled_from(["0", "01", "23", "24"]),
    st.sampled_from(["00", "59", "60"]),
    st.sampled_from(["", ":00", ":59", ":60"]),
    st.sampled_from(["", " +0800", " -0000", " +08:00", "+0530", " GMT", " UTC", " Z", " +2400", " -1230"]),
)


@settings(max_examples=500, deadline=None)
@given(RFC2822_DATES)
def test_rfc2822_date_shortcut_is_what_dateutil_reads(value):
    from feeds import dates

    zone = ZoneInfo("Asia/Shanghai")
    assert dates._RFC2822.fullmatch(value), value  # (each of these takes the shortcut)
    _same_as_dateutil(value)


@pytest.mark.parametrize("value", ["Sun, 02 Nov 2025 01:46:58Z", "02 Nov 2025 01:46:58UTC", "02 nov 2025 01:46:58 +0800"])
def test_rfc2822_like_dates_off_the_shortcut_are_still_what_dateutil_reads(value):
    _same_as_dateutil(value)


def _same_as_dateutil(value):
    from feeds import dates

    zone = ZoneInfo("Asia/Shanghai")
    try:
        got = dates.to_datetime(value, zone)
    except dates.DateError:
        got = "error"
    try:
        parsed = dates._dateutil_parse(value)
        expected = dates.localize(parsed, zone) if parsed.tzinfo is None else dates.fixed(parsed)
    except (ValueError, OverflowError):
        expected = "error"
    assert got == expected
    if got != "error":
        assert got.utcoffset() == expected.utcoffset() and got.isoformat() == expected.isoformat()


@settings(max_examples=500, deadline=None)
@given(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    st.one_of(
        st.sampled_from([ZoneInfo("Asia/Shanghai"), ZoneInfo("America/New_York"), ZoneInfo("Europe/Dublin"), timezone.utc]),
        st.timedeltas(min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23, minutes=59)).map(timezone),
    ),
)
def test_fixed_shortcut_is_the_round_trip_through_utc(naive, zone):
    from feeds.dates import MAX_YEAR, MIN_YEAR, DateError, fixed

    aware = naive.replace(tzinfo=zone)

    def by_utc():  # fixed() as it was written before its shortcut
        offset = aware.utcoffset()
        try:
            utc = aware.astimezone(timezone.utc)
        except OverflowError:
            return "error"
        dt = aware
        if offset % timedelta(minutes=1):
            dt, offset = utc, timedelta(0)
        if not (MIN_YEAR <= dt.year <= MAX_YEAR and MIN_YEAR <= utc.year <= MAX_YEAR):
            return "error"
        return dt.replace(tzinfo=timezone(offset) if offset else timezone.utc, fold=0)

    try:
        got = fixed(aware)
    except DateError:
        got = "error"
    expected = by_utc()
    assert got == expected
    if got != "error":
        assert (got.isoformat(), got.fold, got.tzinfo) == (expected.isoformat(), expected.fold, expected.tzinfo)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["", " ", "\t", "---", "--- ", "----", "...", ".. .", "a: b", "text", "\f", "\u00a0"]), max_size=10))
def test_split_shortcut_is_the_line_by_line_split(lines):
    from feeds import fm

    text = "\n".join(lines)
    got = fm.split(text)
    saved = fm._USUAL
    fm._USUAL = re.compile(r"(?!)")  # never matches: the loop does it all
    try:
        assert got == fm.split(text)
    finally:
        fm._USUAL = saved


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="ab/字.", min_size=1, max_size=6), max_size=30, unique=True), st.data())
def test_chunk_starts_found_by_bisection_are_the_cut_rows(names, data):
    from feeds.listing import Chunk, _chunks

    rows = [(f"src/{name}", f"src/{name}", 1, 2, 3) for name in sorted(names)]
    cuts = set(data.draw(st.lists(st.sampled_from([row[0] for row in rows] + ["src/gone", "src/"]), max_size=8)) if rows else [])
    starts = [0, *(index for index, row in enumerate(rows) if index and row[0] in cuts)]  # the plain way
    ends = [*starts[1:], len(rows)]
    expected = [
        Chunk(rows[a][0] if a else "src/", rows[b][0] if b < len(rows) else "src0", 10 + a, 10 + b)
        for a, b in zip(starts, ends)
    ]
    assert _chunks(rows, cuts, 10, "src/", "src0") == expected
