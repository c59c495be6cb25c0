"""feeds.text (XML-safe text, plain-text summaries, slugs) and feeds.urls."""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feeds.text import plain_text, slugify, truncate, xml_safe
from feeds.urls import absolute_url, expand_permalink, quote_segment

# --- xml_safe -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\x00b", "ab"),
        ("a\x1fb", "ab"),
        ("a\x08b\x0bc\x0cd", "abcd"),
        ("a\ufffeb\uffffc", "abc"),
        ("a\ud800b", "ab"),  # a lone high surrogate
        ("a\udfffb", "ab"),  # a lone low surrogate
    ],
)
def test_xml_safe_removes_forbidden_characters(text, expected):
    assert xml_safe(text) == expected


@pytest.mark.parametrize("text", ["tab\there", "line\nbreak", "cr\rlf", "emoji 😀🎉", "中文 日本語 한국어", "é ß ø"])
def test_xml_safe_keeps_allowed_characters(text):
    assert xml_safe(text) == text


# --- plain_text -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("精度满足<1%的要求", "精度满足<1%的要求"),  # "<1" is text, not a tag
        ("<p>Hello <b>world</b></p>", "Hello world"),
        ("<p>one</p><p>two</p>", "one two"),
        ('<a href="http://x.org/">link text</a> after', "link text after"),
        ("a &lt; b &amp; c &gt; d", "a < b & c > d"),
        ("&quot;quoted&quot; &#20013;", '"quoted" 中'),
        ("see [the docs](https://example.org/docs) now", "see the docs now"),
        ("![alt text](img.png) caption", "alt text caption"),
        ("before <!-- hidden comment --> after", "before after"),
        ("before <!-- multi\nline\ncomment --> after", "before after"),
        ("  lots   of\n\n whitespace\t here  ", "lots of whitespace here"),
        ("**bold** and `code`", "bold and code"),
        ("a\x00b", "ab"),
    ],
)
def test_plain_text(markup, expected):
    assert plain_text(markup) == expected


def test_plain_text_does_not_leak_tag_names_or_attributes():
    out = plain_text('<div class="x"><span style="color:red">红色</span></div>')
    assert out == "红色"


# --- truncate -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("exactly10!", 10, "exactly10!"),
        ("abcdefghijk", 10, "abcdefghi…"),
        ("中文中文中文中文中文中文", 5, "中文中文…"),
        ("anything at all", 0, "anything at all"),
        ("abc", 1, "…"),
    ],
)
def test_truncate(text, limit, expected):
    assert truncate(text, limit) == expected


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 8, 20])
def test_truncate_never_exceeds_limit_and_marks_only_cuts(limit):
    text = "word " * 10
    out = truncate(text, limit)
    assert len(out) <= limit
    assert out.endswith("…") == (len(text) > limit)


def test_truncate_zero_means_no_limit_even_for_long_text():
    text = "x" * 10_000
    assert truncate(text, 0) == text


# --- slugify --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("东财滚动新闻", "东财滚动新闻"),
        ("TechWeb", "techweb"),
        ("Hello World", "hello-world"),
        ("a \t b\nc", "a-b-c"),
        ("Café", "café"),
    ],
)
def test_slugify_examples(name, expected):
    assert slugify(name) == expected


def test_slugify_case_variants_share_a_slug():
    assert slugify("TechWeb") == slugify("Techweb") == slugify("TECHWEB")


def test_slugify_distinguishes_different_names():
    assert slugify("tech") != slugify("web")


UNSAFE_NAMES = [
    "../etc/passwd",
    "..",
    ".",
    "...",
    "/",
    "\\",
    "a/../b",
    "a\\..\\b",
    ".hidden",
    "..\\..\\windows",
    "a\x00b",
    "\x01\x02\x1f",
    "",
    "   ",
    "\u200b",
    "-",
    "a..b",
    "C:\\con",
    "name\u202e",
]


def _assert_safe_slug(slug: str) -> None:
    assert slug, "slug is empty"
    assert "/" not in slug
    assert "\\" not in slug
    assert ".." not in slug
    assert not slug.startswith(".")
    assert slug not in (".", "..")
    assert not any(unicodedata.category(ch) == "Cc" for ch in slug), repr(slug)


@pytest.mark.parametrize("name", UNSAFE_NAMES)
def test_slugify_is_always_a_safe_path_segment(name):
    _assert_safe_slug(slugify(name))


def test_slugify_path_traversal_name():
    slug = slugify("../etc/passwd")
    _assert_safe_slug(slug)
    assert "etc" in slug and "passwd" in slug


@given(st.text(max_size=400))
def test_slugify_safe_for_any_text(name):
    slug = slugify(name)
    _assert_safe_slug(slug)
    assert len(slug.encode("utf-8", "surrogatepass")) <= 120


@pytest.mark.parametrize("unit", ["a", "中", "😀"])
def test_slugify_long_names_fit_in_120_bytes(unit):
    slug = slugify(unit * 300)
    assert len(slug.encode("utf-8")) <= 120
    _assert_safe_slug(slug)


def test_slugify_long_names_with_same_prefix_differ():
    prefix = "x" * 200
    first = slugify(prefix + "a" * 100)
    second = slugify(prefix + "b" * 100)
    assert first != second
    assert len(first.encode("utf-8")) <= 120
    assert len(second.encode("utf-8")) <= 120


# --- absolute_url -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.org/a/b", "https://example.org/a/b"),
        ("https://example.org/新闻/2021", "https://example.org/%E6%96%B0%E9%97%BB/2021"),
        ("https://example.org/a%20b", "https://example.org/a%20b"),  # valid escape kept
        ("https://example.org/%E6%96%B0", "https://example.org/%E6%96%B0"),
        ("https://example.org/100%", "https://example.org/100%25"),  # stray % encoded
        ("https://example.org/s?q=新闻", "https://example.org/s?q=%E6%96%B0%E9%97%BB"),
        ("https://例え.jp/", "https://xn--r8jz45g.jp/"),
        ("https://东方财富.中国/路径", "https://xn--xhqp74a1vhb74b.xn--fiqs8s/%E8%B7%AF%E5%BE%84"),
        ("  https://example.org/x  ", "https://example.org/x"),
        ("https://example.org:8080/x", "https://example.org:8080/x"),
    ],
)
def test_absolute_url_accepts_and_encodes(url, expected):
    assert absolute_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "/relative/path",
        "relative/path",
        "//host/x",
        "javascript:alert(1)",
        "ftp://example.org/file",
        "mailto:someone@example.org",
        "https://example.org/a b",
        "https://exa mple.org/",
        "http:///no-host",
        "https://example.org:notaport/",
    ],
)
def test_absolute_url_rejects(url):
    assert absolute_url(url) is None


def test_absolute_url_accepts_upper_case_scheme():
    out = absolute_url("HTTPS://example.org/新闻")
    assert out is not None
    assert out.lower() == "https://example.org/%e6%96%b0%e9%97%bb"


def test_absolute_url_output_is_ascii():
    out = absolute_url("https://例え.jp/路径?q=新闻#片段")
    assert out is not None
    assert out.isascii()


# --- quote_segment --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("segment", "expected"),
    [
        ("news", "news"),
        ("a-b_c.d~", "a-b_c.d~"),
        ("东财", "%E4%B8%9C%E8%B4%A2"),
        ("a b", "a%20b"),
        ("a/b", "a%2Fb"),
        ("a%b", "a%25b"),
        ("a?b#c", "a%3Fb%23c"),
    ],
)
def test_quote_segment(segment, expected):
    assert quote_segment(segment) == expected


# --- expand_permalink ----------------------------------------------------------------------

CST = timezone(timedelta(hours=8))
JEKYLL_DEFAULT = "/:categories/:year/:month/:day/:title:output_ext"


def test_jekyll_default_pattern():
    path = expand_permalink(
        JEKYLL_DEFAULT,
        date=datetime(2021, 12, 8, 22, 6, tzinfo=CST),
        slug="202112082206734275",
        categories=("emnews",),
    )
    assert path == "/emnews/2021/12/08/202112082206734275.html"


def test_date_style_name_is_the_default_pattern():
    kwargs = dict(date=datetime(2021, 12, 8, 22, 6, tzinfo=CST), slug="s", categories=("emnews",))
    assert expand_permalink("date", **kwargs) == expand_permalink(JEKYLL_DEFAULT, **kwargs)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        # 1 January 2021, a Friday, is in week 53 of the ISO year 2020 (Ruby's %G, %V, %u)
        (datetime(2021, 1, 1, 12, tzinfo=CST), "/2020/W53/5/Fri/Friday/2021/001/"),
        (datetime(2024, 12, 30, 12, tzinfo=CST), "/2025/W01/1/Mon/Monday/2024/365/"),
    ],
)
def test_week_placeholders_as_jekyll_expands_them(when, expected):
    template = "/:w_year/W:week/:w_day/:short_day/:long_day/:year/:y_day/"
    assert expand_permalink(template, date=when, slug="s", categories=()) == expected


def test_permalink_uses_the_posts_own_offset_not_utc():
    # 2021-12-08 01:00 +08:00 is 2021-12-07 17:00 UTC; Jekyll keeps the 8th.
    path = expand_permalink(
        JEKYLL_DEFAULT,
        date=datetime(2021, 12, 8, 1, 0, tzinfo=CST),
        slug="early",
        categories=("emnews",),
    )
    assert path == "/emnews/2021/12/08/early.html"


@pytest.mark.parametrize(
    ("slug", "expected"),
    [("a--b", "a-b"), ("a---b-", "a-b"), ("-a.b", "a.b"), ("2021-rate cut", "2021-rate-cut")],
)
def test_title_slug_makes_each_run_of_dashes_one_as_jekyll_does(slug, expected):
    # Jekyll's slugify (pretty mode) replaces a run of "-" with one and trims both ends.
    path = expand_permalink("/:title/", date=datetime(2021, 12, 8, tzinfo=CST), slug=slug, categories=())
    assert path == f"/{expected}/"


@pytest.mark.parametrize(
    ("categories", "expected_prefix"),
    [
        (("EMNews",), "/emnews/"),
        (("Tech", "Web"), "/tech/web/"),
        (("tech", "Tech"), "/tech/"),  # same after lower-casing: once
        ((), "/"),
    ],
)
def test_permalink_categories(categories, expected_prefix):
    path = expand_permalink(
        JEKYLL_DEFAULT, date=datetime(2021, 12, 8, tzinfo=CST), slug="s", categories=categories
    )
    assert path == f"{expected_prefix}2021/12/08/s.html"


def test_permalink_non_ascii_category_is_percent_encoded():
    path = expand_permalink(
        JEKYLL_DEFAULT, date=datetime(2021, 12, 8, tzinfo=CST), slug="s", categories=("东财",)
    )
    assert path == "/%E4%B8%9C%E8%B4%A2/2021/12/08/s.html"
    assert path.isascii()


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("pretty", "/emnews/2021/12/08/hello/"),
        ("none", "/emnews/hello.html"),
        ("ordinal", "/emnews/2021/342/hello.html"),
        ("/blog/:year/:title/", "/blog/2021/hello/"),
    ],
)
def test_permalink_styles(style, expected):
    path = expand_permalink(
        style, date=datetime(2021, 12, 8, 22, 6, tzinfo=CST), slug="hello", categories=("emnews",)
    )
    assert path == expected


@pytest.mark.parametrize(
    ("template", "categories"),
    [
        ("/../../:title", ()),
        ("/:categories/:title:output_ext", ("../..",)),
        ("/:categories/:title:output_ext", ("..",)),
    ],
)
def test_permalink_removes_dot_dot(template, categories):
    path = expand_permalink(
        template, date=datetime(2021, 12, 8, tzinfo=CST), slug="hello", categories=categories
    )
    assert ".." not in path
    assert path.startswith("/")
    assert "//" not in path


def test_percent_in_a_category_does_not_make_a_double_escaped_permalink():
    """Feed validators read "%25" + hex twice and call such an entry id non-canonical."""
    from datetime import datetime, timedelta, timezone

    from feeds.urls import expand_permalink

    when = datetime(2024, 5, 1, 8, tzinfo=timezone(timedelta(hours=8)))
    path = expand_permalink("date", date=when, slug="x", categories=("..%2F..%2Fetc", "100%"))
    assert "%25" not in path and "%2F" not in path
    assert path == "/-2f/-2fetc/100-/2024/05/01/x.html"  # ".." -> "/" as Jekyll sanitises
