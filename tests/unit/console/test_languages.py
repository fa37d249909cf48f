"""The console's language: Accept-Language first, Chinese when nothing fits."""

from __future__ import annotations

import pytest

from services.console.domain.languages import Language, negotiate, parse_language


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, Language.ZH_CN),
        ("", Language.ZH_CN),
        ("en-US,en;q=0.9", Language.EN),
        ("zh-TW", Language.ZH_CN),
        ("fr-FR, en;q=0.5, zh;q=0.8", Language.ZH_CN),
        ("fr-FR, en;q=0.8, zh;q=0.5", Language.EN),
        ("en;q=0, zh;q=0.1", Language.ZH_CN),
        ("en;q=oops", Language.ZH_CN),
        ("de, fr", Language.ZH_CN),
        ("EN_gb", Language.EN),
    ],
)
def test_accept_language_picks_the_best_language_the_console_has(
    header: str | None, expected: Language
) -> None:
    assert negotiate(header) is expected


def test_the_switch_names_languages_by_their_tags() -> None:
    assert parse_language("zh-CN") is Language.ZH_CN
    assert parse_language("en") is Language.EN
    assert parse_language("ja") is None
    assert parse_language(None) is None
    assert Language.ZH_CN.gettext_locale == "zh_CN"
