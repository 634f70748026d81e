"""The most frequent words in comments (意见建议), for the report's themes section."""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable

import jieba

jieba.setLogLevel(logging.WARNING)  # its dictionary-loading chatter is not ours to print

#: words that say nothing about what to fix
STOPWORDS = frozenset(
    "的 了 和 是 在 也 有 就 都 很 还 要 对 我 你 他 她 它 们 我们 他们 这 那 个 一个 没有 不 没 "
    "希望 建议 非常 比较 能够 可以 进一步 工作 问题 单位 一些 以及 但是 因为 所以 而且 或者 "
    "这个 那个 什么 怎么 如何 已经 需要 继续".split())
WORD_RE = re.compile(r"^[\u4e00-\u9fffA-Za-z]{2,}$")


def top_terms(comments: Iterable[str], limit: int = 20) -> list[tuple[str, int]]:
    """(word, number of comments using it), most frequent first; a word counts once per comment."""
    counts: Counter[str] = Counter()
    for comment in comments:
        words = {w for w in jieba.lcut(comment) if WORD_RE.match(w) and w not in STOPWORDS}
        counts.update(words)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
