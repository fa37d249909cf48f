"""The console's languages and how the first one is chosen (Accept-Language)."""

from __future__ import annotations

from enum import StrEnum


class Language(StrEnum):
    """A language the console is written in; the value is its BCP 47 tag."""

    ZH_CN = "zh-CN"
    EN = "en"

    @property
    def gettext_locale(self) -> str:
        """The catalog's locale name (`zh_CN`, `en`)."""
        return self.value.replace("-", "_")


DEFAULT_LANGUAGE = Language.ZH_CN
"""The staff of a property group read Chinese; English is for the others."""


def parse_language(value: str | None) -> Language | None:
    """The console language `value` names (`zh-CN`, `zh`, `en-GB`, ...), or None."""
    if not value:
        return None
    primary = value.strip().lower().replace("_", "-").split("-")[0]
    if primary == "zh":
        return Language.ZH_CN
    if primary == "en":
        return Language.EN
    return None


def negotiate(accept_language: str | None) -> Language:
    """The best of the console's languages for an `Accept-Language` header (RFC 9110).

    Ranges are taken by their `q` weight, highest first, ties in the order given; a range
    of a language the console does not have is skipped; nothing usable gives Chinese.
    """
    ranked: list[tuple[float, int, Language]] = []
    for position, item in enumerate((accept_language or "")[:1024].split(",")):
        tag, _, params = item.partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, number = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(number)
                except ValueError:
                    quality = 0.0
        language = parse_language(tag)
        if language is not None and quality > 0:
            ranked.append((-quality, position, language))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE
