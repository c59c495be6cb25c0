"""What the Atom and RSS renderers share: feed URLs, titles, the feed-level setup."""

from __future__ import annotations

import html
import re
from datetime import datetime, timezone

from feedgen.entry import FeedEntry
from feedgen.feed import FeedGenerator
from lxml import etree

from feeds.model import FeedSpec, Post, SiteInfo, relative_file
from feeds.urls import absolute_url, join, quote_path, quote_segment

GENERATOR = "feeds"  # no version: an upgrade must not change every feed's bytes
# An empty feed still needs an <updated>; a fixed instant keeps it byte-stable.
EMPTY_FEED_UPDATED = datetime(1970, 1, 1, tzinfo=timezone.utc)


def feed_url(site: SiteInfo, spec: FeedSpec, fmt: str) -> str:
    return join(site.url, quote_path(relative_file(spec.kind, spec.slug, fmt)))


def page_url(site: SiteInfo, spec: FeedSpec) -> str:
    """The HTML page a feed stands for: the site, or a category/tag page pattern."""
    pattern = {"category": site.category_url, "tag": site.tag_url}.get(spec.kind)
    if not pattern:
        return site.url + "/"
    url = absolute_url(pattern.format(slug=quote_segment(spec.slug), name=quote_segment(spec.name), site=site.url))
    assert url is not None, "config checks that the pattern gives an absolute URL"
    return url


def feed_title(site: SiteInfo, spec: FeedSpec) -> str:
    return f"{site.title} · {spec.name}" if spec.name else site.title


def feed_description(site: SiteInfo, spec: FeedSpec) -> str:
    if spec.kind == "category":
        return f"{site.description} · {spec.name}"
    if spec.kind == "tag":
        return f"{site.description} · #{spec.name}"
    return site.description


def new_feed(site: SiteInfo, spec: FeedSpec, fmt: str) -> FeedGenerator:
    """A FeedGenerator with the feed-level elements set, links in a fixed order."""
    own_url = feed_url(site, spec, fmt)
    gen = FeedGenerator()
    gen.id(own_url)
    gen.title(feed_title(site, spec))
    author = {"name": site.author}
    if site.author_email:
        author["email"] = site.author_email
    gen.author(author)
    gen.language(site.lang)
    gen.generator(GENERATOR)
    gen.description(feed_description(site, spec))
    gen.link(href=own_url, rel="self", type="application/atom+xml" if fmt == "atom" else "application/rss+xml")
    # RSS takes the channel <link> from the last link added: the page, not the feed.
    gen.link(href=page_url(site, spec), rel="alternate", type="text/html")
    updated = spec.updated or EMPTY_FEED_UPDATED
    gen.updated(updated)
    gen.lastBuildDate(updated)
    return gen


# --- text that looks like markup ------------------------------------------------
#
# A title such as "<b>央行</b> & 降准" is text, and must reach the reader intact.
# Written as plain text it is valid XML, but feed validators (and some
# readers) take "</b>" or "&lt;" in a title for HTML. Such text is therefore
# sent as escaped HTML, which readers show as the original text: in Atom with
# type="html"; in RSS, whose titles readers treat as HTML, with the "&" of
# each escape written "&#x26;" as the RSS Best Practices Profile asks (an
# equivalent spelling for any XML parser). Other text is left as it is.

# a tag, comment or declaration opening, or anything an HTML reader (or a
# validator) could take for an entity: "&" before "#" or any word character
_MARKUP = re.compile(r"<[A-Za-z/!?]|&[#\w]")


def looks_like_markup(text: str) -> bool:
    return _MARKUP.search(text) is not None


def _escaped(text: str) -> str:
    return html.escape(text, quote=False)


# feedgen creates the children of <feed> without a namespace (they inherit the default one)
_ATOM_TEXT = ("title", "subtitle", "summary")


def any_markup(texts) -> bool:
    """Whether any of the texts looks like markup (then the tree needs a pass)."""
    search = _MARKUP.search
    return any(text and search(text) for text in texts)


def atom_bytes(gen: FeedGenerator, markup: bool = True) -> bytes:
    """Serialise an Atom feed, markup-like text constructs as type="html".

    ``markup=False`` says that no title, subtitle or summary looks like markup
    (see any_markup()): the tree is then written as feedgen made it.
    """
    feed, doc = gen._create_atom()  # feedgen's own tree, as atom_str() builds it
    for element in feed.iter(*_ATOM_TEXT) if markup else ():
        if element.text and "type" not in element.attrib and looks_like_markup(element.text):
            element.text = _escaped(element.text)
            element.set("type", "html")
    return etree.tostring(doc, pretty_print=True, encoding="UTF-8", xml_declaration=True)


def rss_bytes(gen: FeedGenerator, markup: bool = True) -> bytes:
    """Serialise an RSS feed, markup-like titles and categories as escaped HTML.

    ``markup=False`` says that no title, description or category looks like
    markup (see any_markup()).
    """
    feed, doc = gen._create_rss()  # feedgen's own tree, as rss_str() builds it
    plain = []
    if markup:
        channel = feed.find("channel")
        plain = [channel.find("title"), channel.find("description")]
        for item in channel.iter("item"):
            plain.append(item.find("title"))
            plain.extend(item.iter("category"))
    for element in plain:
        if element is not None and element.text and looks_like_markup(element.text):
            element.text = _escaped(element.text)
    data = etree.tostring(doc, pretty_print=True, encoding="UTF-8", xml_declaration=True)
    return data.replace(b"&amp;", b"&#x26;")  # no CDATA sections are written, so this is exact


def feed_entries(spec: FeedSpec, site: SiteInfo) -> list[FeedEntry]:
    """One feedgen entry per post of a feed, with what Atom and RSS share.

    Made once and given to the renderer of each format, which adds what is
    its own: Atom the <updated> text, RSS the escaped <description> where
    escaping changes the summary. feedgen's setters fill both formats at
    once: guid() also sets the Atom id, the alternate link is also the RSS
    link, published() is also pubDate, and summary() also sets the RSS
    description (see feedgen's FeedEntry).
    """
    entries = []
    for post in spec.entries:
        entry = FeedEntry()
        entry.guid(post.url, permalink=True)
        entry.title(post.title)
        entry.link(href=entry_link(site, post), rel="alternate", type="text/html")
        entry.published(post.date)
        if post.summary:
            entry.summary(post.summary)
        terms = entry_terms(post)
        if terms:
            entry.category(terms)
        entries.append(entry)
    return entries


def entry_link(site: SiteInfo, post: Post) -> str:
    if site.link == "source" and post.link:
        return post.link
    return post.url


def entry_terms(post: Post) -> list[dict[str, str]]:
    """Every category and tag, once each, in the post's order."""
    terms = dict.fromkeys((*post.categories, *post.tags))
    return [{"term": term} for term in terms]
