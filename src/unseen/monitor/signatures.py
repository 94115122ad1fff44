"""Attack signatures in request text: SQL injection, cross-site scripting and path traversal.

Text is first brought to one canonical form (:func:`decode_for_inspection`) so that an encoding trick cannot hide a
payload: repeated URL decoding, plus signs, HTML entities, case, SQL inline comments, null bytes, overlong UTF-8 and
full-width characters. Each signature is a named regular expression with a severity in OWASP CRS points (critical 5,
error 4, warning 3, notice 2). The patterns ask for SQL *structure* (a quote that breaks out followed by a boolean
operator, ``union ... select``, a call of ``sleep(...)``), never for single words, so that shoppers searching for
"select", "drop earrings", "rock 'n' roll" or "O'Brien" are left alone.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache
from urllib.parse import unquote

__all__ = [
    "SIGNATURES", "SIGNATURE_BY_ID", "Severity", "Signature", "decode_for_inspection", "inspect", "inspect_ungated",
    "path_traversal", "sql_injection", "xss",
]

INSPECT_LIMIT = 8 * 1024
"""Characters of one field that are inspected; the capture middleware keeps at most this much of a body."""
URL_DECODE_ROUNDS = 3


class Severity(IntEnum):
    """Anomaly points of a rule, as OWASP CRS counts them."""

    critical = 5
    error = 4
    warning = 3
    notice = 2


@dataclass(frozen=True)
class Signature:
    """A named pattern of one attack family; its ``id`` is stable, and reason codes are ``<family>:<id>``."""

    id: str
    family: str  # "sqli", "xss" or "traversal": the prefix of the reason code
    severity: Severity
    pattern: re.Pattern[str]
    view: str = "text"
    """What the pattern is matched against: "text" (the output of :func:`decode_for_inspection`), "bare" (that text
    with quotes and brackets as spaces, so ``' or 'a'='a`` reads ``or a = a``), "commented" (decoded and lower case,
    SQL comments still in) or "url" (only URL-decoded: null bytes still in)."""
    words: frozenset[str] = frozenset()
    needles: tuple[str, ...] = ()
    """The gate: the pattern is tried only if the text has one of these words or contains one of these needles."""


# --- decoding --------------------------------------------------------------------------------------------------------

_PERCENT_UNICODE = re.compile(r"%u([0-9a-fA-F]{4})")
# A two-byte overlong form of an ASCII character (%c0%ae is "."), which lenient decoders accept.
_OVERLONG = re.compile(r"%([cC][01])%([89abAB][0-9a-fA-F])")
_SQL_COMMENT = re.compile(r"/\*(!\d*)?(.*?)\*/", re.S)
_LOOKALIKES = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'", "\u02bc": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
    "\u2013": "-", "\u2014": "-", "\u2212": "-",
})
_BARE = str.maketrans({"'": " ", '"': " ", "`": " ", "(": " ", ")": " "})


def _overlong(match: re.Match[str]) -> str:
    lead, cont = int(match.group(1), 16), int(match.group(2), 16)
    return "%{:02x}".format(((lead & 0x1F) << 6) | (cont & 0x3F))


def _url_decode(text: str) -> str:
    """Up to three rounds of URL decoding (``%2527`` -> ``%27`` -> ``'``), plus signs as spaces, HTML entities."""
    text = text.replace("+", " ")
    for _ in range(URL_DECODE_ROUNDS):
        before = text
        if "%" in text:
            text = _OVERLONG.sub(_overlong, text)
            text = _PERCENT_UNICODE.sub(lambda m: chr(int(m.group(1), 16)), text)
            text = unquote(text, errors="replace")
        if "&" in text and ("&#" in text or ";" in text or "&lt" in text or "&gt" in text or "&quot" in text):
            text = html.unescape(text)
        if text == before:
            break
    return text


def _normalise(text: str) -> str:
    """Full-width and look-alike characters folded to ASCII, null bytes dropped, lower case; comments still there."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_LOOKALIKES)
    return text.replace("\x00", "").lower()


def _strip_comments(text: str) -> str:
    if "/*" in text:
        # MySQL runs the body of a versioned comment (/*!50000union*/); any other comment is whitespace to SQL.
        text = _SQL_COMMENT.sub(lambda m: f" {m.group(2)} " if m.group(1) is not None else " ", text)
    return " ".join(text.split())


def decode_for_inspection(text: str) -> str:
    """The canonical form that signatures are matched against.

    >>> decode_for_inspection("1%2527%2520UN%2F**%2FION+SeLeCt%00")
    "1' un ion select"
    """
    return _strip_comments(_normalise(_url_decode(text[:INSPECT_LIMIT])))


# --- signatures ------------------------------------------------------------------------------------------------------

_Q = r"['\"`]"  # a quote that can break out of a string literal
_BOOLEAN = r"(?:or|and|xor|not|&&|\|\|)"
# What may follow "' or": a call of a function an injection uses, or a bare SQL literal.
_SQL_WORDS = (r"(?:(?:sleep|pg_sleep|benchmark|if|char|chr|ascii|substring|substr|mid|length|user|version|database"
              r"|updatexml|extractvalue|utl_\w+)\s*\(|(?:select|exists|true|false|null)\b)")
_EVENTS = ("error", "load", "mouseover", "mouseout", "mouseenter", "mouseleave", "focus", "focusin", "blur", "click",
           "dblclick", "change", "input", "submit", "keydown", "keyup", "keypress", "toggle", "animationstart",
           "animationend", "transitionend", "pointerover", "pointerenter", "pointerdown", "begin", "wheel", "scroll",
           "resize", "unload", "beforeunload", "hashchange", "message", "pageshow", "popstate", "copy", "paste",
           "drag", "dragstart", "dragend", "dragenter", "dragleave", "dragover", "drop", "contextmenu", "auxclick",
           "invalid", "reset")
_WORD = re.compile(r"\w+")


def _sig(id: str, severity: Severity, gate: str, pattern: str, view: str = "text") -> Signature:
    """``gate``: space-separated words the text must have one of, or needles it must contain: a token that is not a
    word (``..``, ``<``) or ends in ``*`` (``sys*``: any word that starts so) is a needle."""
    tokens = gate.split()
    words = frozenset(t for t in tokens if _WORD.fullmatch(t))
    needles = tuple(t[:-1] if t.endswith("*") and _WORD.fullmatch(t[:-1]) else t
                    for t in tokens if not _WORD.fullmatch(t))
    family = id.split("-", 1)[0]
    return Signature(id, family, severity, re.compile(pattern), view, words, needles)


C, E, W = Severity.critical, Severity.error, Severity.warning
QUOTES = "' \" `"

SIGNATURES: tuple[Signature, ...] = (
    # SQL injection
    _sig("sqli-union-select", C, "union", r"\bunion\b(?:\s+(?:all|distinct))?[\s(]*select\b"),
    _sig("sqli-tautology", C, "or and xor having where",
         r"\b(?:or|and|xor|having|where)\s+(?:(\w+)\s*(?:=|<=>|like|>=|<=)\s*\1\b"
         r"|\d+(?:\.\d+)?\s*(?:=|<>|!=|<=>|>=|<=|<|>)\s*\d|(?:true|false)\s*(?:--|#|$))", view="bare"),
    # The quote must not follow a digit (5' or 6' is feet) and no quote may follow the operator ('red' or 'blue').
    _sig("sqli-quote-boolean", C, QUOTES, rf"(?<!\d){_Q}\s*\)*\s*{_BOOLEAN}\s*(?:[(@\d]|{_SQL_WORDS})"),
    _sig("sqli-quote-equals", E, QUOTES, rf"(?<![\w'\"]){_Q}\s*=\s*{_Q}"),  # '=' compares two empty strings
    _sig("sqli-empty-string-tautology", C, QUOTES, rf"{_Q}\s*\)*\s*(?:or|and)\s*(?:''|\"\")"),
    _sig("sqli-comment-terminator", C, QUOTES, rf"{_Q}\s*\)*\s*;?\s*(?:--|#(?!\w)|/\*)"),
    _sig("sqli-trailing-comment", W, "-- #", r"(?:[\w)]\s*;?\s*--|[\d)]\s*;?\s*#)[\s\-+;]*$"),  # not "c#"
    _sig("sqli-stacked-query", C, ";",
         r";\s*(?:exec(?:ute)?\s+[\w@]|drop\s+(?:table|database|user|view|function|procedure)\b"
         r"|create\s+(?:table|user|database|function|procedure)\s|insert\s+into\s|delete\s+from\s|update\s+\w+\s+set\s"
         r"|waitfor\s|shutdown\b|truncate\s+table\s|declare\s+@|grant\s|load\s+data\s|copy\s+\w+\s+(?:from|to)\s"
         r"|backup\s+database\s|alter\s+(?:table|user|database)\s|select\s+(?:\*|@@))"),
    _sig("sqli-time-based", C, "sleep pg_sleep benchmark waitfor randomblob dbms_pipe",
         r"\b(?:sleep|pg_sleep)\s*\(\s*[\d(]|\bbenchmark\s*\(|\bwaitfor\s+(?:delay|time)\b|\brandomblob\s*\("
         r"|\bdbms_pipe\.receive_message\b|\bpg_sleep\b"),
    _sig("sqli-error-based", C,
         "extractvalue updatexml name_const geometrycollection multipoint convert cast floor ctxsys utl_* dbms_*",
         r"\b(?:extractvalue|updatexml|name_const|geometrycollection|multipoint)\s*\(|\bconvert\s*\(\s*int\b"
         r"|\bcast\s*\(.{0,200}?\bas\s+(?:int|integer|numeric|signed|unsigned)\b|\butl_(?:inaddr|http)\.\w+"
         r"|\bfloor\s*\(\s*rand\s*\(|\bctxsys\.|\bdbms_\w+\.\w+"),
    _sig("sqli-system-catalogue", C,
         "information_schema sys* master mysql pg_* v$ dba_* all_tab* sqlite_master @@ current_user session_user "
         "system_user current_database current_setting version user database schema",
         r"\binformation_schema\b|\bsys(?:objects|columns|users|logins|databases|servers?\w*)\b|\bmaster\s*\.\."
         r"|\bmysql\.user\b|\bpg_(?:shadow|user|group|catalog|database|tables|roles)\b|\bv\$\w+|\bsys\.\w+"
         r"|\bdba_\w+|\ball_tab(?:les|_columns)\b|\bsqlite_master\b|@@\w+|\b(?:current_user|session_user"
         r"|system_user|current_database|current_setting)\b|\b(?:version|user|database|schema)\s*\(\s*\)"),
    _sig("sqli-select-probe", C, "select",
         r"\bselect\s+(?:\*|@@|null\b|distinct\b|\d+\s*(?:,|$|from\b|--|#|;)"
         r"|(?:count|concat|group_concat|char|chr|version|user|database|sleep|if|case|substring|substr|ascii"
         r"|current_\w+|load_file)\s*\(|\w+\s*,\s*[\w(]+.*?\bfrom\b"
         r"|[\w.$]+\s+from\s+[\w.$]+\s*(?:where|;|--|#|\)|limit|union|order|group))"
         r"|\(\s*select\s+(?:\d|\*|@@|count|if|case|sleep|char|substring|\w+\s*\()"),
    _sig("sqli-statement", C,
         "insert drop create grant load into bulk backup copy exec execute xp_cmdshell declare shutdown sp_*",
         r"\binsert\s+into\s+[\w.`]+\s*(?:\(|values\b|select\b)|\bdrop\s+(?:table|database|function|procedure"
         r"|view|user|schema)\s+[\w.`]+\s*(?:;|--|#)|\bcreate\s+table\s+\w+\s*\(|\bcreate\s+user\s+\w+\s+identified"
         r"|\bgrant\s+(?:connect|resource|all|dba)\b|\bload\s+data\s+(?:local\s+)?infile\b|\binto\s+(?:out|dump)file\b"
         r"|\bbulk\s+insert\b|\bbackup\s+database\b|\bcopy\s+\w+\s+(?:from|to)\s+['\"/]"
         r"|\bexec(?:ute)?\s+(?:master\s*\.|xp_|sp_)|\bxp_cmdshell\b|\bsp_(?:addlogin|addsrvrolemember|executesql"
         r"|password|configure|oacreate)\b|\bdeclare\s+@|\bshutdown\s+with\s+nowait\b"),
    _sig("sqli-string-concat", C, "||", rf"{_Q}\s*\|\|\s*[\w'\"(]|[\w)]\s*\|\|\s*{_Q}"),
    _sig("sqli-conditional", C, "if case else",
         r"\bif\s*\(\s*\d+\s*(?:=|<>|!=|<|>)|\bcase\s+when\s*[\d(]|\belse\s+drop\b"),
    _sig("sqli-like-wildcard", C, "like", rf"\b(?:or|and)\s+\w+\s+like\s+{_Q}?%|{_Q}\s*like\s*{_Q}|^\s*like\s+{_Q}%"),
    _sig("sqli-order-by-probe", E, "by", r"\b(?:order|group)\s+by\s+(?:\d+\b|sleep\b|if\b|null\b|\()"),
    _sig("sqli-boolean-probe", E, "or and xor not && ||", rf"^\W*{_BOOLEAN}\s+(?:\d+|true|false|null|x)\b"),
    _sig("sqli-char-encoding", E, "char chr 0x*",
         r"\b(?:char|chr)\s*\(\s*(?:\d+|0x[0-9a-f]+)\s*\)\s*(?:\+|\|\||,)?\s*(?:char|chr)\s*\(|\b0x[0-9a-f]{8,}\b"),
    # cross-site scripting
    _sig("xss-script-tag", C, "<", r"<\s*/?\s*script\b"),
    _sig("xss-event-handler", C, "< " + " ".join("on" + event for event in _EVENTS),
         rf"<[^>]*\bon[a-z]{{3,}}\s*=|\bon(?:{'|'.join(_EVENTS)})\s*="),
    _sig("xss-javascript-uri", C, ":",
         r"\b(?:j\s*a\s*v\s*a|v\s*b|l\s*i\s*v\s*e)\s*s\s*c\s*r\s*i\s*p\s*t\s*:|\bdata\s*:\s*text/html"),
    _sig("xss-dangerous-tag", E, "<",
         r"<\s*(?:iframe|frame|frameset|object|embed|applet|svg|math|base|meta|link|style|img|image|body|video"
         r"|audio|source|input|form|details|marquee|isindex|xml|template)\b"),
    _sig("xss-script-sink", E, "alert prompt confirm eval document window string innerhtml srcdoc expression",
         r"\b(?:alert|prompt|confirm|eval)\((?:[\d'\"`/)]|document|window|string)|\bdocument\s*\.\s*(?:cookie|domain"
         r"|write|location)\b|\bwindow\s*\.\s*location\b|\bstring\s*\.\s*fromcharcode\b|\.innerhtml\b"
         r"|\bsrcdoc\s*=|\bexpression\s*\("),
    # path traversal
    _sig("traversal-dot-dot", C, "..", r"(?:^|[/\\=\s'\"])\.{2,}[/\\;]|[/\\]\.{2,}(?:[/\\]|$)"),
    _sig("traversal-etc-passwd", C, "/etc/",
         r"/etc/(?:passwd|shadow|group|hosts|issue|crontab|sudoers|master\.passwd)\b"),
    _sig("traversal-system-file", C, "boot win system web htaccess htpasswd env git id_rsa wp ds_store proc windows",
         r"(?:^|[/\\])(?:boot\.ini|win\.ini|system\.ini|web\.config|\.htaccess|\.htpasswd|\.env|\.git[/\\]"
         r"|id_rsa|wp-config\.php|\.ds_store)|/proc/self/|\bc:[/\\]+windows\b|[/\\]windows[/\\]+system32\b"),
    # on the text before comments are taken out: a comment glued to a word hides a keyword (UN/**/ION)
    _sig("sqli-inline-comment", C, "/*", r"\w/\*[\s\S]*?\*/|/\*[\s\S]*?\*/\w", view="commented"),
    # A null byte that survives URL decoding cuts a file name short in C-based file APIs ("x.php%00.jpg").
    _sig("traversal-null-byte", E, "\x00", "\x00", view="url"),
)
SIGNATURE_BY_ID = {s.id: s for s in SIGNATURES}


def _signatures_by_token() -> dict[str, tuple[int, ...]]:
    by_token: dict[str, tuple[int, ...]] = {}
    for index, signature in enumerate(SIGNATURES):
        for token in (*signature.words, *signature.needles):
            by_token[token] = (*by_token.get(token, ()), index)
    return by_token


_BY_TOKEN = _signatures_by_token()
# Needles are looked for in the view their signature reads; the bare view has the needles of the text view.
_NEEDLES_BY_VIEW = {view: tuple(sorted({n for s in SIGNATURES if s.view in views for n in s.needles}))
                    for view, views in (("url", ("url",)), ("commented", ("commented",)), ("text", ("text", "bare")))}


def _views(text: str) -> dict[str, str]:
    url = _url_decode(text[:INSPECT_LIMIT])
    commented = _normalise(url)
    return {"url": url, "commented": commented, "text": _strip_comments(commented)}


def _bare(text: str) -> str:
    return " ".join(text.translate(_BARE).split())


@lru_cache(maxsize=4096)
def inspect(text: str) -> tuple[Signature, ...]:
    """Every signature that ``text`` matches once decoded (cached: paths and queries repeat).

    A signature's pattern is tried only when the text holds one of its gate words or needles, which every match
    needs, so ordinary text costs a few microseconds.
    """
    if not text:
        return ()
    views = _views(text)
    tokens = set(_WORD.findall(views["text"]))  # the bare view has the same words: quotes and brackets split anyway
    for view, needles in _NEEDLES_BY_VIEW.items():
        tokens.update(needle for needle in needles if needle in views[view])
    found = []
    for index in sorted({index for token in tokens for index in _BY_TOKEN.get(token, ())}):
        signature = SIGNATURES[index]
        if signature.view == "bare" and "bare" not in views:
            views["bare"] = _bare(views["text"])
        if signature.pattern.search(views[signature.view]):
            found.append(signature)
    return tuple(found)


def inspect_ungated(text: str) -> tuple[Signature, ...]:
    """:func:`inspect` without the gates: every pattern is tried (slower; the tests check that both agree)."""
    if not text:
        return ()
    views = _views(text)
    views["bare"] = _bare(views["text"])
    return tuple(s for s in SIGNATURES if s.pattern.search(views[s.view]))


def sql_injection(text: str) -> list[str]:
    """Ids of the SQL-injection signatures ``text`` matches, e.g. ``["sqli-union-select"]``."""
    return [s.id for s in inspect(text) if s.family == "sqli"]


def xss(text: str) -> list[str]:
    """Ids of the cross-site scripting signatures ``text`` matches."""
    return [s.id for s in inspect(text) if s.family == "xss"]


def path_traversal(text: str) -> list[str]:
    """Ids of the path traversal signatures ``text`` matches."""
    return [s.id for s in inspect(text) if s.family == "traversal"]
