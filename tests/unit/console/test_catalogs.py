"""Every string the console shows has its Chinese translation, with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir

from services.console.adapters.catalogs import load_translations
from services.console.domain.languages import Language

CONSOLE = Path(__file__).resolve().parents[3] / "services" / "console"
PLACEHOLDER = re.compile(r"%\(\w+\)s")


def messages() -> set[str]:
    """Every message id in the console's templates and code (`_`, `gettext`, `N_`)."""
    found = set()
    for _, _, message, _, _ in extract_from_dir(
        str(CONSOLE),
        method_map=[("**/templates/**.html", "jinja2"), ("**.py", "python")],
        keywords={"_": None, "gettext": None, "N_": None},
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_message_is_translated_to_chinese_with_its_placeholders() -> None:
    found = messages()
    assert len(found) > 100, "the extraction found almost nothing: is the method map right?"
    chinese = load_translations(Language.ZH_CN)
    untranslated = sorted(m for m in found if chinese.gettext(m) == m)
    assert untranslated == []
    for message in found:
        translated = chinese.gettext(message)
        assert sorted(PLACEHOLDER.findall(translated)) == sorted(PLACEHOLDER.findall(message)), (
            message
        )


def test_english_is_the_source_language() -> None:
    english = load_translations(Language.EN)
    assert english.gettext("Take a call") == "Take a call"
    assert load_translations(Language.ZH_CN).gettext("Take a call") == "接听来电"
