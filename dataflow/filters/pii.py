"""Personal data in documents: found by kind, replaced with a typed placeholder (or the document dropped).

Kinds and how each is told apart from look-alikes (numbers are everywhere in web text):

- `email`: local part, "@", a dotted domain ending in letters. Role addresses a site publishes
  (`info@`, `press@`) may be kept through `allowed_emails` (regular expressions).
- `phone`: an international number (`+` and country code, 8 to 15 digits, ITU-T E.164) or a
  common national layout: North American `(555) 123-4567` / `555-123-4567`, European and East
  Asian numbers with a leading trunk 0 (`030 12345678`, `01 23 45 67 89`, `03-1234-5678`,
  `020 7946 0958`), Chinese mobile numbers (`138 0013 8000`). Bare digit runs are not phones.
- `ipv4`: four dotted octets of at most 255, not preceded by a version word or a `v`
  ("version 1.2.3.4", "v10.0.0.1") and not part of a longer dotted run; `ipv6`: anything
  Python's `ipaddress` accepts with at least two colons, so clock times ("12:30:45") never match.
- `credit_card`: 13 to 19 digits in groups, a card network's prefix (Visa, Mastercard, Amex,
  Discover, JCB, UnionPay) and a valid Luhn check digit (ISO/IEC 7812).
- `iban`: country code, check digits and up to 30 letters or digits whose ISO 13616 mod-97
  checksum is 1.

The regular expressions follow the kind of detectors BigScience (ROOTS, `bigscience-workshop/
data-preparation`, pii_manager) and StarCoder's PII pipeline use, with the checksums added so a
random number rarely passes. E-mail addresses are replaced first; the other kinds are found in one
pass, an IBAN tried before an IP address, a phone number before a card number, at each position.
Placeholders hold no digits or "@", so one kind's replacement is never matched by another's pattern.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Literal

from pydantic import field_validator

from dataflow.config import StrictModel

Kind = Literal["email", "iban", "credit_card", "ipv6", "ipv4", "phone"]
KINDS: tuple[str, ...] = ("email", "iban", "credit_card", "ipv6", "ipv4", "phone")
PLACEHOLDERS = {kind: f"<{kind.upper()}>" for kind in KINDS}

_EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]{1,64}@(?:[\w-]{1,63}\.)+[A-Za-z]{2,24}(?![\w-])")
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])")
_CARD = re.compile(r"(?<![\d.,/-])\d{4}(?:[ -]?\d{2,4}){2,4}\d{0,3}(?![\d.,]\d|\d)")
_CARD_PREFIX = re.compile(r"4|5[1-5]|2[2-7]|3[47]|6(?:011|5|2)|35")
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?![\w:])")
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
_DATE = re.compile(r"\d{1,4}[/.-]\d{1,2}[/.-]\d{2,4}")  # 05/12/2020, 04-13-2023: dates, not phones
_VERSION_WORD = re.compile(r"\b(?:version|versión|release|build|ver|v|firmware|update)\.?\s*$", re.IGNORECASE)
_PHONE = re.compile(
    r"(?<![A-Za-z0-9_+/])(?<![0-9][ .-])(?:"  # ASCII boundaries: Chinese or Japanese text may touch a number
    r"\+\d{1,3}[ .-]?(?:\(0?\d{1,4}\)|\d{1,4})(?:[ .-]?\d{2,4}){1,4}"  # international, E.164
    r"|\(\d{3}\) ?\d{3}[ .-]\d{4}|\d{3}[.-]\d{3}[.-]\d{4}"  # North America
    r"|\(0\d{1,4}\) ?\d{3,8}(?:[ -]\d{2,4}){0,2}"  # (030) 1234567
    r"|0[1-9]\d{0,3}(?:[ /-]\d{2,8}){1,4}"  # trunk 0: 030 12345678, 01 23 45 67 89, 03-1234-5678
    r"|1[3-9]\d(?:[ -]?\d{4}){2}"  # Chinese mobile
    r")(?![A-Za-z0-9_(/-]|[.,]\d)"
)


class PiiConfig(StrictModel):
    """Settings of personal-data removal in the filter stage (after the rules, on kept documents)."""

    enabled: bool = True
    """Find personal data in kept documents; off leaves the text as it is."""
    action: Literal["mask", "drop"] = "mask"
    """`mask` replaces each finding with a typed placeholder (<EMAIL>, <PHONE>, ...); `drop` rejects
    the document as `pii`, with the number of findings as the value."""
    kinds: list[Kind] = list(KINDS)
    """Kinds of personal data to find: email, iban, credit_card, ipv6, ipv4, phone."""
    allowed_emails: list[str] = []
    """Regular expressions of e-mail addresses to keep (public role addresses), e.g. ["^(info|press)@"]."""

    @field_validator("allowed_emails")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as err:
                raise ValueError(f"allowed_emails pattern {pattern!r} is not a regular expression: {err}") from None
        return patterns


def find_and_mask(text: str, config: PiiConfig) -> tuple[str, dict[str, int]]:
    """`text` with every finding replaced by its placeholder, and the number of findings per kind.

    >>> find_and_mask("Mail jane.doe@example.org or call +44 20 7946 0958.", PiiConfig())
    ('Mail <EMAIL> or call <PHONE>.', {'email': 1, 'phone': 1})
    """
    counts: dict[str, int] = {}
    allowed = [re.compile(pattern, re.IGNORECASE) for pattern in config.allowed_emails]

    def replace(match: re.Match) -> str:
        kind, found = match.lastgroup, match.group()
        if kind not in config.kinds or not _ACCEPT[kind](found, match.string, match.start()):
            return found
        if kind == "email" and any(pattern.search(found) for pattern in allowed):
            return found
        counts[kind] = counts.get(kind, 0) + 1
        return PLACEHOLDERS[kind]

    if "@" in text:
        text = _EMAIL_GROUP.sub(replace, text)
    return _NUMBERS.sub(replace, text), counts


def luhn_valid(digits: str) -> bool:
    """ISO/IEC 7812 check digit.

    >>> luhn_valid("4111111111111111"), luhn_valid("4111111111111112")
    (True, False)
    """
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    """ISO 13616: move the first four characters to the end, letters to 10..35, the number mod 97 is 1.

    >>> iban_valid("DE89 3704 0044 0532 0130 00"), iban_valid("DE88 3704 0044 0532 0130 00")
    (True, False)
    """
    compact = iban.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _card(found: str, text: str, start: int) -> bool:
    digits = re.sub(r"\D", "", found)
    return 13 <= len(digits) <= 19 and _CARD_PREFIX.match(digits) is not None and luhn_valid(digits)


def _ipv4(found: str, text: str, start: int) -> bool:
    if any(int(octet) > 255 or (len(octet) > 1 and octet[0] == "0") for octet in found.split(".")):
        return False
    return _VERSION_WORD.search(text[max(0, start - 12):start]) is None


def _ipv6(found: str, text: str, start: int) -> bool:
    try:
        ipaddress.IPv6Address(found)
    except ValueError:
        return False
    return found.count(":") >= 2 and len(found) >= 6


def _phone(found: str, text: str, start: int) -> bool:
    digits = sum(char.isdigit() for char in found)
    return 8 <= digits <= 15 and _DATE.fullmatch(found) is None


_EMAIL_GROUP = re.compile(f"(?P<email>{_EMAIL.pattern})")
#: The other kinds in one pass (one scan costs a fifth of five): alternatives in priority order, so
#: at one position an IBAN is tried before a phone and a phone before a card number. The leading
#: lookahead lets the engine skip positions no alternative can start at.
_NUMBERS = re.compile("(?=[0-9A-Z+(:])(?:" + "|".join(f"(?P<{kind}>{pattern.pattern})" for kind, pattern in (
    ("iban", _IBAN), ("ipv6", _IPV6), ("ipv4", _IPV4), ("phone", _PHONE), ("credit_card", _CARD))) + ")")
_ACCEPT: dict[str, Callable[[str, str, int], bool]] = {
    "email": lambda found, text, start: True, "iban": lambda found, text, start: iban_valid(found),
    "credit_card": _card, "ipv6": _ipv6, "ipv4": _ipv4, "phone": _phone}
