#!/usr/bin/env python3
"""Benchmark `feeds build` on generated finews-like sites (and Hugo, if installed).

    .venv/bin/python benchmarks/run.py                      # 1000, 10000, 50000 posts
    .venv/bin/python benchmarks/run.py --sizes 1000,10000 --feeds-args="--jobs 4"

For each size N: generate the site (cached under benchmarks/.data/), copy it
(hard links) into a temporary work directory, then run the CLI in a subprocess:

  cold        empty output directory, no cache
  no-change   the same build again
  one-new     after adding one new post (generate.py --add-one)

and, when `hugo` is on PATH, `hugo --quiet` on a Hugo site made from the same
posts (cold). Each run reports wall seconds, posts per second, the peak RSS of
the child and the number of files written. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import generate  # noqa: E402  (benchmarks/generate.py)

DATA = HERE / ".data"
SITE_URL = f"https://{generate.SITE}"
SOURCES = ("_posts", "old_post")  # _posts first: it wins over old_post, like the real site
GNU_TIME = "/usr/bin/time"


# --- measuring one run ------------------------------------------------------------------


def warm(*roots: Path) -> None:
    """Read every file under ``roots``, so that a run finds them in the page cache.

    Some virtual machines hand idle page cache back to the host within a
    minute: a cold build then reads its posts from the virtual disk (on this
    machine 3 s more at 50,000 posts), and the numbers depend on how long
    ago the files were last touched. Both tools get the same treatment.
    """
    for root in roots:
        if root.is_file():
            root.read_bytes()
            continue
        for folder, _dirs, files in os.walk(root):
            for name in files:
                try:
                    with open(os.path.join(folder, name), "rb") as handle:
                        while handle.read(1 << 20):
                            pass
                except OSError:
                    pass


@dataclass
class Run:
    label: str
    wall: float
    rss_kb: int | None  # peak RSS of the largest single process (GNU time / VmHWM)
    tree_kb: int | None  # peak of the summed RSS of all processes of the run (sampled)
    written: int  # files under the output directory that are new or whose mtime/inode changed
    files: int  # files under the output directory afterwards
    rc: int
    pss_kb: int | None = None  # peak of the summed PSS of those processes (sampled): memory really used
    hidden: int = 0  # of the written files, those with a dot-name (or in a dot-directory)
    stderr: str = ""


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """relative path -> (inode, mtime_ns) of every file under root."""
    found: dict[str, tuple[int, int]] = {}
    if not root.is_dir():
        return found
    stack = [str(root)]
    prefix = len(str(root)) + 1
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                else:
                    st = entry.stat(follow_symlinks=False)
                    found[entry.path[prefix:]] = (st.st_ino, st.st_mtime_ns)
    return found


def _status_kb(pid: int, key: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status", "rb") as handle:
            for line in handle:
                if line.startswith(key.encode()):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _pss_kb(pid: int) -> int | None:
    """A process's proportional set size: its pages, each shared page divided among its sharers."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
            for line in handle:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _descendants(pid: int) -> list[int]:
    result, todo = [], [pid]
    while todo:
        current = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{current}/task/{tid}/children") as handle:
                    kids = [int(k) for k in handle.read().split()]
            except OSError:
                kids = []
            result.extend(kids)
            todo.extend(kids)
    return result


def measure(label: str, cmd: list[str], cwd: Path, out: Path, env: dict | None = None, sample: bool = True) -> Run:
    """Run cmd once; wall time, peak RSS, files written under out.

    With ``sample``, the summed memory of the run's processes is sampled from
    /proc while it runs: that costs CPU the run then lacks (about a tenth of a
    cold build's wall time on 2 cores), so timed runs are not sampled (see
    timed_and_sampled()). rc is the exit status, or 99 when the child exited 1
    with a Python traceback."""
    before = snapshot(out)
    use_time = os.access(GNU_TIME, os.X_OK)
    with tempfile.TemporaryDirectory(prefix="feeds-bench-m-") as tmp:
        time_file = Path(tmp, "time.txt")
        err_file = Path(tmp, "stderr.txt")
        full = [GNU_TIME, "-v", "-o", str(time_file), *cmd] if use_time else cmd
        tree_peak = pss_peak = 0
        hwm = None
        samples = 0
        with open(err_file, "wb") as err:
            started = time.perf_counter()
            proc = subprocess.Popen(full, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=err)
            while sample and proc.poll() is None:
                pids = _descendants(proc.pid) if use_time else [proc.pid, *_descendants(proc.pid)]
                total = sum(_status_kb(p, "VmRSS:") or 0 for p in pids)
                tree_peak = max(tree_peak, total)
                if samples % 5 == 0:  # every 0.1 s: reading smaps walks the page tables
                    pss_peak = max(pss_peak, sum(_pss_kb(p) or 0 for p in pids))
                samples += 1
                if not use_time:
                    hwm = _status_kb(proc.pid, "VmHWM:") or hwm
                time.sleep(0.02)
            proc.wait()
            wall = time.perf_counter() - started
        rc = proc.returncode
        rss = hwm
        if use_time and time_file.exists():
            m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", time_file.read_text())
            rss = int(m.group(1)) if m else None
            m = re.search(r"Exit status: (\d+)", time_file.read_text())
            if m:
                rc = int(m.group(1))
        stderr = err_file.read_text(errors="replace")
    if rc == 1 and "Traceback" in stderr:
        rc = 99  # a crash, not "some posts skipped"
    after = snapshot(out)
    changed = [rel for rel, sig in after.items() if before.get(rel) != sig]
    hidden = sum(1 for rel in changed if any(part.startswith(".") for part in rel.split(os.sep)))
    return Run(label, wall, rss, tree_peak or None, len(changed), len(after), rc, pss_peak or None, stderr=stderr,
               hidden=hidden)


def timed_and_sampled(timed: list[Run], sampled: Run | None) -> Run:
    """The timed runs' median wall time, written count and exit status, with the
    memory sampled in a run of its own (the worst RSS of all of them)."""
    r = best_of(timed)
    if sampled is None:
        return r
    rss = [x for x in (r.rss_kb, sampled.rss_kb) if x]
    return Run(
        r.label, r.wall, max(rss) if rss else None, sampled.tree_kb, r.written, r.files,
        max(r.rc, sampled.rc), sampled.pss_kb, stderr=r.stderr, hidden=r.hidden,
    )


def best_of(runs: list[Run]) -> Run:
    """The median wall time; the worst RSS; the written count of the last run."""
    if len(runs) == 1:
        return runs[0]
    walls = [r.wall for r in runs]
    last = runs[-1]
    rss = [r.rss_kb for r in runs if r.rss_kb]
    tree = [r.tree_kb for r in runs if r.tree_kb]
    pss = [r.pss_kb for r in runs if r.pss_kb]
    return Run(
        last.label, statistics.median(walls), max(rss) if rss else None, max(tree) if tree else None,
        last.written, last.files, max(r.rc for r in runs), max(pss) if pss else None, stderr=last.stderr,
        hidden=last.hidden,
    )


# --- corpora ------------------------------------------------------------------------------


def generator_stamp() -> str:
    return hashlib.sha256((HERE / "generate.py").read_bytes()).hexdigest()[:16]


def ensure_corpus(n: int, seed: int) -> tuple[Path, float | None, dict]:
    """The cached corpus for (n, seed); (path, seconds spent generating or None, counts)."""
    root = DATA / f"n{n}-s{seed}"
    stamp = root / "stamp.json"
    corpus = root / "site"
    if stamp.is_file():
        info = json.loads(stamp.read_text())
        if info.get("generator") == generator_stamp():
            return corpus, None, info["counts"]
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    started = time.perf_counter()
    counts = generate.generate(n, corpus, seed)
    seconds = time.perf_counter() - started
    stamp.write_text(json.dumps({"generator": generator_stamp(), "counts": counts, "seconds": seconds}))
    return corpus, seconds, counts


def link_tree(src: Path, dst: Path) -> None:
    """Copy a tree with hard links (a copy when linking fails). generate.py --add-one only adds files."""
    for root, dirs, files in os.walk(src):
        target = dst / os.path.relpath(root, src)
        target.mkdir(parents=True, exist_ok=True)
        for name in files:
            try:
                os.link(os.path.join(root, name), target / name)
            except OSError:
                shutil.copy2(os.path.join(root, name), target / name)


# --- Hugo ----------------------------------------------------------------------------------

HUGO_CONFIG = """baseURL = "{url}/"
title = "金融消息（基准测试）"
languageCode = "zh-cn"
hasCJKLanguage = true
timeZone = "Asia/Shanghai"
rssLimit = 20
buildFuture = {future}
disableKinds = ["sitemap", "robotsTXT", "404"]

[taxonomies]
category = "categories"
tag = "tags"

# RSS only: there is no theme, so no HTML templates.
[outputs]
home = ["RSS"]
section = ["RSS"]
taxonomy = ["RSS"]
term = ["RSS"]
page = []

[markup.goldmark.renderer]
unsafe = true
"""

_FM_NAMES = re.compile(r"^(categories|tags):[ \t]*(.*)$", re.M)
_FM_DATE = re.compile(r"^date:[ \t]*(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:[ \t]+\+0800)?[ \t]*$", re.M)


def hugo_text(text: str, fix_dates: bool) -> str:
    """A post's text for Hugo: space-separated categories/tags as a YAML list
    (Hugo does not split them as Jekyll does); dates in RFC 3339 only if Hugo
    cannot read the Jekyll form. The body is left alone."""
    start = text.find("---")
    end = text.find("\n---", start + 3)
    if start < 0 or end < 0:
        return text
    head = text[start:end]
    head = _FM_NAMES.sub(lambda m: f"{m.group(1)}: {json.dumps(m.group(2).split(), ensure_ascii=False)}", head)
    if fix_dates:
        head = _FM_DATE.sub(lambda m: f"date: {m.group(1)}T{m.group(2)}+08:00", head)
    return text[:start] + head + text[end:]


def hugo_version(hugo: str) -> str:
    try:
        return subprocess.run([hugo, "version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        return f"unknown ({exc})"


def hugo_reads_jekyll_dates(hugo: str, future: bool) -> bool:
    """Does Hugo read `2022-06-01 16:03:57 +0800` and `2022-06-01 10:00:00` (in timeZone) right?"""
    with tempfile.TemporaryDirectory(prefix="feeds-bench-hugo-probe-") as tmp:
        site = Path(tmp)
        (site / "config.toml").write_text(HUGO_CONFIG.format(url=SITE_URL, future=str(future).lower()), encoding="utf-8")
        posts = site / "content" / "posts"
        posts.mkdir(parents=True)
        (posts / "a.md").write_text('---\ntitle: "a"\ndate: 2022-06-01 16:03:57 +0800\ntags: [x]\n---\n\nA', encoding="utf-8")
        (posts / "b.md").write_text('---\ntitle: "b"\ndate: 2022-06-02 10:00:00\ntags: [x]\n---\n\nB', encoding="utf-8")
        proc = subprocess.run([hugo, "--quiet", "--cacheDir", str(site / "cache")], cwd=site, capture_output=True, text=True)
        index = site / "public" / "index.xml"
        if proc.returncode or not index.is_file():
            return False
        xml = index.read_text(encoding="utf-8")
        return "Wed, 01 Jun 2022 16:03:57 +0800" in xml and "Thu, 02 Jun 2022 10:00:00 +0800" in xml


def make_hugo_site(corpus: Path, site: Path, fix_dates: bool, future: bool) -> int:
    """Hugo site with the posts of corpus in content/posts (one copy per file name,
    _posts first, as feeds keeps the first of two copies). Returns the post count."""
    posts = site / "content" / "posts"
    posts.mkdir(parents=True)
    (site / "config.toml").write_text(HUGO_CONFIG.format(url=SITE_URL, future=str(future).lower()), encoding="utf-8")
    seen: set[str] = set()
    for folder in SOURCES:
        for entry in sorted(os.scandir(corpus / folder), key=lambda e: e.name):
            if not entry.name.endswith(".md") or entry.name in seen:
                continue
            seen.add(entry.name)
            text = Path(entry.path).read_text(encoding="utf-8")
            (posts / entry.name).write_text(hugo_text(text, fix_dates), encoding="utf-8")
    return len(seen)


# --- the machine --------------------------------------------------------------------------


def machine(feeds_cmd: list[str], hugo: str | None) -> dict:
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8", errors="replace"):
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    feeds_version = subprocess.run([*feeds_cmd, "--version"], capture_output=True, text=True).stdout.strip()
    python = _feeds_python(feeds_cmd)
    py_version = (
        subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True, text=True).stdout.strip()
        if python
        else platform.python_version()
    )
    startup = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([*feeds_cmd, "--version"], capture_output=True)
        startup.append(time.perf_counter() - started)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "ram": ram,
        "os": platform.platform(),
        "python": py_version,
        "feeds": feeds_version or "unknown",
        "feeds_startup_s": min(startup),
        "hugo": hugo_version(hugo) if hugo else "not used",
    }


def _feeds_python(feeds_cmd: list[str]) -> str | None:
    """The interpreter of a console script (its #! line), if we can tell."""
    exe = shutil.which(feeds_cmd[0])
    if not exe:
        return None
    try:
        with open(exe, "rb") as handle:
            first = handle.readline().decode(errors="replace").strip()
    except OSError:
        return None
    if first.startswith("#!") and "python" in first:
        return first[2:].strip().split()[0]
    return None


def compile_bytecode(feeds_cmd: list[str], log) -> None:
    """Compile the feeds package's bytecode, as `pip install` does.

    An editable install under PYTHONDONTWRITEBYTECODE=1 would otherwise
    compile every module from source on every run (about 0.05 s each time).
    """
    python = _feeds_python(feeds_cmd)
    if not python:
        return
    found = subprocess.run(
        [python, "-c", "import feeds, os; print(os.path.dirname(feeds.__file__))"], capture_output=True, text=True
    )
    package = found.stdout.strip()
    if found.returncode == 0 and package:
        subprocess.run([python, "-m", "compileall", "-q", package], capture_output=True)
        log(f"compiled the bytecode of {package}")


def default_feeds() -> str:
    sibling = Path(sys.executable).parent / "feeds"
    if sibling.exists():
        return str(sibling)
    return shutil.which("feeds") or "feeds"


# --- the benchmark ------------------------------------------------------------------------


@dataclass
class SizeResult:
    n: int
    files: int
    bytes: int
    generate_s: float | None
    runs: list[Run] = field(default_factory=list)
    hugo_prep_s: float | None = None
    hugo_posts: int | None = None
    notes: list[str] = field(default_factory=list)


def cache_paths(feeds_args: list[str], site: Path) -> list[Path]:
    """Paths named by --cache in the extra feeds arguments."""
    found = []
    for i, arg in enumerate(feeds_args):
        if arg == "--cache" and i + 1 < len(feeds_args):
            found.append(feeds_args[i + 1])
        elif arg.startswith("--cache="):
            found.append(arg.split("=", 1)[1])
    return [(site / p) if not os.path.isabs(p) else Path(p) for p in found]


class SetAside:
    """Moves outputs and caches out of the way between runs, deleting nothing until the end.

    Deleting thousands of files just before a cold run makes that run slower
    than any cold build a user sees: ext4 skips recently freed inodes when it
    allocates new ones (its "recently deleted" check), so every file the run
    creates costs a scan. A rename frees nothing. Both feeds and Hugo get
    this treatment; everything set aside is deleted after all runs.
    """

    def __init__(self, root: Path):
        self.root = root
        self.count = 0

    def __call__(self, path: Path) -> None:
        if not (path.exists() or path.is_symlink()):
            return
        self.root.mkdir(exist_ok=True)
        self.count += 1
        try:
            os.replace(path, self.root / f"{self.count}-{path.name}")
        except OSError:  # e.g. a --cache on another file system: delete it after all
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()


def bench_size(n: int, args, feeds_cmd: list[str], feeds_args: list[str], hugo: str | None, future: bool,
               hugo_fix_dates: bool | None, log, work_dirs: list[Path]) -> SizeResult:
    corpus, gen_s, counts = ensure_corpus(n, args.seed)
    if gen_s is not None:
        log(f"[{n}] generated {counts['files']} files, {counts['bytes'] / 1e6:.1f} MB in {gen_s:.1f} s -> {corpus}")
    else:
        log(f"[{n}] using cached corpus {corpus}")
    result = SizeResult(n, counts["files"], counts["bytes"], gen_s)
    work = Path(tempfile.mkdtemp(prefix=f"feeds-bench-{n}-", dir=args.workdir))
    work_dirs.append(work)
    set_aside = SetAside(work / "set-aside")
    try:
        site, out = work / "site", work / "out"
        link_tree(corpus, site)
        original = {p.name for p in site.iterdir()}
        env = dict(os.environ, XDG_CACHE_HOME=str(work / "xdg-cache"))
        cmd = [
            *feeds_cmd, "build", *SOURCES, "--out", str(out), "--site-url", SITE_URL,
            "--limit", "20", "--timezone", "Asia/Shanghai", "--quiet",
            *(["--future"] if future else []), *feeds_args,
        ]
        log(f"[{n}] {shlex.join(cmd)}  (cwd {site})")

        def clear_caches() -> None:
            # OUT, and whatever a build left beside it (feeds' default cache lives
            # beside --out), including XDG_CACHE_HOME
            for p in work.iterdir():
                if p.name not in ("site", "set-aside"):
                    set_aside(p)
            for p in cache_paths(feeds_args, site):
                for extra in ("", "-wal", "-shm", "-journal"):
                    set_aside(Path(str(p) + extra))
            for p in site.iterdir():  # anything a build left beside the sources (a default cache?)
                if p.name not in original:
                    set_aside(p)

        def repeated(label: str, prepare, run_one) -> Run:
            """--repeat timed runs of ``run_one(sample=False)``, each after ``prepare()``,
            then one whose memory is sampled (unless --no-memory); stops at a failure."""
            runs: list[Run] = []
            sampled = None
            for attempt in range(args.repeat + (0 if args.no_memory else 1)):
                prepare()
                r = run_one(sample=attempt == args.repeat)
                if attempt < args.repeat:
                    runs.append(r)
                    log(f"[{n}] {label}: {r.wall:.2f} s, rc {r.rc}, {r.written} written")
                else:
                    sampled = r
                    log(f"[{n}] {label} (memory sampled): {r.wall:.2f} s, rc {r.rc}")
                if r.rc not in (0, 1):
                    break
            return timed_and_sampled(runs, sampled) if runs else sampled

        def phase(label: str, prepare) -> bool:
            def ready() -> None:
                prepare()
                if not args.no_warm:
                    # the posts, and what feeds keeps between runs (OUT, its cache)
                    warm(*(p for p in work.iterdir() if p.name not in ("set-aside", "hugo", "hugo-cache")))

            r = repeated(label, ready, lambda sample: measure(label, cmd, site, out, env, sample=sample))
            result.runs.append(r)
            if r.rc == 1:
                result.notes.append(f"feeds {label}: exit 1 (some posts skipped): {r.stderr.strip()[:300]}")
            if r.rc not in (0, 1):
                result.notes.append(f"feeds {label}: exit {r.rc}: {r.stderr.strip()[-800:]}")
                return False
            return True

        ok = phase("feeds cold", clear_caches)
        ok = ok and phase("feeds no-change", lambda: None)
        if ok:
            phase("feeds one-new", lambda: generate.add_one(site, args.seed))

        if hugo:
            hsite = work / "hugo"
            started = time.perf_counter()
            result.hugo_posts = make_hugo_site(corpus, hsite, bool(hugo_fix_dates), future)
            result.hugo_prep_s = time.perf_counter() - started
            hcache = work / "hugo-cache"
            hcmd = [hugo, "--quiet", "--cacheDir", str(hcache)]

            def hugo_clear() -> None:
                set_aside(hsite / "public")
                set_aside(hsite / "resources")
                set_aside(hcache)

            def hugo_ready() -> None:
                hugo_clear()
                if not args.no_warm:
                    warm(hsite)

            r = repeated(
                "hugo cold", hugo_ready, lambda sample: measure("hugo cold", hcmd, hsite, hsite / "public", sample=sample)
            )
            result.runs.append(r)
            if r.rc:
                result.notes.append(f"hugo: exit {r.rc}: {r.stderr.strip()[-800:]}")
    finally:
        if args.keep:
            log(f"[{n}] kept {work}")
    return result


def mb(kb: int | None) -> str:
    return f"{kb / 1024:.0f}" if kb else "-"


def table(results: list[SizeResult]) -> str:
    head = f"{'posts':>7} {'files':>7}  {'run':<16} {'wall s':>8} {'posts/s':>9} {'peak RSS MB':>11} {'tree RSS MB':>11} {'tree PSS MB':>11} {'written':>8} {'hidden':>6} {'out files':>9} {'rc':>3}"
    lines = [head, "-" * len(head)]
    for res in results:
        for r in res.runs:
            rate = res.n / r.wall if r.wall > 0 else 0
            lines.append(
                f"{res.n:>7} {res.files:>7}  {r.label:<16} {r.wall:>8.2f} {rate:>9.0f} {mb(r.rss_kb):>11} "
                f"{mb(r.tree_kb):>11} {mb(r.pss_kb):>11} {r.written:>8} {r.hidden:>6} {r.files:>9} {r.rc:>3}"
            )
        by = {r.label: r for r in res.runs}
        if "feeds cold" in by and "hugo cold" in by and by["hugo cold"].rc == 0 and by["hugo cold"].wall > 0:
            ratio = by["feeds cold"].wall / by["hugo cold"].wall
            lines.append(f"{'':>17}feeds/hugo (cold wall): {ratio:.2f}x")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # allow `--feeds-args "--jobs 4"` (argparse would take "--jobs 4" for an option)
    for i, arg in enumerate(argv[:-1]):
        if arg == "--feeds-args":
            argv[i : i + 2] = [f"--feeds-args={argv[i + 1]}"]
            break
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,50000", help="comma-separated post counts (default 1000,10000,50000)")
    parser.add_argument("--feeds-args", default="", help='extra flags for `feeds build`, e.g. --feeds-args="--jobs 4 --no-cache"')
    parser.add_argument("--feeds", default=None, help="the feeds executable (default: next to this Python, else on PATH)")
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement; the median wall time is shown (default 1)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary work directories (printed)")
    parser.add_argument("--no-hugo", action="store_true", help="do not compare with Hugo even if it is installed")
    parser.add_argument("--no-warm", action="store_true",
                        help="do not read the inputs into the page cache before each run (see warm())")
    parser.add_argument("--no-memory", action="store_true",
                        help="skip the extra run of each measurement whose summed memory (tree RSS/PSS) is sampled")
    parser.add_argument("--workdir", default=None, help="parent of the temporary work directories (default: the system temp dir)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results as JSON to this file")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.replace(" ", "").split(",") if s]
    args.repeat = max(1, args.repeat)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    feeds_cmd = [args.feeds or default_feeds()]
    if not shutil.which(feeds_cmd[0]):
        parser.error(f"cannot find the feeds executable {feeds_cmd[0]!r}; pass --feeds")
    feeds_args = shlex.split(args.feeds_args)
    # The corpus is dated before 2026-01-01; were the clock earlier, every post would be "future".
    future = datetime.now(timezone.utc) < generate.REFERENCE
    hugo = None if args.no_hugo else shutil.which("hugo")
    hugo_fix_dates = None
    if hugo:
        hugo_fix_dates = not hugo_reads_jekyll_dates(hugo, future)
    compile_bytecode(feeds_cmd, log)
    info = machine(feeds_cmd, hugo)

    results = []
    work_dirs: list[Path] = []  # deleted after the last run (see SetAside)
    started = time.perf_counter()
    try:
        for n in sizes:
            results.append(bench_size(n, args, feeds_cmd, feeds_args, hugo, future, hugo_fix_dates, log, work_dirs))
    finally:
        if not args.keep:
            for work in work_dirs:
                shutil.rmtree(work, ignore_errors=True)
    total = time.perf_counter() - started

    print()
    print(f"machine: {info['cpu']}, {info['cores']} cores ({info['usable_cores']} usable), {info['ram']} RAM, {info['os']}")
    print(f"feeds:   {info['feeds']} on Python {info['python']} (startup `feeds --version`: {info['feeds_startup_s']:.2f} s)")
    print(f"command: feeds build {' '.join(SOURCES)} --out OUT --site-url {SITE_URL} --limit 20 --timezone Asia/Shanghai --quiet"
          + (" --future" if future else "") + (f" {args.feeds_args}" if args.feeds_args else ""))
    if hugo:
        print(f"hugo:    {info['hugo']}")
        print("         dates: " + ("Hugo did not read `YYYY-MM-DD HH:MM:SS +0800`; its copy has RFC 3339 dates"
                                    if hugo_fix_dates else "Hugo reads the Jekyll dates as they are")
              + "; its copy has categories/tags as YAML lists")
    else:
        print("hugo:    " + ("skipped (--no-hugo)" if args.no_hugo else "not on PATH (apt-get install hugo)"))
    print(f"repeat:  {args.repeat} (median wall; worst RSS)"
          + ("" if args.no_memory else "; tree RSS/PSS sampled in one more run, not timed"))
    print("page cache: " + ("as found (--no-warm)" if args.no_warm else "inputs read just before each run"))
    print()
    print(table(results), end="")
    for res in results:
        gen = f"generated in {res.generate_s:.1f} s" if res.generate_s is not None else "cached corpus"
        extra = f"; hugo site prepared in {res.hugo_prep_s:.1f} s ({res.hugo_posts} posts)" if res.hugo_prep_s is not None else ""
        print(f"{res.n:>7} posts: {res.files} files, {res.bytes / 1e6:.1f} MB, {gen}{extra}")
        for note in res.notes:
            print(f"         note: {note}")
    print(f"total benchmark time: {total:.0f} s")
    if args.json:
        args.json.write_text(
            json.dumps({"machine": info, "feeds_args": args.feeds_args, "results": [asdict(r) for r in results]},
                       ensure_ascii=False, indent=2),
            encoding="utf-8",
        )
    failed = any(r.rc not in (0, 1) for res in results for r in res.runs)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
