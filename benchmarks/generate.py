#!/usr/bin/env python3
"""Generate a synthetic Jekyll site shaped like the finews mirror, for benchmarks.

    python benchmarks/generate.py -n 10000 --out /tmp/corpus [--seed 1]
    python benchmarks/generate.py --add-one --out /tmp/corpus [--seed 1]

The tree looks like the real site (see ../shared/corpus/finews-sample, beside
the repository, and its SOURCE.md): ``_config.yml``, ``_posts/`` (the newest ~80 % of the posts) and
``old_post/`` (the oldest ~20 %), with ~3 % of the articles present in both
folders under different templates, as the real scraper leaves them.

Each post is one of two styles:

* "emnews" — the early short format: a plain digest paragraph, a blank line,
  ``<http://finance.eastmoney.com/news/1354,<id>.html>`` and sometimes a
  footer back to the site;
* "media" — the 2022 format: a ``> `` summary line, a long one-line HTML body
  (``<p>``, ``<span>``, ``<img>``, ``<!-- -->`` comments, ``&lt;`` entities),
  the source link and a ``｜`` footer.

Categories and tags come from a fixed vocabulary of 2,000 names (400
categories, 1,600 tags; mostly Chinese, some ASCII like ``TechWeb``) drawn
with a Zipf law, so a few feeds are huge and most are small. Dates spread
over the 60 days before a FIXED reference date (2026-01-01 +0800), never the
clock. ``-n`` counts distinct articles; the duplicates come on top.

Pure standard library and deterministic: the same ``--seed`` and ``-n`` give a
byte-identical tree (file mtimes are set to each post's date as well).

``--add-one`` adds ONE new post, dated a little after the newest post of an
existing tree, into its ``_posts/``; it prints the new file's path. Each call
adds another one (deterministic for a given tree and seed).
"""

from __future__ import annotations

import argparse
import bisect
import os
import random
import re
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

GENERATOR_VERSION = 1

TZ = timezone(timedelta(hours=8))  # Asia/Shanghai has had no DST since 1991
REFERENCE = datetime(2026, 1, 1, 0, 0, 0, tzinfo=TZ)
SPAN = timedelta(days=60)
SITE = "finews.example.org"

N_CATEGORIES = 400
N_TAGS = 1600
ZIPF_S = 1.1

OLD_SHARE = 0.20  # oldest share of the articles that lives in old_post/
DUP_SHARE = 0.03  # articles that also have a copy in the other folder
MEDIA_SHARE = 0.35  # articles in the 2022 "media" style
NO_OFFSET_SHARE = 0.15  # `date:` without "+0800"
LEADING_BLANK_SHARE = 0.05  # an empty line before the front matter
HUGE_SHARE = 0.015  # media posts with a ~20 KB body

# --- vocabulary ------------------------------------------------------------------

_INDUSTRIES = (
    "新能源 半导体 医药 银行 券商 保险 地产 汽车 光伏 锂电 芯片 白酒 军工 消费 基建 煤炭 钢铁 有色 化工 传媒 "
    "游戏 电力 储能 氢能 风电 数字经济 人工智能 机器人 农业 养殖 物流 航运 港口 旅游 教育 环保 水务 燃气 稀土 黄金 "
    "石油 天然气 通信 云计算 大数据 区块链 元宇宙 创新药 医疗器械 疫苗 跨境电商 免税 零售 家电 纺织 造纸 建材 水泥 "
    "工程机械 电网 特高压 核电 航空 高铁 船舶 算力 光模块 消费电子 智能驾驶 低空经济 卫星互联网 生物育种 猪肉 "
    "乳业 食品饮料 物业 信托 期货 债券 外汇 基金 理财"
).split()
_SUFFIXES = (
    "板块 概念 行业 龙头 动态 快讯 观察 要闻 公告 研报 数据 政策 资金 异动 前瞻 周报 日报 专题 追踪 解读 产业链 "
    "赛道 市场 指数"
).split()
_SYLLABLES = (
    "华 中 国 金 泰 瑞 海 天 安 信 达 恒 宏 鼎 兴 隆 博 通 远 明 新 光 东 南 北 西 长 江 汇 丰 福 康 永 盛 德 "
    "嘉 合 润 创 联 云 星 航 科 智 威 力 景 晨 阳 佳 宇 正 元"
).split()
_COMPANY_SUFFIXES = "科技 股份 集团 控股 电子 药业 能源 材料 实业 智能 生物 重工 传媒 物流 银行 证券".split()
_ASCII_HEADS = "Tech Fin Data Cloud Chip Auto Bio Med Green Smart Quant Macro Trade Market Capital Money Energy Power Net Deal".split()
_ASCII_TAILS = "Web News Daily Watch Wire Insight Times Post Hub Pro".split()
_ASCII_FIXED = "IPO ETF A股 港股 美股 LPR MLF PMI CPI PPI GDP QFII REITs ESG EV SaaS".split()
_MEDIA = (
    "上海证券报 中国证券报 证券时报 证券日报 第一财经 经济参考报 21世纪经济报道 每日经济新闻 财联社 界面新闻 "
    "新京报 经济观察报 中国基金报 券商中国 澎湃新闻 TechWeb 新浪财经 华夏时报"
).split()
_ORGS = "国家统计局 央行 证监会 银保监会 工信部 发改委 商务部 财政部 海关总署 中汽协 乘联会 中指研究院".split()
_INDEXES = "上证指数 深证成指 创业板指 科创50 沪深300 恒生指数 恒生科技指数".split()
_REGULATIONS = "蒙特利尔议定书 巴黎协定 证券法 公司法 期货和衍生品法 数据安全法".split()
_ADVERBS = "今日 午后 早盘 盘中 近日 日前 周三 周五 尾盘 晚间".split()


def _vocabulary() -> tuple[list[str], list[str]]:
    """The category and tag names, most frequent first. Independent of --seed."""
    rng = random.Random(20260101)
    names: list[str] = []
    seen: set[str] = set()

    def add(name: str) -> None:
        key = name.lower()
        if key not in seen:
            seen.add(key)
            names.append(name)

    for a in _INDUSTRIES:
        for b in _SUFFIXES:
            add(a + b)
    for a in _SYLLABLES:
        for b in _SYLLABLES:
            if a != b:
                add(a + b + _COMPANY_SUFFIXES[(len(names) * 7) % len(_COMPANY_SUFFIXES)])
    ascii_names = [h + t for h in _ASCII_HEADS for t in _ASCII_TAILS if h != t] + _ASCII_FIXED
    rng.shuffle(names)
    rng.shuffle(ascii_names)
    pool = names[: N_CATEGORIES + N_TAGS - 120 - 2] + ascii_names[:120]
    rng.shuffle(pool)
    categories = ["emnews"] + pool[: N_CATEGORIES - 1]
    tags = ["东财滚动新闻"] + pool[N_CATEGORIES - 1 : N_CATEGORIES - 1 + N_TAGS - 1]
    assert len(set(n.lower() for n in categories + tags)) == N_CATEGORIES + N_TAGS
    return categories, tags


class Zipf:
    def __init__(self, n: int, s: float = ZIPF_S):
        total = 0.0
        self.cumulative: list[float] = []
        for k in range(1, n + 1):
            total += 1.0 / k**s
            self.cumulative.append(total)
        self.total = total

    def draw(self, rng: random.Random) -> int:
        index = bisect.bisect_left(self.cumulative, rng.random() * self.total)
        return min(index, len(self.cumulative) - 1)


# --- text ---------------------------------------------------------------------------


class Text:
    """Chinese financial-news-like sentences from templates (generated, not copied)."""

    _companies = [a + b + c for a in _SYLLABLES[:20] for b in _SYLLABLES[20:40] for c in _COMPANY_SUFFIXES[:6]]

    def __init__(self, rng: random.Random):
        self.rng = rng

    def pick(self, seq):
        return seq[self.rng.randrange(len(seq))]

    def company(self) -> str:
        return self.pick(self._companies)

    def code(self) -> tuple[str, str]:
        """(display code like 600160.SH, market-prefixed code like 1.600160)."""
        r = self.rng
        kind = r.randrange(3)
        if kind == 0:
            num = f"60{r.randrange(10000):04d}"
            return f"{num}.SH", f"1.{num}"
        if kind == 1:
            num = f"00{r.randrange(4000):04d}"
            return f"{num}.SZ", f"0.{num}"
        num = f"0{r.randrange(10000):04d}"
        return f"{num}.HK", f"116.{num}"

    def pct(self) -> str:
        return f"{self.rng.randrange(1, 3000) / 100:.2f}"

    def sentence(self) -> str:
        r = self.rng
        co, ind = self.company(), self.pick(_INDUSTRIES)
        month, day = r.randrange(1, 13), r.randrange(1, 29)
        t = r.randrange(16)
        if t == 0:
            return f"{co}公告，公司拟投资{r.randrange(2, 300)}亿元建设{ind}项目，建设周期约{r.randrange(12, 48)}个月"
        if t == 1:
            return f"{co}在机构调研时表示，{ind}业务开发进度比预期的要顺利，已经启动下一批次的量产验证"
        if t == 2:
            code, _ = self.code()
            return f"{co}({code}){self.pick(_ADVERBS)}涨幅扩大至{self.pct()}%，现报{r.randrange(2, 400)}.{r.randrange(100):02d}元"
        if t == 3:
            return f"{co}发布业绩预告，预计{r.choice((2025, 2026))}年净利润同比增长{self.pct()}%至{self.pct()}%"
        if t == 4:
            return f"{self.pick(_ORGS)}数据显示，{month}月{ind}产量同比增长{self.pct()}%，环比下降{self.pct()}%"
        if t == 5:
            return f"截至收盘，{self.pick(_INDEXES)}报{r.randrange(2000, 30000)}.{r.randrange(100):02d}点，涨{self.pct()}%"
        if t == 6:
            return f"{co}股东计划在未来{r.randrange(3, 7)}个月内减持不超过{r.randrange(1, 4)}%的公司股份"
        if t == 7:
            return f"{self.pick(_ORGS)}发布通知，将进一步推动{ind}产业高质量发展，加快培育新动能"
        if t == 8:
            return f"{co}与{self.company()}签署战略合作协议，双方将在{ind}领域开展深度合作"
        if t == 9:
            return f"分析人士认为，{ind}行业景气度有望持续提升，龙头企业的市场份额将进一步集中"
        if t == 10:
            return f"{co}表示，公司新一代产品测量精度满足<{r.randrange(1, 5)}%的设计要求，已向{r.randrange(3, 40)}家客户送样"
        if t == 11:
            return f"{month}月{day}日，{co}宣布为{self.company()}提供{ind}解决方案，这标志着双方合作进入新阶段"
        if t == 12:
            return f"北向资金{self.pick(_ADVERBS)}净买入{r.randrange(1, 120)}.{r.randrange(10)}亿元，{ind}板块获主力资金净流入"
        if t == 13:
            return f"{co}回复投资者提问称，公司{ind}相关产品已实现批量供货，产能约{r.randrange(1, 90) * 1000}吨/年"
        if t == 14:
            return f"据业内人士透露，{ind}(含上下游)订单排期已至{r.randrange(1, 13)}月，部分产品价格上涨{self.pct()}%"
        return f"{co}获得{self.pick(_ORGS)}批复，同意其发行不超过{r.randrange(1, 50)}亿元公司债券"

    def paragraph(self, sentences: int) -> str:
        return "。".join(self.sentence() for _ in range(sentences)) + "。"

    def title(self) -> str:
        r = self.rng
        t = r.randrange(8)
        co, ind = self.company(), self.pick(_INDUSTRIES)
        if t == 0:
            code, _ = self.code()
            return f"{co}({code}){self.pick(_ADVERBS)}涨幅扩大至{self.pct()}%"
        if t == 1:
            return f"{co}：{ind}项目进展顺利，预计{r.randrange(1, 13)}月投产"
        if t == 2:
            return f"{self.pick(_ORGS)}：{r.randrange(1, 13)}月{ind}产量同比增长{self.pct()}%"
        if t == 3:
            return f"“{ind}”迎来新机遇！这些公司已提前布局"
        if t == 4:
            return f"{co}拟募资{r.randrange(2, 80)}亿元加码{ind}（附名单）"
        if t == 5:
            return f"{ind}板块午后拉升 {co}涨超{r.randrange(3, 20)}%"
        if t == 6:
            return f"{co}：与{self.company()}签署{ind}合作协议｜公告速递"
        return f"{ind}ETF净流入{r.randrange(1, 30)}.{r.randrange(10)}亿元？机构：关注{r.randrange(2023, 2027)}/{r.randrange(1, 13)}催化"


# --- post bodies ------------------------------------------------------------------------


def _footer(rng: random.Random, media: bool) -> str:
    if media:
        return f"[返回东财滚动新闻](//{SITE}/emnews/)｜[返回首页](//{SITE}/)"
    kind = rng.randrange(10)
    if kind < 3:
        return ""
    if kind < 8:
        return f"[返回东财滚动新闻](//{SITE}/emnews/)\n[返回首页](//{SITE}/)"
    if kind < 9:
        return f"[返回东财滚动新闻](//{SITE}/emnews/)｜[返回首页](//{SITE}/)"
    return "[返回东财滚动新闻](../emnews/)\n[返回首页](../)"


def _emnews_body(text: Text, post_id: str, footer: str) -> str:
    rng = text.rng
    target = int(250 * (6.0 ** rng.random()))  # 250 B .. 1.5 KB of digest
    parts = [text.sentence()]
    size = len(parts[0].encode())
    while size < target:
        parts.append(text.sentence())
        size += len(parts[-1].encode()) + 3
    paragraph = "，".join(parts) + "。"
    if rng.random() < 0.02:
        paragraph += " "  # a trailing space, as in the real data
    column = "finance.eastmoney.com/news/1354" if rng.random() < 0.85 else "hk.eastmoney.com/news/11223"
    body = f"\n{paragraph}\n\n<http://{column},{post_id}.html>"
    if footer:
        body += "\n\n" + footer
    return body


def _span_stock(text: Text, name: str, common: bool) -> str:
    _, mcode = text.code()
    market, num = mcode.split(".")
    url = f"http://quote.eastmoney.com/unify/r/{mcode}"
    if common:
        return f'<span web="1" href="{url}" class="em_stock_key_common" data-code="{market},{num}">{name}</span>'
    return (
        f'<span id="stock_{mcode}"><a href="{url}" class="keytip" data-code="{market},{num}">{name}</a></span>'
        f'<span id="quote_{mcode}"></span>'
    )


def _media_paragraph(text: Text) -> str:
    rng = text.rng
    t = rng.randrange(10)
    if t == 0:
        digits = "".join(str(rng.randrange(10)) for _ in range(20))
        w, h = rng.randrange(400, 1200), rng.randrange(150, 900)
        return (
            f'<center><img src="https://dfscdn.dfcfw.com/download/D{digits}_w{w}h{h}.jpg" alt="Image" width="552" '
            f'style="border:#d1d1d1 1px solid;padding:3px;margin:5px 0;" /></center>'
            f'<p style="text-align:center;">图片来源：{text.company()}官网</p>'
        )
    if t == 1:
        return f"<p><strong>{text.pick(_INDUSTRIES)}{text.pick(_SUFFIXES)}：{text.title()}</strong></p>"
    if t == 2:
        reg = text.pick(_REGULATIONS)
        return (
            f"<p>据了解，《&lt;{reg}&gt;修正案》已于{rng.randrange(2019, 2026)}年{rng.randrange(1, 13)}月正式生效。"
            f"{text.paragraph(rng.randrange(1, 3))}</p>"
        )
    sentences = []
    for _ in range(rng.randrange(2, 5)):
        s = text.sentence()
        if rng.random() < 0.4:
            name = text.company()
            s = f"{_span_stock(text, name, rng.random() < 0.5)}{s[len(name):] if s.startswith(name) else '、' + s}"
        sentences.append(s)
    return "<p>" + "。".join(sentences) + "。</p>"


def _media_body(text: Text, post_id: str, footer: str) -> tuple[str, str]:
    """(summary line, body). The body is one long line of HTML."""
    rng = text.rng
    if rng.random() < HUGE_SHARE:
        target = rng.randrange(18000, 22000)
    else:
        target = int(1000 * (2.6 ** rng.random()))  # ~1 KB .. 2.6 KB of HTML
    summary = text.paragraph(rng.randrange(1, 3)) + f"（{text.pick(_MEDIA)}）"
    name = text.company()
    _, mcode = text.code()
    head = (
        '<p style="display:none;height:1px;overflow:hidden;"><br /></p><!-- EM_StockImg_Start -->'
        f'<p style="text-align:center;"><a href="http://quote.eastmoney.com/unify/r/{mcode}" class="EmImageRemark" '
        f'target="_blank"><img src="https://webquoteklinepic.eastmoney.com/GetPic.aspx?nid={mcode}&imageType=k" '
        f'border="0" alt="K图 {mcode}" style="border:#d1d1d1 1px solid;" width="578" height="276" /></a></p>'
        f"<!-- EM_StockImg_End --><p>{_span_stock(text, name, False)}{text.sentence()}！<br /></p>"
    )
    parts = [head]
    size = len(head.encode())
    while size < target:
        parts.append(_media_paragraph(text))
        size += len(parts[-1].encode())
    media = text.pick(_MEDIA)
    parts.append(f'<p class="em_media">（文章来源：{media}）</p>')
    body = f"> {summary}\n\n{''.join(parts)}\n\n<http://finance.eastmoney.com/a/{post_id}.html>"
    if footer:
        body += "\n\n" + footer
    return summary, body


def _front_matter(title: str, when: datetime, offset: bool, category: str, tags: list[str], blank: bool) -> str:
    stamp = when.strftime("%Y-%m-%d %H:%M:%S") + (" +0800" if offset else "")
    return (
        ("\n" if blank else "")
        + f'---\nlayout: post\ntitle: "{title}"\ndate: {stamp}\ncategories: {category}\ntags: {" ".join(tags)}\n---\n'
    )


class Article:
    __slots__ = ("when", "post_id", "title", "category", "tags", "media", "seed")

    def __init__(self, when, post_id, title, category, tags, media, seed):
        self.when, self.post_id, self.title = when, post_id, title
        self.category, self.tags, self.media, self.seed = category, tags, media, seed

    @property
    def filename(self) -> str:
        return f"{self.when.strftime('%Y-%m-%d')}-{self.post_id}.md"

    def render(self, variant: int) -> str:
        """The file text. ``variant`` 0 is the main copy; 1 a duplicate with another template."""
        rng = random.Random(self.seed)  # the body does not depend on the variant
        text = Text(rng)
        offset = rng.random() >= NO_OFFSET_SHARE
        blank = rng.random() < LEADING_BLANK_SHARE
        footer = _footer(rng, self.media)
        if variant:
            offset, blank = not offset, False
            footer = "" if footer else f"[返回东财滚动新闻](//{SITE}/emnews/)\n[返回首页](//{SITE}/)"
        if self.media:
            _summary, body = _media_body(text, self.post_id, footer)
        else:
            body = _emnews_body(text, self.post_id, footer)
        return _front_matter(self.title, self.when, offset, self.category, self.tags, blank) + body


class Drawer:
    def __init__(self):
        self.categories, self.tags = _vocabulary()
        self.cat_zipf, self.tag_zipf = Zipf(len(self.categories)), Zipf(len(self.tags))

    def article(self, rng: random.Random, when: datetime, counter: int) -> Article:
        post_id = f"{when.strftime('%Y%m%d')}{counter:010d}"
        category = self.categories[self.cat_zipf.draw(rng)]
        tags = [self.tags[self.tag_zipf.draw(rng)]]
        if rng.random() < 0.4:
            extra = self.tags[self.tag_zipf.draw(rng)]
            if extra != tags[0]:
                tags.append(extra)
        media = rng.random() < MEDIA_SHARE
        title = Text(rng).title()
        return Article(when, post_id, title, category, tags, media, rng.getrandbits(64))


def _write(path: Path, data: str, when: datetime) -> None:
    path.write_bytes(data.encode("utf-8"))
    stamp = when.timestamp()
    os.utime(path, (stamp, stamp))


CONFIG = f"""lang: zh-CN
title: 金融消息（基准测试）
url: https://{SITE}
timezone: Asia/Shanghai
author: Benchmark
plugins:
  - jekyll-feed
"""


def generate(n: int, out: Path, seed: int = 1) -> dict:
    """Write the tree; return counts."""
    rng = random.Random(seed)
    drawer = Drawer()
    span = int(SPAN.total_seconds())
    start = REFERENCE - SPAN
    offsets = sorted(rng.randrange(span) for _ in range(n))
    counter = 2_206_700_000
    articles = []
    for off in offsets:
        counter += rng.randrange(1, 5000)
        articles.append(drawer.article(rng, start + timedelta(seconds=off), counter))
    n_old = int(round(n * OLD_SHARE))
    dup = sorted(rng.sample(range(n), int(round(n * DUP_SHARE)))) if n else []

    out.mkdir(parents=True, exist_ok=True)
    (out / "_posts").mkdir(exist_ok=True)
    (out / "old_post").mkdir(exist_ok=True)
    (out / "_config.yml").write_text(CONFIG, encoding="utf-8")
    os.utime(out / "_config.yml", (REFERENCE.timestamp(),) * 2)
    total_bytes = 0
    for i, art in enumerate(articles):
        folder = "old_post" if i < n_old else "_posts"
        data = art.render(0)
        total_bytes += len(data.encode())
        _write(out / folder / art.filename, data, art.when)
    for i in dup:
        art = articles[i]
        folder = "_posts" if i < n_old else "old_post"
        data = art.render(1)
        total_bytes += len(data.encode())
        _write(out / folder / art.filename, data, art.when)
    return {"articles": n, "files": n + len(dup), "duplicates": len(dup), "bytes": total_bytes}


_NAME = re.compile(r"(\d{4})-(\d{2})-(\d{2})-(\d{8})(\d{10})\.md\Z")
_DATE_LINE = re.compile(r"^date:\s*(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})", re.M)


def add_one(out: Path, seed: int = 1) -> Path:
    """Add one post dated just after the newest post of the tree (ids grow with time)."""
    newest = None
    for folder in ("_posts", "old_post"):
        directory = out / folder
        if not directory.is_dir():
            continue
        for entry in os.scandir(directory):
            m = _NAME.match(entry.name)
            if m and (newest is None or m.group(4) + m.group(5) > newest[0]):
                newest = (m.group(4) + m.group(5), Path(entry.path))
    if newest is None:
        raise SystemExit(f"generate.py: no generated posts under {out}")
    top_id, top_path = newest
    m = _DATE_LINE.search(top_path.read_text(encoding="utf-8"))
    last = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=TZ) if m else REFERENCE
    rng = random.Random(seed * 1_000_003 + int(top_id))
    when = last + timedelta(seconds=rng.randrange(30, 300))
    counter = int(top_id[8:]) + rng.randrange(1, 5000)
    art = Drawer().article(rng, when, counter)
    path = out / "_posts" / art.filename
    (out / "_posts").mkdir(exist_ok=True)
    _write(path, art.render(0), art.when)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=1000, help="distinct articles (default 1000)")
    parser.add_argument("--out", type=Path, required=True, help="site directory to write")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--add-one", action="store_true", help="add one new post to an existing tree")
    parser.add_argument("--force", action="store_true", help="write into a non-empty directory")
    args = parser.parse_args(argv)
    if args.add_one:
        print(add_one(args.out, args.seed))
        return 0
    if args.out.exists() and any(args.out.iterdir()) and not args.force:
        parser.error(f"{args.out} is not empty (use --force, or a new directory)")
    started = time.perf_counter()
    counts = generate(args.n, args.out, args.seed)
    seconds = time.perf_counter() - started
    print(
        f"generate.py: {counts['articles']} articles, {counts['files']} files "
        f"({counts['duplicates']} duplicates), {counts['bytes'] / 1e6:.1f} MB in {args.out} ({seconds:.1f} s)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
