"""The embedded sample pool: a deterministic, realistic raw web pool in DCLM's raw-pool JSONL format.

Why: ``dclm demo`` must run end to end offline without committing third-party text, and every DCLM step
(heuristic filters, line modifiers, banlists, language ID, exact and fuzzy dedup) needs pages it should keep
and pages it should drop. Each page records its ``sample_kind`` in ``metadata`` so a run can be scored
against what was planted: about half the pages are good English articles, the rest are boilerplate, spam,
repetition, very short pages, non-English pages, symbol noise and exact / near duplicates of good pages.

Determinism: the page plan (which kind sits at which position, which good page a duplicate copies) comes from
one RNG seeded by ``spec.seed``; every page then has its own RNG seeded by ``(seed, kind, ordinal)``, so the
same spec yields byte-identical shards in any process, and pages can be produced as a stream.
"""

from __future__ import annotations

import random
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from itertools import islice
from typing import Any

from dclm_resources.pools.sample_english import Article, english_sentence, good_article, site_url, town_name
from dclm_resources.pools.sample_foreign import foreign_page
from dclm_resources.pools.sample_noise import BAD_PAGE_MAKERS
from dclm_resources.pools.sample_vocab import MONTHS, Topic
from dclm_resources.storage import JSONL_SUFFIXES, Storage, basename, join_uri, write_jsonl

# Shares of the pool per kind, in a fixed order (the order breaks ties when rounding counts).
KIND_SHARES: dict[str, float] = {
    "good": 0.50,
    "boilerplate": 0.09,
    "spam": 0.07,
    "non_english": 0.07,
    "repetitive": 0.06,
    "short": 0.06,
    "symbols": 0.05,
    "exact_duplicate": 0.05,
    "near_duplicate": 0.05,
}
DUPLICATE_KINDS = ("exact_duplicate", "near_duplicate")
COMPRESSION_SUFFIX = {"zst": ".jsonl.zst", "gz": ".jsonl.gz", "none": ".jsonl"}
SHARD_PREFIX = "sample_pool_"
_EPOCH = datetime(2019, 1, 1, tzinfo=timezone.utc)
_DATE_SPAN_S = 5 * 365 * 24 * 3600


@dataclass(frozen=True)
class SamplePoolSpec:
    """What to build: page count, shard count, seed and shard compression (``zst``, ``gz`` or ``none``)."""

    num_pages: int = 2000
    num_shards: int = 4
    seed: int = 1234
    compression: str = "zst"

    def __post_init__(self) -> None:
        if self.num_pages < 0:
            raise ValueError(f"num_pages must be >= 0, got {self.num_pages}")
        if self.num_shards < 1:
            raise ValueError(f"num_shards must be >= 1, got {self.num_shards}")
        if self.compression not in COMPRESSION_SUFFIX:
            raise ValueError(f"compression must be one of {sorted(COMPRESSION_SUFFIX)}, got {self.compression!r}")

    def shard_name(self, index: int) -> str:
        return f"{SHARD_PREFIX}{index:05d}{COMPRESSION_SUFFIX[self.compression]}"


@dataclass
class SamplePoolStats:
    """What was built: pages written, shard URIs (in order), total bytes on storage, pages per kind."""

    pages: int
    shards: list[str]
    bytes: int
    kinds: dict[str, int] = field(default_factory=dict)


def kind_counts(num_pages: int) -> dict[str, int]:
    """Pages per kind for a pool of ``num_pages`` (largest-remainder rounding; sums exactly to ``num_pages``)."""
    exact = {kind: share * num_pages for kind, share in KIND_SHARES.items()}
    counts = {kind: int(value) for kind, value in exact.items()}
    by_remainder = sorted(KIND_SHARES, key=lambda k: (-(exact[k] - counts[k]), list(KIND_SHARES).index(k)))
    for kind in by_remainder[: num_pages - sum(counts.values())]:
        counts[kind] += 1
    if counts["good"] == 0:  # duplicates need an original to copy
        for kind in DUPLICATE_KINDS:
            counts["good"] += counts[kind]
            counts[kind] = 0
    return counts


@dataclass(frozen=True)
class _Slot:
    kind: str
    ordinal: int  # index among pages of this kind
    source: int = -1  # for duplicates: ordinal of the good page copied


def _plan(spec: SamplePoolSpec) -> list[_Slot]:
    """Shuffled page order; every duplicate copies a good page placed earlier in the stream."""
    rng = random.Random(f"dclm-sample-pool:{spec.seed}:plan")
    kinds = [kind for kind, n in kind_counts(spec.num_pages).items() for _ in range(n)]
    rng.shuffle(kinds)
    if "good" in kinds and kinds[0] != "good":  # "keep the first copy" dedup must see the original first
        first = kinds.index("good")
        kinds[0], kinds[first] = kinds[first], kinds[0]
    seen: Counter[str] = Counter()
    plan: list[_Slot] = []
    for kind in kinds:
        source = rng.randrange(seen["good"]) if kind in DUPLICATE_KINDS else -1
        plan.append(_Slot(kind, seen[kind], source))
        seen[kind] += 1
    return plan


def _page_rng(seed: int, kind: str, ordinal: int) -> random.Random:
    return random.Random(f"dclm-sample-pool:{seed}:{kind}:{ordinal}")


def _warc_fields(rng: random.Random) -> tuple[str, str]:
    """A WARC-Date in 2019-2023 and a urn:uuid record id, both drawn from the page's seeded RNG."""
    date = _EPOCH + timedelta(seconds=rng.randrange(_DATE_SPAN_S))
    record_id = uuid.UUID(int=rng.getrandbits(128), version=4)
    return date.strftime("%Y-%m-%dT%H:%M:%SZ"), f"<urn:uuid:{record_id}>"


def _page(text: str, url: str, kind: str, rng: random.Random, **extra: str) -> dict[str, Any]:
    date, record_id = _warc_fields(rng)
    metadata = {
        "WARC-Target-URI": url,
        "WARC-Date": date,
        "WARC-Record-ID": record_id,
        "WARC-Type": "response",
        "sample_kind": kind,
        **extra,
    }
    return {"text": text, "url": url, "metadata": metadata}


@dataclass(frozen=True)
class _Original:
    """What a duplicate needs from the good page it copies."""

    text: str
    url: str
    record_id: str
    topic: Topic


def _good(seed: int, ordinal: int) -> tuple[dict[str, Any], _Original]:
    rng = _page_rng(seed, "good", ordinal)
    topic, _genre, title, lines = good_article(rng)
    url = site_url(rng, topic.section, title)
    page = _page("\n".join(lines), url, "good", rng)
    return page, _Original(page["text"], url, page["metadata"]["WARC-Record-ID"], topic)


def _copy_url(rng: random.Random, url: str) -> str:
    """A different URL for the same content: a mirror host, an AMP or print path, or tracking parameters."""
    scheme, _, rest = url.partition("://")
    host, _, path = rest.partition("/")
    style = rng.randrange(4)
    if style == 0:
        mirror = f"{town_name(rng).lower()}{rng.choice(('news', 'reader', 'feed', 'today'))}.com"
        return f"{scheme}://{mirror}/{path}"
    if style == 1:
        return f"{url}/amp"
    if style == 2:
        return f"{url}?utm_source={rng.choice(('newsletter', 'social', 'feed'))}&utm_medium=email"
    return f"{scheme}://{host}/print/{path}"


_YEAR = re.compile(r"\b(20[12]\d)\b")


def near_duplicate_text(rng: random.Random, text: str, topic: Topic) -> str:
    """One or two small edits (a date, a sentence, a footer or header line) that keep most 13-grams intact."""
    lines = text.split("\n")
    edits = rng.sample(("date", "sentence", "footer", "header"), rng.randint(1, 2))
    for edit in edits:
        if edit == "date" and _YEAR.search("\n".join(lines[:3])):
            for i, line in enumerate(lines[:3]):
                if _YEAR.search(line):
                    lines[i] = _YEAR.sub(lambda m: str(int(m.group(1)) + rng.choice((-1, 1))), line, count=1)
                    break
        elif edit == "sentence":
            paragraphs = [i for i, line in enumerate(lines) if line.count(". ") >= 2]
            if paragraphs:
                i = rng.choice(paragraphs)
                sentences = lines[i].split(". ")
                j = rng.randrange(len(sentences) - 1)
                sentences[j] = english_sentence(rng, topic).rstrip(".")
                lines[i] = ". ".join(sentences)
        elif edit == "header":
            lines.insert(1, f"Updated {rng.randint(1, 28)} {rng.choice(MONTHS)} {rng.randint(2019, 2023)}")
        else:
            art = Article(rng, topic)
            lines.append(art.fill(rng.choice((
                "This article first appeared in the {org} newsletter.",
                "Share this story with a friend who loves " + topic.name + ".",
                "Copyright " + str(rng.randint(2015, 2023)) + " the {org}. Reproduced with permission.",
                "Updated in {month} to correct a small error.",
            ))))
    out = "\n".join(lines)
    return out if out != text else f"{out}\nUpdated in {rng.choice(MONTHS)}."


def generate_pages(spec: SamplePoolSpec) -> Iterator[dict[str, Any]]:
    """Stream the pool's pages in their (shuffled) pool order; same spec, same pages, byte for byte."""
    plan = _plan(spec)
    wanted = {slot.source for slot in plan if slot.kind in DUPLICATE_KINDS}
    originals: dict[int, _Original] = {}
    copy_urls: set[str] = set()  # two copies of one page must not share a URL (C4 dedups URLs first)
    for slot in plan:
        rng = _page_rng(spec.seed, slot.kind, slot.ordinal)
        if slot.kind == "good":
            page, original = _good(spec.seed, slot.ordinal)
            if slot.ordinal in wanted:
                originals[slot.ordinal] = original
        elif slot.kind in DUPLICATE_KINDS:
            original = originals[slot.source]
            text = original.text if slot.kind == "exact_duplicate" else near_duplicate_text(rng, original.text,
                                                                                             original.topic)
            url = _copy_url(rng, original.url)
            while url in copy_urls:
                url = _copy_url(rng, original.url)
            copy_urls.add(url)
            page = _page(text, url, slot.kind, rng, sample_duplicate_of=original.record_id)
        elif slot.kind == "non_english":
            text, url, language = foreign_page(rng)
            page = _page(text, url, slot.kind, rng, sample_language=language)
        else:
            text, url = BAD_PAGE_MAKERS[slot.kind](rng)
            page = _page(text, url, slot.kind, rng)
        yield page


def shard_sizes(num_pages: int, num_shards: int) -> list[int]:
    """Contiguous blocks of the shuffled stream; the first ``num_pages % num_shards`` shards get one extra."""
    base, extra = divmod(num_pages, num_shards)
    return [base + (1 if i < extra else 0) for i in range(num_shards)]


def build_sample_pool(
    output_dir: str, spec: SamplePoolSpec = SamplePoolSpec(), storage: Storage | None = None
) -> SamplePoolStats:
    """Write the pool as ``spec.num_shards`` shards under ``output_dir`` (local folder or ``s3://`` prefix).

    Each shard is committed atomically; shards left by an earlier build with more shards are removed, so the
    folder always holds exactly this pool.
    """
    storage = storage or Storage()
    storage.makedirs(output_dir)
    kinds: Counter[str] = Counter()

    def counted(pages: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for page in pages:
            kinds[page["metadata"]["sample_kind"]] += 1
            yield page

    stream = counted(generate_pages(spec))
    shards: list[str] = []
    written = 0
    for i, size in enumerate(shard_sizes(spec.num_pages, spec.num_shards)):
        uri = join_uri(output_dir, spec.shard_name(i))
        written += write_jsonl(islice(stream, size), uri, storage)
        shards.append(uri)
    for info in storage.list_files(output_dir, suffixes=JSONL_SUFFIXES, recursive=False):
        if basename(info.uri).startswith(SHARD_PREFIX) and info.uri not in shards:
            storage.delete(info.uri, missing_ok=True)
    total_bytes = sum(storage.size(uri) for uri in shards)
    ordered = {kind: kinds[kind] for kind in KIND_SHARES if kinds[kind]}
    return SamplePoolStats(pages=written, shards=shards, bytes=total_bytes, kinds=ordered)


__all__ = [
    "KIND_SHARES",
    "SamplePoolSpec",
    "SamplePoolStats",
    "build_sample_pool",
    "generate_pages",
    "kind_counts",
    "near_duplicate_text",
    "shard_sizes",
]
