"""feeds.read: parse_post (pure) with Jekyll's semantics, read_file and discover."""

from __future__ import annotations

import dataclasses
import os
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from feeds.listing import discover
from feeds.model import Severity
from feeds.read import ReadOptions, parse_post, read_file

OPTIONS = ReadOptions(site_url="https://example.org", timezone=ZoneInfo("Asia/Shanghai"))
NAME = "2021-12-08-202112082206734275.md"
H8 = timedelta(hours=8)


def parse(text: str, filename: str = NAME, **options):
    opts = dataclasses.replace(OPTIONS, **options) if options else OPTIONS
    return parse_post(text, f"_posts/{filename}", filename, opts)


def post_of(text: str, filename: str = NAME, **options):
    result = parse(text, filename, **options)
    assert result.post is not None, result.problems
    return result.post


def doc(front: str, body: str = "Body text.\n") -> str:
    """A post with the given front-matter lines."""
    return f"---\n{front.strip()}\n---\n{body}"


def severities(result) -> list[Severity]:
    return [problem.severity for problem in result.problems]


# --- dates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("front", "expected_iso"),
    [
        ("date: 2022-06-01 16:03:57 +0800", "2022-06-01T16:03:57+08:00"),
        ("date: 2022-06-01 16:03:57 +08:00", "2022-06-01T16:03:57+08:00"),  # a YAML timestamp
        ("date: 2022-06-01 08:03:57 +0000", "2022-06-01T08:03:57+00:00"),
        ("date: '2022-06-01T16:03:57-04:00'", "2022-06-01T16:03:57-04:00"),
        ("date: 2022-06-01 16:03:57", "2022-06-01T16:03:57+08:00"),  # site time zone
        ("date: 2022-06-01", "2022-06-01T00:00:00+08:00"),
    ],
)
def test_front_matter_date(front, expected_iso):
    post = post_of(doc(front))
    assert post.date.isoformat() == expected_iso
    assert post.updated == post.date


def test_date_in_another_site_zone():
    post = post_of(doc("date: 2022-07-01 12:00:00"), timezone=ZoneInfo("America/New_York"))
    assert post.date.isoformat() == "2022-07-01T12:00:00-04:00"


@pytest.mark.parametrize("front", ["title: no date", "title: x\ndate:", "title: x\ndate: '+0800'"])
def test_no_date_uses_file_name_at_midnight_site_time(front):
    post = post_of(doc(front))
    assert post.date.isoformat() == "2021-12-08T00:00:00+08:00"
    assert post.date.utcoffset() == H8


def test_neither_date_nor_file_name_date_is_an_error_naming_the_file():
    result = parse(doc("title: undated"), filename="undated.md")
    assert result.post is None
    errors = [p for p in result.problems if p.severity is Severity.ERROR]
    assert errors
    assert errors[0].path == "_posts/undated.md"
    assert "_posts/undated.md" in str(errors[0])


def test_bad_date_falls_back_to_file_name_with_a_warning():
    result = parse(doc("date: yesterday"))
    assert result.post is not None
    assert result.post.date.isoformat() == "2021-12-08T00:00:00+08:00"
    assert Severity.WARNING in severities(result)


# --- categories and tags ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("front", "categories", "tags"),
    [
        ("categories: emnews finance", ("emnews", "finance"), ()),
        ("categories: [emnews, 东财滚动新闻]", ("emnews", "东财滚动新闻"), ()),
        ("categories:\n  - Tech News\n  - web", ("Tech News", "web"), ()),
        ("tags: a  b\tc", (), ("a", "b", "c")),
        ("tags: [1, 2.5, x]", (), ("1", "2.5", "x")),
        ("tags: 2021", (), ("2021",)),
        ("categories: [a, null, '', b]", ("a", "b"), ()),
        ("categories:\ntags: ''", (), ()),
        ("categories: []\ntags: []", (), ()),
        ("categories: [a, a, b]", ("a", "b"), ()),
    ],
)
def test_categories_and_tags(front, categories, tags):
    post = post_of(doc(f"date: 2021-12-08 22:06:00 +0800\n{front}"))
    assert post.categories == categories
    assert post.tags == tags


@pytest.mark.parametrize(
    ("front", "categories", "tags"),
    [
        ("category: Tech News", ("Tech News",), ()),
        ("tag: machine learning", (), ("machine learning",)),
        ("category: 东财 滚动新闻", ("东财 滚动新闻",), ()),
    ],
)
def test_singular_key_is_one_name(front, categories, tags):
    post = post_of(doc(f"date: 2021-12-08 22:06:00 +0800\n{front}"))
    assert post.categories == categories
    assert post.tags == tags


@pytest.mark.parametrize(
    ("front", "categories", "tags"),
    [
        # Jekyll 4: categories of the plural key, then the singular key's; a singular tag wins
        ("category: one\ncategories: [two]", ("two", "one"), ()),
        ("categories: two three\ncategory: one two", ("two", "three", "one two"), ()),
        ("category: two\ncategories: [two, three]", ("two", "three"), ()),
        ("category: [a, b]\ncategories: c", ("c", "a", "b"), ()),
        ("tag: one\ntags: [two]", (), ("one",)),
    ],
)
def test_both_keys_as_jekyll_takes_them(front, categories, tags):
    post = post_of(doc(f"date: 2021-12-08 22:06:00 +0800\n{front}"))
    assert post.categories == categories
    assert post.tags == tags


@pytest.mark.parametrize(
    ("filename", "title", "url"),
    [  # as Jekyll 4.3 gives them (checked side by side)
        ("2024-02-13-no-title.md", "No Title", "https://example.org/2024/02/01/no-title.html"),
        ("2024-02-09-a.b..md", "A.b", "https://example.org/2024/02/01/a.b.html"),
        ("2024-02-10-央行-降准.md", "央行 降准", "https://example.org/2024/02/01/%E5%A4%AE%E8%A1%8C-%E9%99%8D%E5%87%86.html"),
        ("2024-02-11-202402111234.md", "202402111234", "https://example.org/2024/02/01/202402111234.html"),
    ],
)
def test_untitled_post_is_titled_from_its_slug_as_jekyll_does(filename, title, url):
    post = post_of(doc("date: 2024-02-01 10:00:00 +0800"), filename)
    assert (post.title, post.url) == (title, url)


# --- title -------------------------------------------------------------------------------------


@pytest.mark.parametrize("front", ["date: 2021-12-08", "date: 2021-12-08\ntitle:", "date: 2021-12-08\ntitle: ''"])
def test_missing_or_empty_title_is_the_file_slug(front):
    assert post_of(doc(front)).title == "202112082206734275"


def test_title_is_one_line():
    post = post_of(doc('title: "  Two\\nlines  "\ndate: 2021-12-08'))
    assert post.title == "Two lines"


# --- published -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["false", "False", "no"])  # YAML 1.1 booleans, as Jekyll reads them
def test_unpublished_post_is_excluded_with_info(value):
    result = parse(doc(f"title: draft\ndate: 2021-12-08\npublished: {value}"))
    assert result.post is None
    assert severities(result) == [Severity.INFO]


def test_published_true_is_kept():
    assert parse(doc("title: t\ndate: 2021-12-08\npublished: true")).post is not None


# --- summary --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("front", "body", "expected"),
    [
        ("summary: From summary", "First paragraph.", "From summary"),
        ("description: From description", "First paragraph.", "From description"),
        ("excerpt: From excerpt", "First paragraph.", "From excerpt"),
        ("summary: S\ndescription: D\nexcerpt: E", "P", "S"),
        ("description: D\nexcerpt: E", "P", "D"),
        ("summary: '<b>Bold</b> &amp; [link](http://x.org)'", "P", "Bold & link"),
        ("title: t", "> The quoted lead\n> goes on.\n\nFirst paragraph.", "The quoted lead goes on."),
        ("title: t", "\n\nFirst **paragraph**\nwraps here.\n\nSecond paragraph.", "First paragraph wraps here."),
        ("title: t", "<!-- note -->\n精度满足<1%的要求\n\nmore", "精度满足<1%的要求"),
        ("title: t", "", ""),
    ],
)
def test_summary(front, body, expected):
    post = post_of(doc(f"date: 2021-12-08\n{front}", body))
    assert post.summary == expected


def test_summary_is_cut_at_summary_length():
    post = post_of(doc("date: 2021-12-08", "word " * 100), summary_length=20)
    assert len(post.summary) <= 20
    assert post.summary.endswith("…")
    assert post.summary.startswith("word word")


def test_short_summary_is_not_marked_as_cut():
    post = post_of(doc("date: 2021-12-08", "Short."), summary_length=20)
    assert post.summary == "Short."


# --- source link -------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["source", "source_url", "link", "canonical_url"])
def test_source_link_from_front_matter(key):
    post = post_of(doc(f"date: 2021-12-08\n{key}: https://news.example.com/a/1.html", "Text.\n\n<https://other.example/>\n"))
    assert post.link == "https://news.example.com/a/1.html"


def test_source_link_keys_in_order():
    front = "date: 2021-12-08\nlink: https://c.example/\nsource: https://a.example/\nsource_url: https://b.example/"
    assert post_of(doc(front)).link == "https://a.example/"


def test_source_link_is_the_last_standalone_autolink_line():
    body = "Text with <https://inline.example/> inside.\n\n<https://first.example/>\n\nMore.\n\n<https://last.example/x>\n"
    assert post_of(doc("date: 2021-12-08", body)).link == "https://last.example/x"


def test_source_link_is_percent_encoded():
    post = post_of(doc("date: 2021-12-08", "Text.\n\n<https://example.com/新闻>\n"))
    assert post.link == "https://example.com/%E6%96%B0%E9%97%BB"


@pytest.mark.parametrize("body", ["Text.\n\n<>\n", "Text.\n", "See <https://inline.example/> here.\n"])
def test_no_source_link(body):
    assert post_of(doc("date: 2021-12-08", body)).link is None


def test_source_link_line_is_not_the_summary():
    post = post_of(doc("date: 2021-12-08", "<https://source.example/a>\n\nReal text.\n"))
    assert post.summary == "Real text."
    assert post.link == "https://source.example/a"


def test_empty_autolink_is_not_the_summary():
    post = post_of(doc("date: 2021-12-08", "<>\n\nReal text.\n"))
    assert post.summary == "Real text."
    assert post.link is None


# --- URL ------------------------------------------------------------------------------------------------


def test_post_url_is_site_url_plus_jekyll_permalink():
    post = post_of(doc("title: t\ndate: 2021-12-08 22:06:00 +0800\ncategories: emnews"))
    assert post.url == "https://example.org/emnews/2021/12/08/202112082206734275.html"


def test_post_url_uses_the_posts_own_offset():
    post = post_of(doc("date: 2021-12-08 01:00:00 +0800\ncategories: emnews"))
    assert post.url == "https://example.org/emnews/2021/12/08/202112082206734275.html"


def test_post_url_with_site_baseurl_and_front_matter_permalink():
    post = post_of(doc("date: 2021-12-08\npermalink: /news/:title/"), site_url="https://example.org/blog")
    assert post.url == "https://example.org/blog/news/202112082206734275/"


def test_post_url_site_permalink_style():
    post = post_of(doc("date: 2021-12-08\ncategories: emnews"), permalink="pretty")
    assert post.url == "https://example.org/emnews/2021/12/08/202112082206734275/"


# --- file shapes -----------------------------------------------------------------------------------------


def test_front_matter_after_blank_lines():
    post = post_of("\n\n---\ntitle: Late start\ndate: 2021-12-08\n---\nBody.\n")
    assert post.title == "Late start"


def test_bom_and_crlf():
    post = post_of("\ufeff---\r\ntitle: Windows\r\ndate: 2021-12-08 22:06:00 +0800\r\n---\r\nBody line.\r\n")
    assert post.title == "Windows"
    assert post.summary == "Body line."
    assert post.date.isoformat() == "2021-12-08T22:06:00+08:00"


def test_invalid_yaml_title_is_recovered_with_a_warning():
    text = '---\ntitle: "央行"降准"释放流动性"\ndate: 2021-12-08 22:06:00 +0800\n---\nBody.\n'
    result = parse(text)
    assert result.post is not None
    assert result.post.title == '央行"降准"释放流动性'
    assert result.post.date.isoformat() == "2021-12-08T22:06:00+08:00"
    warnings = [p for p in result.problems if p.severity is Severity.WARNING]
    assert warnings
    assert isinstance(warnings[0].line, int)
    assert warnings[0].line == 2  # the title line in the file


def test_recovered_front_matter_reads_quoted_list_items_and_escapes_as_yaml_would():
    """The line-by-line reading after a YAML error: a comma inside a quoted item
    does not cut it, and double-quoted escapes (JSON's surrogate pairs too, which
    PyYAML itself refuses) are decoded."""
    text = (
        '---\ntitle: "央行"降准"释放流动性 caf\\u00e9 \\ud83d\\ude00"\n'
        "date: 2021-12-08 22:06:00 +0800\n"
        "tags: [\"财经, 快讯\", '银行', 'it''s', plain]\n"
        'categories: ["a\\tb", "\\ud83d"]\n---\nBody.\n'
    )
    result = parse(text)
    assert result.post is not None, result.problems
    assert result.post.title == '央行"降准"释放流动性 café 😀'
    assert result.post.tags == ("财经, 快讯", "银行", "it's", "plain")
    assert result.post.categories == ("a b", "\ufffd")  # a tab made one line; half a surrogate pair replaced
    assert any("line by line" in p.message for p in result.problems)


def test_missing_closing_fence_is_an_error():
    result = parse("---\ntitle: cut off\ndate: 2021-12-08\nBody text")
    assert result.post is None
    assert severities(result) == [Severity.ERROR]


@pytest.mark.parametrize("text", ["", "   \n\n", "\ufeff"])
def test_empty_file_is_an_error(text):
    result = parse(text)
    assert result.post is None
    assert severities(result) == [Severity.ERROR]


def test_no_front_matter_is_info():
    result = parse("# Just a README\n\nNo front matter here.\n")
    assert result.post is None
    assert severities(result) == [Severity.INFO]


def test_front_matter_that_is_not_a_mapping_is_an_error():
    result = parse("---\n- just\n- a list\n---\nBody\n")
    assert result.post is None
    assert Severity.ERROR in severities(result)


# --- discover ---------------------------------------------------------------------------------------------


def _touch(root: Path, rel: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x", encoding="utf-8")


def test_discover_sorted_skips_hidden_and_non_posts(tmp_path):
    for rel in [
        "b/2021-01-02-b.md",
        "2021-01-03-c.markdown",
        "a/2021-01-01-a.md",
        "c/2021-01-08-h.mkd",
        "c/2021-01-09-i.MKDN",
        "c/2021-01-10-j.mkdown",
        "2021-01-04-d.txt",
        "notes.html",
        ".hidden/2021-01-05-e.md",
        "a/.cache/2021-01-06-f.md",
        ".2021-01-07-g.md",
    ]:
        _touch(tmp_path, rel)
    found = discover((tmp_path,))
    rels = [Path(path).relative_to(tmp_path).as_posix() for _display, path in found]
    assert rels == [
        "2021-01-03-c.markdown",
        "a/2021-01-01-a.md",
        "b/2021-01-02-b.md",
        "c/2021-01-08-h.mkd",
        "c/2021-01-09-i.MKDN",
        "c/2021-01-10-j.mkdown",
    ]
    for display, path in found:
        assert display == str(path)


def test_discover_skips_what_jekyll_leaves_out_but_posts_folders(tmp_path):
    for rel in [
        "_posts/2021-01-01-a.md",
        "_posts/_2021-01-02-put-aside.md",
        "_posts/#2021-01-03-autosave.md",
        "_posts/_drafts/2021-01-04-draft.md",
        "_drafts/2021-01-05-draft.md",
        "_posts/news/2021-01-06-b.md",
        "news/_posts/2021-01-07-c.md",
        "news/_posts/_posts/2021-01-08-d.md",
        "old_post/2021-01-09-e.md",
        "old_post/_2021-01-10-f.md",
        "old_post/_site/2021-01-11-g.md",
    ]:
        _touch(tmp_path, rel)
    single = tmp_path / "_posts" / "_2021-01-02-put-aside.md"  # named as a source: read
    found = discover((tmp_path, single))
    rels = [Path(path).relative_to(tmp_path).as_posix() for _display, path in found]
    assert rels == [
        "_posts/2021-01-01-a.md",
        "_posts/news/2021-01-06-b.md",
        "news/_posts/2021-01-07-c.md",
        "news/_posts/_posts/2021-01-08-d.md",
        "old_post/2021-01-09-e.md",
        "_posts/_2021-01-02-put-aside.md",
    ]


def test_discover_keeps_source_order_and_single_files(tmp_path):
    _touch(tmp_path, "one/z.md")
    _touch(tmp_path, "two/a.md")
    single = tmp_path / "single.md"
    single.write_text("x", encoding="utf-8")
    found = [Path(path) for _display, path in discover((tmp_path / "two", single, tmp_path / "one"))]
    assert found == [tmp_path / "two" / "a.md", single, tmp_path / "one" / "z.md"]


# --- read_file --------------------------------------------------------------------------------------------


def test_read_file_reads_a_post(tmp_path):
    path = tmp_path / NAME
    path.write_bytes(doc("title: 东财\ndate: 2021-12-08 22:06:00 +0800\ncategories: emnews").encode("utf-8"))
    result = read_file("posts/" + NAME, path, OPTIONS)
    assert result.post is not None
    assert result.post.title == "东财"
    assert result.post.path == "posts/" + NAME
    assert result.post.url == "https://example.org/emnews/2021/12/08/202112082206734275.html"


def test_read_file_with_bom_and_crlf(tmp_path):
    path = tmp_path / NAME
    path.write_bytes(b"\xef\xbb\xbf---\r\ntitle: BOM\r\ndate: 2021-12-08\r\n---\r\nBody\r\n")
    result = read_file(NAME, path, OPTIONS)
    assert result.post is not None
    assert result.post.title == "BOM"


def test_read_file_invalid_utf8_reports_the_byte_offset(tmp_path):
    data = b"---\ntitle: x\n---\nok \xff bad\n"
    path = tmp_path / NAME
    path.write_bytes(data)
    result = read_file(NAME, path, OPTIONS)
    assert result.post is None
    assert severities(result) == [Severity.ERROR]
    offset = data.index(b"\xff")
    assert f"byte {offset}" in result.problems[0].message
    assert result.problems[0].line == 4


def test_read_file_with_nul_bytes_is_an_error(tmp_path):
    path = tmp_path / NAME
    path.write_bytes(b"---\ntitle: x\ndate: 2021-12-08\n---\nbody\x00\x00binary\n")
    result = read_file(NAME, path, OPTIONS)
    assert result.post is None
    assert severities(result) == [Severity.ERROR]


def test_read_file_missing_file_is_an_error(tmp_path):
    result = read_file("gone.md", tmp_path / "gone.md", OPTIONS)
    assert result.post is None
    assert severities(result) == [Severity.ERROR]


def test_read_file_over_max_size_is_an_error(tmp_path):
    path = tmp_path / NAME
    path.write_bytes(doc("date: 2021-12-08", "x" * 500).encode())
    result = read_file(NAME, path, dataclasses.replace(OPTIONS, max_size=100))
    assert result.post is None
    assert severities(result) == [Severity.ERROR]


def test_front_matter_slug_replaces_the_file_name_slug_in_the_permalink():
    text = '---\ntitle: "T"\ndate: 2024-05-01 08:00:00 +0800\ncategories: news\nslug: better-name\n---\n\nBody.\n'
    options = ReadOptions(site_url="https://example.org", timezone=ZoneInfo("Asia/Shanghai"))
    result = parse_post(text, "x.md", "2024-05-01-ugly-name.md", options)
    assert result.post is not None
    assert result.post.url == "https://example.org/news/2024/05/01/better-name.html"


def test_broken_symlink_fifo_and_symlink_loop_are_reported_not_read(tmp_path):
    import os

    options = ReadOptions(site_url="https://example.org", timezone=ZoneInfo("Asia/Shanghai"))
    (tmp_path / "dangling.md").symlink_to(tmp_path / "missing.md")
    (tmp_path / "loop.md").symlink_to(tmp_path / "loop.md")
    os.mkfifo(tmp_path / "fifo.md")  # must not block the build
    messages = {
        name: read_file(name, tmp_path / name, options).problems[0].message
        for name in ("dangling.md", "loop.md", "fifo.md")
    }
    assert "broken symbolic link" in messages["dangling.md"]
    assert "symbolic links" in messages["loop.md"]
    assert "not a regular file" in messages["fifo.md"]


@pytest.mark.parametrize(
    "filename", [" .md", "\x01.md", "\udcff.md", "\u3000\u200b.md", "2023-01-01-.md", "2023-01-01-   .md", "2023-01-01-\x01.md"]
)
def test_a_post_whose_name_gives_no_title_is_titled_by_its_summary(filename):
    # feedgen refuses an entry without a title: this once failed the whole build
    result = parse(doc("date: 2023-01-01 10:00:00 +0800", "The first words of the body.\n"), filename)
    assert result.post is not None
    assert result.post.title == "The first words of the body."
    assert [p.severity for p in result.problems] == [Severity.WARNING]
    assert "no title" in result.problems[0].message
    # a slug from the name's bytes: a path segment, not ".html" alone
    assert result.post.url.startswith("https://example.org/2023/01/01/_") and result.post.url.endswith(".html")
    other = parse(doc("date: 2023-01-01 10:00:00 +0800"), "\x02.md").post
    assert other is not None and other.url != result.post.url


def test_a_post_without_title_summary_or_usable_name_is_untitled():
    post = post_of(doc("date: 2023-01-01 10:00:00 +0800", ""), " .md")
    assert post.title == "untitled"


def test_a_long_summary_titles_an_untitled_post_with_its_start():
    post = post_of(doc("date: 2023-01-01 10:00:00 +0800", "词" * 300 + "\n"), " .md")
    assert post.title == "词" * 59 + "…"


@pytest.mark.parametrize(
    ("front", "key"),
    [
        ("tags: " + " ".join(f"t{i}" for i in range(150)), "tags"),  # the space-separated fast path
        ("tags: [" + ", ".join(f"t{i}" for i in range(150)) + "]", "tags"),
        ("categories:\n" + "\n".join(f"  - c{i}" for i in range(150)), "categories"),
    ],
)
def test_a_post_keeps_its_first_hundred_categories_or_tags_with_a_warning(front, key):
    result = parse(doc("title: t\ndate: 2023-01-01\n" + front))
    names = getattr(result.post, key)
    assert names == tuple(f"{key[0]}{i}" for i in range(100))
    assert [str(p).split(": ", 1)[1] for p in result.problems] == [
        f"warning: {key}: 150 names; only the first 100 are used"
    ]


def test_a_hundred_tags_are_kept_without_a_warning():
    result = parse(doc("title: t\ndate: 2023-01-01\ntags: " + " ".join(f"t{i}" for i in range(100))))
    assert len(result.post.tags) == 100 and not result.problems


def test_files_read_in_batches_give_what_each_file_read_alone_gives(tmp_path, monkeypatch):
    """load_files reads a batch, then parses it: across batch boundaries, with
    unreadable and bad files among good ones, every result is the file's own,
    in the order given."""
    import feeds.read as read

    monkeypatch.setattr(read, "READ_BATCH", 3)
    files = []
    for i in range(10):
        path = tmp_path / f"2024-01-{i + 1:02d}-post-{i}.md"
        if i == 2:
            pass  # listed, but gone before it is read
        elif i == 4:
            path.mkdir()  # a directory with a post's name
        elif i == 7:
            path.write_text("no front matter\n", encoding="utf-8")
        else:
            path.write_text(doc(f'title: "第{i}篇"\ncategories: c{i % 3}', f"Body {i}.\n"), encoding="utf-8")
        files.append((f"_posts/{path.name}", str(path)))

    together = read.load_files(files, OPTIONS)
    alone = [read.load_file(display, path, OPTIONS) for display, path in files]

    assert [r.path for r in together] == [display for display, _ in files]
    assert [r._replace(read_ns=0) for r in together] == [r._replace(read_ns=0) for r in alone]
    titles = [r.post.title if r.post else None for r in together]
    assert titles == ["第0篇", "第1篇", None, "第3篇", None, "第5篇", "第6篇", None, "第8篇", "第9篇"]
    assert "vanished" in together[2].problems[0].message and together[2].size == -1
    assert together[4].problems[0].message == "not a regular file"
    assert together[7].problems[0].severity is Severity.INFO and together[7].size > 0


@pytest.mark.parametrize("files_per_batch, bytes_per_batch, expected", [
    (3, 1 << 20, "RRRPPPRRRPPPRP"),
    (128, 1, "RPRPRPRPRPRPRP"),  # each file fills its batch: read and parsed one at a time
    (128, 150, "RRPPRRPPRRPPRP"),  # (each post is 96 bytes)
])
def test_a_batch_ends_at_its_count_or_its_bytes(tmp_path, monkeypatch, files_per_batch, bytes_per_batch, expected):
    """Big posts are not held many at a time: a batch ends at READ_BATCH files
    or at the file that brings it to READ_BATCH_BYTES."""
    import feeds.read as read

    files = []
    for i in range(7):
        path = tmp_path / f"2024-01-{i + 1:02d}-p{i}.md"
        path.write_text(doc(f'title: "Post {i}"', "Body. " * 12), encoding="utf-8")
        files.append((f"_posts/{path.name}", str(path)))
    assert {os.path.getsize(p) for _, p in files} == {96}
    calls = []
    real_read, real_parse = read._read_bytes, read._decode_and_parse
    monkeypatch.setattr(read, "_read_bytes", lambda *a: calls.append("R") or real_read(*a))
    monkeypatch.setattr(read, "_decode_and_parse", lambda *a: calls.append("P") or real_parse(*a))
    monkeypatch.setattr(read, "READ_BATCH", files_per_batch)
    monkeypatch.setattr(read, "READ_BATCH_BYTES", bytes_per_batch)
    loaded = read.load_files(files, OPTIONS)
    assert [r.post.title for r in loaded] == [f"Post {i}" for i in range(7)]
    assert "".join(calls) == expected


def test_a_listing_without_stats_lists_the_same_files_and_chunks(tmp_path):
    """list_files(stats=False) tells files from directories by the listing's types:
    the same rows (bar the stats) and chunks as the listing that stats each file."""
    from feeds.listing import NO_STAT, list_files

    for n in range(600):  # enough names for several chunks
        _touch(tmp_path, f"src/{n % 3}/2021-01-{n % 28 + 1:02d}-p{n}.md")
    _touch(tmp_path, "src/dir.md/2021-02-01-inside.md")  # a directory with a post suffix: looked into
    _touch(tmp_path, "src/.hidden/2021-02-02-h.md")
    _touch(tmp_path, "elsewhere/real.md")
    _touch(tmp_path, "elsewhere/sub/2021-02-03-s.md")
    (tmp_path / "src" / "link-to-file.md").symlink_to(tmp_path / "elsewhere" / "real.md")
    (tmp_path / "src" / "link-to-dir.md").symlink_to(tmp_path / "elsewhere" / "sub")  # listed: reading tells
    (tmp_path / "src" / "linked-dir").symlink_to(tmp_path / "elsewhere" / "sub")  # never followed
    (tmp_path / "src" / "broken.md").symlink_to(tmp_path / "nowhere.md")
    odd = os.fsencode(str(tmp_path / "src")) + b"/2021-02-04-caf\xe9.md"
    with open(odd, "w", encoding="utf-8") as file:
        file.write("x")
    single = tmp_path / "elsewhere" / "real.md"
    sources = (tmp_path / "src", single, tmp_path / "missing")

    stated_problems, bare_problems = [], []
    stated = list_files(sources, stated_problems)
    bare = list_files(sources, bare_problems, stats=False)
    assert [row[:2] for row in bare.rows] == [row[:2] for row in stated.rows]
    assert bare.chunks == stated.chunks and len(stated.chunks) > 3
    assert {row[2:] for row in bare.rows} == {NO_STAT}
    assert [str(p) for p in bare_problems] == [str(p) for p in stated_problems]
    shown = {Path(row[1]).name for row in bare.rows}
    assert {"2021-02-01-inside.md", "link-to-file.md", "link-to-dir.md", "broken.md"} <= shown
    assert "2021-02-02-h.md" not in shown and "2021-02-03-s.md" not in shown


@pytest.mark.skipif(os.geteuid() == 0, reason="root enters any directory")
def test_a_directory_that_can_be_listed_but_not_entered_is_reported_the_same_way_with_or_without_stats(tmp_path):
    from feeds.listing import list_files

    _touch(tmp_path, "src/2021-01-01-ok.md")
    _touch(tmp_path, "src/locked/2021-01-02-p.md")
    _touch(tmp_path, "src/locked/inner/2021-01-03-i.md")
    (tmp_path / "src" / "locked" / "sub.md").mkdir()
    (tmp_path / "src" / "locked").chmod(0o644)  # names can be read, nothing inside reached
    try:
        listings = {}
        for stats in (True, False):
            problems: list = []
            listing = list_files((tmp_path / "src",), problems, stats=stats)
            listings[stats] = ([row[:2] for row in listing.rows], listing.chunks, [str(p) for p in problems])
        assert listings[True] == listings[False]
        rows, _chunks, problems = listings[True]
        assert [Path(path).name for _display, path in rows] == ["2021-01-01-ok.md", "2021-01-02-p.md"]
        assert len(problems) == 2 and all("cannot list directory" in p for p in problems)  # inner/, sub.md/
    finally:
        (tmp_path / "src" / "locked").chmod(0o755)
