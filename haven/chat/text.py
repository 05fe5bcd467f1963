"""What a chat message may hold, and how links in it are noticed (rule S4).

Three things happen to a message before it is stored:

- Control characters and invisible characters are removed (`clean`), so that a message
  cannot look like something else: zero-width spaces hiding a link from the eye, a
  right-to-left override turning `exe.pdf` round, a soft hyphen splitting a word, tag
  characters carrying hidden text. What was removed is told to the sender (`chat_sent`).
  Kept, because emoji and some scripts need them: a zero-width joiner between two emoji
  (👩‍💻), a variation selector after a symbol (❤️, 1️⃣), the tag characters of a flag
  (🏴󠁧󠁢󠁳󠁣󠁴󠁿), and a zero-width non-joiner between two letters of a script that joins them
  (Persian, Hindi).
- A data URL anywhere in it (`data:text/html;base64,...`) refuses the message: a data URL
  is a file by another name, and documents go by email, never through chat.
- Anything a browser or a reader might take for a link (`has_link`) is shown as plain
  text with a warning, never made clickable: any `scheme://`, `www.`, a bare domain or IP
  address, and the schemes that run or fetch something without `//` (`javascript:`,
  `vbscript:`, `data:`, `file:`, `mailto:` and the like).
"""

import re
import unicodedata
from dataclasses import dataclass

MAX_LENGTH = 1000

# Schemes that need no `//` to do something when followed. Browsers ignore tabs and
# newlines inside a URL (`java\tscript:`), so those are dropped before looking.
_RUNNING_SCHEMES = "javascript|vbscript|livescript|mocha"
_BARE_SCHEMES = (
    "data|file|blob|filesystem|about|mailto|tel|sms|callto|intent|jar|view-source|ms-[a-z0-9-]+"
)
LINK = re.compile(
    r"(?:[a-z][a-z0-9+.-]*:\s*//"  # any scheme with //, even with space before it
    rf"|\b(?:{_RUNNING_SCHEMES}):"  # run script, whatever follows
    rf"|\b(?:{_BARE_SCHEMES}):(?=\S)"  # act without // (not "talk about: money")
    r"|www\."
    # a bare domain: labels of letters (any script), digits and hyphens, ending in a
    # top-level label of two or more letters (3.5 hours is not one; example.org/form is)
    r"|(?<![\w.-])[^\W_](?:[\w-]*[^\W_])?(?:\.[^\W_](?:[\w-]*[^\W_])?)*\.[^\W\d_]{2,63}(?![\w-])"
    r"|\b\d{1,3}(?:\.\d{1,3}){3}\b)",  # an IPv4 address
    re.IGNORECASE,
)
# data:[<media type>][;parameter...][;base64],<data> (RFC 2397), no space after "data:".
DATA_URL = re.compile(
    r"\bdata:(?:[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+)?(?:;[a-z0-9!#$&^_.+-]+(?:=[^;,\s]*)?)*,",
    re.IGNORECASE,
)
_URL_WHITESPACE = re.compile(r"[\t\r\n]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

ZWNJ, ZWJ = "\u200c", "\u200d"
_VARIATION_SELECTORS = frozenset(chr(c) for c in range(0xFE00, 0xFE10))
_KEYCAP = "\u20e3"
_BLACK_FLAG = "\U0001f3f4"
_TAGS = range(0xE0020, 0xE0080)
# Invisible although not of category Cf (Unicode's Default_Ignorable_Code_Point, and the
# blank "letters" used to fake an empty name or space).
_IGNORABLE = frozenset(
    [
        0x034F,
        0x115F,
        0x1160,
        0x17B4,
        0x17B5,
        0x3164,
        0xFFA0,
        0x2800,
        *range(0x180B, 0x1810),
        *range(0xFE00, 0xFE10),
        *range(0xFFF0, 0xFFF9),
        *range(0x1BCA0, 0x1BCA4),
        *range(0x1D173, 0x1D17B),
        *range(0xE0100, 0xE01F0),
    ]
)


@dataclass(frozen=True)
class Cleaned:
    text: str
    # Each invisible character removed, once, as "U+202E RIGHT-TO-LEFT OVERRIDE".
    removed: list[str]


def clean(text: str) -> str:
    """Drop control and invisible characters and surrounding space; keep newlines."""
    return clean_and_report(text).text


def clean_and_report(text: str) -> Cleaned:
    text = _CONTROL.sub("", text)
    kept: list[str] = []
    removed: dict[str, None] = {}
    for at, char in enumerate(text):
        if _invisible(char) and not _needed(text, at):
            removed.setdefault(_describe(char))
        else:
            kept.append(char)
    return Cleaned("".join(kept).strip(), list(removed))


def _invisible(char: str) -> bool:
    return unicodedata.category(char) == "Cf" or ord(char) in _IGNORABLE


def _needed(text: str, at: int) -> bool:
    """Whether the invisible character at `at` is part of an emoji or of a script."""
    char = text[at]
    before = text[at - 1] if at > 0 else ""
    after = text[at + 1] if at + 1 < len(text) else ""
    if char == ZWJ:  # 👩‍💻, 👩🏽‍💻, ❤️‍🔥: between an emoji (or its modifier) and an emoji
        return _emoji_part(before) and _emoji(after)
    if char in _VARIATION_SELECTORS:  # ❤️, and keycaps: 1️⃣
        return (before != "" and not before.isascii() and not _invisible(before)) or (
            after == _KEYCAP and before in "0123456789#*"
        )
    if ord(char) in _TAGS:  # a subdivision flag: 🏴 then tags, ended by U+E007F
        return _in_flag(text, at)
    if char == ZWNJ:  # Persian, Hindi...: between two letters of a joining script
        return _script_letter(before) and _script_letter(after)
    return False


def _emoji(char: str) -> bool:
    return char != "" and unicodedata.category(char) == "So"


def _emoji_part(char: str) -> bool:
    return _emoji(char) or char in _VARIATION_SELECTORS or 0x1F3FB <= ord(char or "\0") <= 0x1F3FF


def _script_letter(char: str) -> bool:
    return char != "" and not char.isascii() and unicodedata.category(char)[0] in "LM"


def _in_flag(text: str, at: int) -> bool:
    start = at
    while start > 0 and ord(text[start - 1]) in _TAGS:
        start -= 1
    end = at
    while end + 1 < len(text) and ord(text[end + 1]) in _TAGS:
        end += 1
    return start > 0 and text[start - 1] == _BLACK_FLAG and text[end] == "\U000e007f"


def _describe(char: str) -> str:
    return f"U+{ord(char):04X} {unicodedata.name(char, 'FORMAT CHARACTER')}"


def has_link(text: str) -> bool:
    return LINK.search(_URL_WHITESPACE.sub("", text)) is not None or LINK.search(text) is not None


def has_data_url(text: str) -> bool:
    return DATA_URL.search(_URL_WHITESPACE.sub("", text)) is not None
