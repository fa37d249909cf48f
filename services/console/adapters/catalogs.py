"""The console's message catalogs: gettext `.po` files read with Babel when the service starts.

The `.po` files are the translations' only form in the repository: they are compiled in
memory at start-up, so nobody runs a compile step by hand and no `.mo` file can be stale.
English is the source language (the message ids), so it needs no catalog.
"""

from __future__ import annotations

import gettext
import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from services.console.domain.languages import Language

LOCALES = Path(__file__).resolve().parents[1] / "locales"
DOMAIN = "console"


def catalog_path(language: Language) -> Path:
    """Where the `.po` file of `language` lives."""
    return LOCALES / language.gettext_locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def load_translations(language: Language) -> gettext.NullTranslations:
    """The translations of `language`, compiled from its `.po` file (none for English)."""
    path = catalog_path(language)
    if language is Language.EN:
        return gettext.NullTranslations()
    with path.open("rb") as file:
        catalog = read_po(file, locale=language.gettext_locale, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def load_all() -> dict[Language, gettext.NullTranslations]:
    """Every language's translations, loaded once at start-up."""
    return {language: load_translations(language) for language in Language}
