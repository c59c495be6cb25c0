"""feeds.group: posts to feed specs (all, per category, per tag) and de-duplication."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from feeds.group import dedupe, group
from feeds.model import Post, Severity

CST = timezone(timedelta(hours=8))
UTC = timezone.utc


def make_post(
    url: str,
    date: datetime = datetime(2022, 1, 1, tzinfo=UTC),
    *,
    categories: tuple[str, ...] = (),
    tags: tuple[str, ...] = (),
    updated: datetime | None = None,
    path: str | None = None,
) -> Post:
    return Post(
        path=path or f"_posts/{url.rsplit('/', 1)[-1]}.md",
        title=url,
        date=date,
        updated=updated or date,
        categories=categories,
        tags=tags,
        summary="",
        link=None,
        url=url,
    )


def day(n: int, hour: int = 12, tz=UTC) -> datetime:
    return datetime(2022, 1, n, hour, tzinfo=tz)


def urls(spec) -> list[str]:
    return [post.url for post in spec.entries]


def by_slug(specs, kind: str) -> dict:
    return {spec.slug: spec for spec in specs if spec.kind == kind}


# --- the list of specs ------------------------------------------------------------------


def test_specs_order_all_then_categories_then_tags_sorted_by_slug():
    posts = [
        make_post("https://e.org/1", day(1), categories=("Zeta", "alpha"), tags=("web",)),
        make_post("https://e.org/2", day(2), categories=("Mid",), tags=("Api", "tech")),
    ]
    specs = group(posts, 0)
    assert [(s.kind, s.slug) for s in specs] == [
        ("all", ""),
        ("category", "alpha"),
        ("category", "mid"),
        ("category", "zeta"),
        ("tag", "api"),
        ("tag", "tech"),
        ("tag", "web"),
    ]


def test_spec_names_and_directories():
    posts = [make_post("https://e.org/1", categories=("东财滚动新闻",), tags=("Tech News",))]
    all_spec, category, tag = group(posts, 0)
    assert (all_spec.name, all_spec.slug, all_spec.directory) == ("", "", "")
    assert (category.name, category.slug, category.directory) == ("东财滚动新闻", "东财滚动新闻", "categories/东财滚动新闻")
    assert (tag.name, tag.slug, tag.directory) == ("Tech News", "tech-news", "tags/tech-news")


def test_no_posts_gives_one_empty_all_feed():
    specs = group([], 10)
    assert len(specs) == 1
    assert specs[0].kind == "all"
    assert specs[0].entries == ()
    assert specs[0].updated is None


def test_category_feed_holds_only_its_posts():
    a = make_post("https://e.org/a", day(1), categories=("x",))
    b = make_post("https://e.org/b", day(2), categories=("y",))
    c = make_post("https://e.org/c", day(3), categories=("x", "y"))
    cats = by_slug(group([a, b, c], 0), "category")
    assert urls(cats["x"]) == ["https://e.org/c", "https://e.org/a"]
    assert urls(cats["y"]) == ["https://e.org/c", "https://e.org/b"]


# --- ordering ---------------------------------------------------------------------------


def test_entries_newest_first():
    posts = [make_post(f"https://e.org/{n}", day(n), tags=("t",)) for n in (2, 5, 1, 4, 3)]
    specs = group(posts, 0)
    expected = [f"https://e.org/{n}" for n in (5, 4, 3, 2, 1)]
    assert urls(specs[0]) == expected
    assert urls(by_slug(specs, "tag")["t"]) == expected


def test_entries_compare_instants_across_offsets():
    # 10:00 +08:00 is 02:00 UTC: older than 03:00 +00:00 despite the later wall clock.
    east = make_post("https://e.org/east", datetime(2022, 1, 1, 10, 0, tzinfo=CST))
    west = make_post("https://e.org/west", datetime(2022, 1, 1, 3, 0, tzinfo=UTC))
    assert urls(group([east, west], 0)[0]) == ["https://e.org/west", "https://e.org/east"]
    assert urls(group([west, east], 0)[0]) == ["https://e.org/west", "https://e.org/east"]


def test_same_instant_ordered_by_url_ascending():
    same = datetime(2022, 1, 1, 2, 0, tzinfo=UTC)
    posts = [
        # paths in the opposite order, so only the URL can give the expected order
        make_post("https://e.org/c", same, path="a.md"),
        make_post("https://e.org/a", same.astimezone(CST), path="c.md"),  # same instant, other offset
        make_post("https://e.org/b", same, path="b.md"),
    ]
    expected = ["https://e.org/a", "https://e.org/b", "https://e.org/c"]
    assert urls(group(posts, 0)[0]) == expected
    assert urls(group(list(reversed(posts)), 0)[0]) == expected


# --- limit -------------------------------------------------------------------------------


@pytest.mark.parametrize(("limit", "expected_count"), [(0, 5), (2, 2), (5, 5), (100, 5)])
def test_limit(limit, expected_count):
    posts = [make_post(f"https://e.org/{n}", day(n), categories=("c",)) for n in range(1, 6)]
    specs = group(posts, limit)
    newest = [f"https://e.org/{n}" for n in range(5, 0, -1)][:expected_count]
    assert urls(specs[0]) == newest
    assert urls(by_slug(specs, "category")["c"]) == newest


def test_limit_applies_per_feed():
    posts = [
        make_post("https://e.org/1", day(1), categories=("old",)),
        make_post("https://e.org/2", day(2), categories=("new",)),
        make_post("https://e.org/3", day(3), categories=("new",)),
    ]
    specs = group(posts, 1)
    assert urls(specs[0]) == ["https://e.org/3"]
    cats = by_slug(specs, "category")
    assert urls(cats["old"]) == ["https://e.org/1"]  # still in its own feed
    assert urls(cats["new"]) == ["https://e.org/3"]


# --- names sharing a slug ------------------------------------------------------------------


def test_same_slug_names_share_one_feed_named_by_most_frequent_spelling():
    posts = [
        make_post("https://e.org/1", day(1), categories=("Techweb",)),
        make_post("https://e.org/2", day(2), categories=("TechWeb",)),
        make_post("https://e.org/3", day(3), categories=("TechWeb",)),
    ]
    cats = [s for s in group(posts, 0) if s.kind == "category"]
    assert len(cats) == 1
    assert cats[0].slug == "techweb"
    assert cats[0].name == "TechWeb"
    assert urls(cats[0]) == ["https://e.org/3", "https://e.org/2", "https://e.org/1"]


def test_most_frequent_spelling_wins_even_when_it_is_older():
    posts = [
        make_post("https://e.org/1", day(1), tags=("Python",)),
        make_post("https://e.org/2", day(2), tags=("Python",)),
        make_post("https://e.org/3", day(3), tags=("PYTHON",)),
    ]
    (tag,) = [s for s in group(posts, 0) if s.kind == "tag"]
    assert tag.name == "Python"


def test_post_with_two_spellings_of_one_slug_appears_once():
    post = make_post("https://e.org/1", tags=("TechWeb", "techweb"))
    (tag,) = [s for s in group([post], 0) if s.kind == "tag"]
    assert urls(tag) == ["https://e.org/1"]


def test_category_and_tag_with_the_same_name_are_separate_feeds():
    post = make_post("https://e.org/1", categories=("news",), tags=("news",))
    specs = group([post], 0)
    assert [(s.kind, s.directory) for s in specs[1:]] == [("category", "categories/news"), ("tag", "tags/news")]


# --- updated ---------------------------------------------------------------------------------


def test_updated_is_the_newest_entrys_updated():
    older = make_post("https://e.org/old", day(1), categories=("c",))
    newer = make_post("https://e.org/new", day(3), categories=("c",), updated=day(4))
    specs = group([older, newer], 0)
    assert specs[0].updated == day(4)
    assert by_slug(specs, "category")["c"].updated == day(4)


def test_updated_is_per_feed():
    a = make_post("https://e.org/a", day(1), categories=("a",))
    b = make_post("https://e.org/b", day(5), categories=("b",))
    cats = by_slug(group([a, b], 0), "category")
    assert cats["a"].updated == day(1)
    assert cats["b"].updated == day(5)


def test_updated_ignores_posts_cut_by_the_limit():
    newest = make_post("https://e.org/new", day(3))
    cut = make_post("https://e.org/old", day(1), updated=day(9))  # edited later, but not in the feed
    specs = group([newest, cut], 1)
    assert urls(specs[0]) == ["https://e.org/new"]
    assert specs[0].updated == day(3)


def test_updated_compares_instants_across_offsets():
    # 10:00 +08:00 (02:00 UTC) is older than 03:00 UTC.
    a = make_post("https://e.org/a", datetime(2022, 1, 1, 10, 0, tzinfo=CST))
    b = make_post("https://e.org/b", datetime(2022, 1, 1, 3, 0, tzinfo=UTC))
    assert group([a, b], 0)[0].updated == datetime(2022, 1, 1, 3, 0, tzinfo=UTC)


# --- dedupe -------------------------------------------------------------------------------------


def test_dedupe_keeps_the_first_post_per_url_with_an_info_problem_for_a_copy():
    first = make_post("https://e.org/same", day(1), path="a/_posts/one.md")
    copy = make_post("https://e.org/same", day(1), path="b/_posts/one.md")  # the archive's copy
    other = make_post("https://e.org/other", day(3), path="a/_posts/other.md")
    kept, problems = dedupe([first, other, copy])
    assert kept == [first, other]
    assert len(problems) == 1
    problem = problems[0]
    assert problem.severity is Severity.INFO
    assert problem.path == "b/_posts/one.md"
    assert "a/_posts/one.md" in problem.message


def test_dedupe_warns_when_another_post_takes_a_permalink():
    """Two different articles under one URL (another time of the same day, other
    tags): the second is left out, and that is a warning, not an info."""
    first = make_post("https://e.org/same", day(1), path="a/_posts/one.md")
    later = make_post("https://e.org/same", day(2), path="b/_posts/two.md")
    kept, problems = dedupe([first, later])
    assert kept == [first]
    assert [(p.severity, p.path) for p in problems] == [(Severity.WARNING, "b/_posts/two.md")]
    assert "a/_posts/one.md" in problems[0].message and "left out" in problems[0].message


def test_dedupe_without_duplicates_changes_nothing():
    posts = [make_post(f"https://e.org/{n}", day(n)) for n in (3, 1, 2)]
    kept, problems = dedupe(posts)
    assert kept == posts
    assert problems == []
