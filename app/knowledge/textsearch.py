"""Chinese text for search: jieba with the safety-term dictionary, pinyin and initials, synonyms, one-character
typo correction, the index token string and the query groups. Pure functions, no database.

Index tokens (one string, space separated, lower case): the title's tokens, the separator ``SEP``, then the
body's tokens. Every Chinese word of two or more characters is followed by its full pinyin and its initials
(``动火作业 donghuozuoye dhzy``), so a query in pinyin or initials matches a plain lexeme on both databases.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import jieba
from markupsafe import Markup, escape
from pypinyin import lazy_pinyin

DICT_FILE = Path(__file__).resolve().parent / "data" / "safety_terms.txt"
SEP = "qqsep"
MAX_TOKENS = 6000
HEAD_CHARS = 1200
CLEAN = re.compile(r"[\u4e00-\u9fff]+|[a-z0-9]+")
HAN = re.compile(r"[\u4e00-\u9fff]+")
# Words that say little about what is searched for: kept in a query, but optional and light.
LIGHT = set(
    [
        "的",
        "了",
        "和",
        "与",
        "及",
        "或",
        "是",
        "在",
        "对",
        "有",
        "被",
        "把",
        "将",
        "应",
        "未",
        "不",
        "无",
        "等",
        "其",
        "之",
        "为",
        "由",
        "向",
        "于",
        "中",
        "内",
        "时",
        "后",
        "前",
        "个",
        "项",
        "条",
        "款",
    ]
) | {
    "规定",
    "按照",
    "按规定",
    "进行",
    "单位",
    "相关",
    "要求",
    "情况",
    "人员",
    "企业",
    "应当",
    "没有",
    "怎么",
    "如何",
    "什么",
    "哪些",
    "处罚",
    "违法",
    "违反",
    "问题",
}

jieba.setLogLevel(logging.WARNING)
_lock = threading.Lock()
_state: dict = {"tok": None, "vocab": frozenset(), "patterns": {}, "added": set()}


def _dictionary_words() -> list[tuple[str, int | None]]:
    out = []
    for line in DICT_FILE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        out.append((parts[0], int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None))
    return out


def _patterns(words) -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    for w in sorted(words):
        if len(w) < 2 or not HAN.fullmatch(w):
            continue
        for i in range(len(w)):
            index.setdefault(w[:i] + "?" + w[i + 1 :], []).append(w)
    return index


def tokenizer() -> jieba.Tokenizer:
    if _state["tok"] is None:
        with _lock:
            if _state["tok"] is None:
                tok = jieba.Tokenizer()
                words = _dictionary_words()
                for word, freq in words:
                    tok.add_word(word, freq or 800)
                vocab = frozenset(w for w, _ in words)
                _state.update(vocab=vocab, patterns=_patterns(vocab))
                _state["tok"] = tok
    return _state["tok"]


def add_words(words) -> None:
    """Teach the tokenizer new words (synonyms typed by an administrator); they also join the typo vocabulary."""
    tok = tokenizer()
    new = {w for w in words if w and HAN.fullmatch(w) and w not in _state["added"] and w not in _state["vocab"]}
    if not new:
        return
    with _lock:
        for w in sorted(new):
            tok.add_word(w, 800)
        _state["added"] |= new
        _piece_words.cache_clear()  # the new words change how sentences are cut
        vocab = _state["vocab"] | new
        _state.update(vocab=vocab, patterns=_patterns(vocab))


def normalize(text: str | None) -> str:
    return unicodedata.normalize("NFKC", text or "").lower()


PIECES = re.compile(r"[\n。；;！？!?]+")


def words(text: str | None, *, precise: bool = False) -> list[str]:
    """Clean tokens of a text: Chinese words and runs of ASCII letters/digits (no punctuation)."""
    text = normalize(text)
    if not text:
        return []
    out: list[str] = []
    for piece in PIECES.split(text):  # sentences repeat across entries (tiers, penalties): cached
        if piece.strip():
            out.extend(_piece_words(piece, precise))
    return out


@lru_cache(maxsize=100_000)
def _piece_words(piece: str, precise: bool) -> tuple[str, ...]:
    tok = tokenizer()
    raw = tok.cut(piece) if precise else tok.cut_for_search(piece)
    return tuple(t for t in (x.strip() for x in raw) if t and CLEAN.fullmatch(t))


@lru_cache(maxsize=65536)
def pinyin_forms(word: str) -> tuple[str, str]:
    syllables = [s for s in lazy_pinyin(word) if s]
    return "".join(syllables).lower(), "".join(s[0] for s in syllables).lower()


def _long_parts(word: str) -> list[str]:
    """Known words of 4+ characters inside a longer word (jieba's search mode stops at 3: 有限空间 in 有限空间作业)."""
    if len(word) <= 4 or not HAN.fullmatch(word):
        return []
    freq = tokenizer().FREQ
    return [word[i : i + n] for n in range(4, len(word)) for i in range(len(word) - n + 1) if freq.get(word[i : i + n])]


def head_of(tokens: str, size: int = HEAD_CHARS) -> str:
    """The first whole tokens within `size` characters: what ranking reads."""
    return tokens if len(tokens) <= size else tokens[:size].rsplit(" ", 1)[0]


def index_tokens(title: str, body: str) -> str:
    """The token string stored in knowledge_search.tokens."""
    out: list[str] = []
    for part, text in ((0, title), (1, body)):
        if part:
            out.append(SEP)
        for w in words(text):
            for x in (w, *_long_parts(w)):
                out.append(x)
                if len(x) >= 2 and HAN.fullmatch(x):
                    out.extend(pinyin_forms(x))
            if len(out) >= MAX_TOKENS:
                break
    return " ".join(out[:MAX_TOKENS])


# ---------------------------------------------------------------------------------------------
# queries


@dataclass
class Group:
    """One thing looked for: any of its variants matches; ``prefix`` variants match by prefix (pinyin)."""

    variants: list[str]
    weight: float
    required: bool = True
    prefix: bool = False
    label: str = ""


@dataclass
class Query:
    text: str
    groups: list[Group] = field(default_factory=list)
    corrected: str | None = None  # the query after typo correction, when it changed

    @property
    def empty(self) -> bool:
        return not self.groups


def correct(part: str) -> str:
    """Replace unknown windows of 2–6 characters that are one character off a safety term."""
    tokenizer()
    vocab, patterns, freq = _state["vocab"], _state["patterns"], _state["tok"].FREQ
    chars = list(part)
    covered = [False] * len(chars)
    for size in range(min(6, len(chars)), 1, -1):
        for start in range(0, len(chars) - size + 1):
            window = "".join(chars[start : start + size])
            if window in vocab:
                covered[start : start + size] = [True] * size
    for size in range(min(6, len(chars)), 1, -1):
        for start in range(0, len(chars) - size + 1):
            if any(covered[start : start + size]):
                continue
            window = "".join(chars[start : start + size])
            if freq.get(window):  # a word jieba knows is not a typo
                continue
            found = {w for i in range(size) for w in patterns.get(window[:i] + "?" + window[i + 1 :], [])}
            if found:
                # A character that sounds the same (有线/有限, 电悍/电焊) is the likelier typo.
                best = min(found, key=lambda w: (pinyin_forms(w)[0] != pinyin_forms(window)[0], w))
                chars[start : start + size] = list(best)
                covered[start : start + size] = [True] * size
    return "".join(chars)


def parse(text: str, synonyms: dict[str, list[str]] | None = None) -> Query:
    synonyms = synonyms or {}
    q = Query(text=text)
    seen: set[str] = set()
    corrected_parts = []
    changed = False
    for part in CLEAN.findall(normalize(text)):
        if not HAN.fullmatch(part):
            if part not in seen:
                seen.add(part)
                q.groups.append(Group([part], 2.0, prefix=len(part) >= 2 and part.isalpha(), label=part))
            corrected_parts.append(part)
            continue
        fixed = correct(part)
        changed |= fixed != part
        corrected_parts.append(fixed)
        precise = words(fixed, precise=True)
        for w in precise:
            if w in seen:
                continue
            seen.add(w)
            light = w in LIGHT or len(w) == 1
            variants = [w] + [s for s in synonyms.get(w, []) if s != w]
            weight = 0.3 if light else min(len(w), 4) + (1.5 if w in _state["vocab"] else 0)
            q.groups.append(Group(variants, weight, required=not light, label=w))
            if len(w) >= 4:  # a long word also looks for its parts, optionally
                for sub in words(w):
                    if sub != w and len(sub) >= 2 and sub not in seen:
                        seen.add(sub)
                        q.groups.append(Group([sub], 1.0, required=False, label=sub))
    if q.groups and not any(g.required for g in q.groups):
        for g in q.groups:
            g.required = True
    if changed:
        q.corrected = " ".join(corrected_parts)
    return q


# ---------------------------------------------------------------------------------------------
# backend expressions


def fts5_expression(groups: list[Group]) -> str:
    def term(v: str, prefix: bool) -> str:
        v = v.replace('"', '""')  # a synonym typed by an administrator may hold anything
        return f'"{v}"*' if prefix else f'"{v}"'

    return " AND ".join("(" + " OR ".join(term(v, g.prefix) for v in g.variants) + ")" for g in groups)


def tsquery_expression(groups: list[Group]) -> str:
    def term(v: str, prefix: bool) -> str:
        v = v.replace("\\", "\\\\").replace("'", "''")  # a synonym typed by an administrator may hold anything
        return f"'{v}':*" if prefix else f"'{v}'"

    return " & ".join("(" + " | ".join(term(v, g.prefix) for v in g.variants) + ")" for g in groups)


# ---------------------------------------------------------------------------------------------
# ranking and snippets (the same Python on both databases)


def _total(query: Query, found: list[tuple[int, bool]]) -> float:
    """The score from each group's (hits, whether the title holds one): per group found, weight × (1 + 0.15 ×
    hits, at most 6) plus 1.5 × weight in the title; +6 when every required group is found."""
    total = 0.0
    all_required = True
    for g, (hits, in_title) in zip(query.groups, found, strict=True):
        if hits:
            total += g.weight * (1 + 0.15 * min(hits, 6)) + (g.weight * 1.5 if in_title else 0)
        elif g.required:
            all_required = False
    if all_required:
        total += 6
    return round(total, 4)


def score(query: Query, tokens: str) -> tuple[float, list[str]]:
    """A relevance score and the Chinese words that matched (for highlighting)."""
    toks = tokens.split()
    try:
        cut = toks.index(SEP)
    except ValueError:
        cut = len(toks)
    title = toks[:cut]
    matched_words: list[str] = []
    found = []
    for g in query.groups:
        hits, in_title = 0, False
        for v in g.variants:
            if g.prefix:
                for i, t in enumerate(toks):
                    if t.startswith(v) and t != SEP:
                        hits += 1
                        in_title |= i < cut
                        word = _word_of(toks, i)
                        if word:
                            matched_words.append(word)
            else:
                n = toks.count(v)
                if n:
                    hits += n
                    in_title |= v in title
                    matched_words.append(v)
        found.append((hits, in_title))
    return _total(query, found), matched_words


def rank(query: Query, tokens: str) -> float:
    """score()'s number without the matched words (see rank_many)."""
    return rank_many(query, [tokens])[0]


def rank_many(query: Query, heads) -> list[float]:
    """score()'s number for each token string, by counting in the string instead of splitting it (several times
    faster; ranking reads every candidate, score() only the page): " t " counts token t, " p" the tokens
    starting with p (a test holds rank and score equal). Counting " t " skips a token t right after another t
    (the two share a space), so only when " t t " occurs is the string counted again with its spaces doubled,
    where every token stands between spaces of its own. The patterns are built once for all the strings."""
    sep_pattern = f" {SEP} "
    groups = []
    for g in query.groups:
        patterns = [
            (f" {v}" if g.prefix else f" {v} ", g.prefix and SEP.startswith(v), None if g.prefix else f" {v} {v} ")
            for v in g.variants
        ]
        groups.append((patterns, g.weight, g.required))
    out = []
    for tokens in heads:
        padded = " " + tokens + " "
        sep = padded.find(sep_pattern)
        title = padded if sep < 0 else padded[: sep + 1]
        total, all_required = 0.0, True
        for patterns, weight, required in groups:
            hits, in_title = 0, False
            for pattern, minus_sep, twice in patterns:
                n = padded.count(pattern)
                if n and twice is not None and twice in padded:
                    n = (" " + tokens.replace(" ", "  ") + " ").count(pattern)
                if minus_sep and sep >= 0:
                    n -= padded.count(sep_pattern)
                if n:
                    hits += n
                    in_title = in_title or pattern in title
            if hits:  # the arithmetic of _total
                total += weight * (1 + 0.15 * min(hits, 6)) + (weight * 1.5 if in_title else 0)
            elif required:
                all_required = False
        out.append(round(total + 6 if all_required else total, 4))
    return out


def _word_of(toks: list[str], i: int) -> str | None:
    """The Chinese word a pinyin token belongs to (it follows its word)."""
    for j in (i - 1, i - 2):
        if j >= 0 and HAN.fullmatch(toks[j]):
            return toks[j]
    return None


def snippet(text: str, terms: list[str], width: int = 90) -> Markup:
    """A window of the text around the first matched term, HTML-escaped, terms in <mark>."""
    text = re.sub(r"\s+", " ", text or "").strip()
    terms = sorted({t for t in terms if (t and len(t) >= 1 and HAN.search(t)) or (t and t.isalnum())}, key=len)[::-1]
    low = normalize(text)
    first = min((p for p in (low.find(t) for t in terms) if p >= 0), default=0)
    start = max(0, first - width // 3)
    piece = text[start : start + width]
    return Markup(("…" if start else "") + str(highlight(piece, terms)) + ("…" if start + width < len(text) else ""))


def highlight(text: str, terms: list[str]) -> Markup:
    terms = [t for t in sorted(set(terms), key=len, reverse=True) if t]
    if not terms:
        return escape(text)
    pattern = re.compile("|".join(re.escape(t) for t in terms), re.IGNORECASE)
    out, last = [], 0
    for m in pattern.finditer(text):
        out.append(escape(text[last : m.start()]))
        out.append(Markup("<mark>") + escape(m.group(0)) + Markup("</mark>"))
        last = m.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)
