"""A post rewritten while it is being read is read whole or reported, never half-read.

A writer thread rewrites one post file in place, over and over, the way a
scraper does (open "w", which truncates; write part of the text; flush;
pause; write the rest), alternating between two complete versions A and B.
The split points fall inside the front matter and inside the body, so a
reader can see an empty file, a file cut in the front matter, and a file cut
in the middle of the summary paragraph. Meanwhile read_file is called again
and again. Each read must give either version A or B complete (exact title,
exact untruncated summary) or a Problem; never a post with a cut summary.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from feeds.read import ReadOptions, read_file

OPTIONS = ReadOptions(site_url="https://example.org", timezone=ZoneInfo("Asia/Shanghai"))
READS = 300
PAUSE = 0.002  # seconds between the two halves of a write, and between rewrites
BURST = 12  # rewrites in a row (about 40 ms), then
QUIET = 0.15  # seconds in which the file stays whole (a reader may wait for a file to settle)


def version(title: str, summary: str) -> str:
    return (
        "---\n"
        f'title: "{title}"\n'
        "date: 2024-05-01 09:30:00 +0800\n"
        "categories: [markets]\n"
        "---\n\n"
        f"{summary}\n\n"
        "A second paragraph that is not part of the summary.\n"
    )


TITLE_A = "Version A: the central bank cuts the reserve requirement ratio"
SUMMARY_A = (
    "Version A summary. The People's Bank of China cut the reserve requirement ratio by half a "
    "percentage point, releasing about one trillion yuan of long-term liquidity."
)
TITLE_B = "Version B: markets rally after the reserve requirement cut"
SUMMARY_B = (
    "Version B summary. Stocks and bonds rallied after the cut; analysts expect further easing "
    "later in the year as growth slows and inflation stays low."
)
VERSIONS = {TITLE_A: (version(TITLE_A, SUMMARY_A), SUMMARY_A), TITLE_B: (version(TITLE_B, SUMMARY_B), SUMMARY_B)}


def split_points(text: str, summary: str) -> list[int]:
    """Where the writer pauses: inside the title, just before the closing ---, and inside the summary."""
    in_title = text.index("title:") + 12
    before_close = text.index("\n---\n", 4) + 1
    in_summary = text.index(summary) + len(summary) // 2
    return [in_title, before_close, in_summary, text.index(summary) + len(summary) - 3]


def rewrite_forever(path: Path, stop: threading.Event, errors: list[BaseException], rewrites: list[int]) -> None:
    """Bursts of rewrites (each in two halves), then a quiet spell in which the file is whole."""
    try:
        n = 0
        while not stop.is_set():
            for _ in range(BURST):
                title = (TITLE_A, TITLE_B)[n % 2]
                text, summary = VERSIONS[title]
                cut = split_points(text, summary)[(n // 2) % 4]
                with open(path, "w", encoding="utf-8") as handle:
                    handle.write(text[:cut])
                    handle.flush()
                    time.sleep(PAUSE)
                    handle.write(text[cut:])
                n += 1
                rewrites[0] = n
                time.sleep(PAUSE / 2)
            stop.wait(QUIET)
    except BaseException as exc:  # noqa: BLE001 - surfaced by the test
        errors.append(exc)


def test_post_rewritten_during_reads_is_whole_or_reported(tmp_path):
    path = tmp_path / "2024-05-01-rewritten.md"
    path.write_text(VERSIONS[TITLE_A][0], encoding="utf-8")
    # Sanity: each version on its own reads as the exact, complete post.
    for title, (text, summary) in VERSIONS.items():
        path.write_text(text, encoding="utf-8")
        post = read_file(str(path), path, OPTIONS).post
        assert post is not None and post.title == title and post.summary == summary

    stop = threading.Event()
    errors: list[BaseException] = []
    rewrites = [0]
    writer = threading.Thread(target=rewrite_forever, args=(path, stop, errors, rewrites), daemon=True)
    writer.start()
    whole: dict[str, int] = {TITLE_A: 0, TITLE_B: 0}
    reported: dict[str, int] = {}
    half_read: list[str] = []
    try:
        for _ in range(READS):
            result = read_file(str(path), path, OPTIONS)
            if result.post is None:
                assert result.problems, "no post and no problem"
                for problem in result.problems:
                    assert problem.path == str(path)
                reported[result.problems[0].message] = reported.get(result.problems[0].message, 0) + 1
            else:
                post = result.post
                expected = VERSIONS.get(post.title)
                if expected is None or post.summary != expected[1]:
                    half_read.append(f"title={post.title!r} summary={post.summary!r}")
                else:
                    whole[post.title] += 1
            time.sleep(PAUSE / 2)
    finally:
        stop.set()
        writer.join(5)
    assert not errors, errors
    assert rewrites[0] >= 2 * BURST, "the writer hardly ran; the test proved nothing"
    assert not half_read, (
        f"{len(half_read)} of {READS} reads returned a half-written post as if whole, e.g. {half_read[:3]}; "
        f"whole reads {whole}, reported {reported}"
    )
    # The file is whole (and still) for QUIET seconds at a time: some reads must see it.
    assert sum(whole.values()) > 0, f"never read a whole post: {reported}"


def test_a_same_size_rewrite_with_its_mtime_set_back_during_the_read_is_read_again(tmp_path, monkeypatch):
    """`cp -p` (or `touch -r`) rewrites a file in place and sets its mtime back:
    size and mtime are as before, only ctime moves. Done while the file is being
    read, the bytes read are the old ones: the read must be made again, or the
    cache would keep the old post under the new file's stat for good."""
    import os

    import feeds.read

    old, new = version(TITLE_A, SUMMARY_A), version(TITLE_B, SUMMARY_B)
    new = new[: len(old)].ljust(len(old), "\n")  # the same size
    assert len(new.encode()) == len(old.encode())
    path = tmp_path / "2024-05-01-post.md"
    path.write_text(old, encoding="utf-8")
    os.utime(path, ns=(1_700_000_000_000_000_000,) * 2)  # long ago: no settling wait
    real_read = os.read
    rewritten = []

    def read_then_rewrite(fd, size):
        data = real_read(fd, size)
        if not rewritten:
            rewritten.append(True)
            stat = os.stat(path)
            time.sleep(0.01)  # (a ctime tick later)
            path.write_text(new, encoding="utf-8")
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        return data

    monkeypatch.setattr(feeds.read.os, "read", read_then_rewrite)
    result = read_file(str(path), path, OPTIONS)
    assert rewritten and result.post is not None
    assert result.post.title == TITLE_B, "the bytes read before the rewrite were kept"
