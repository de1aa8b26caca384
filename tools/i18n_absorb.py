"""Bring translations from another catalogue into the package's one catalogue.

    python tools/i18n_absorb.py OLD.po LOCALE   # e.g. a branch's src/twonets/web/locale/zh_CN/LC_MESSAGES/messages.po zh_CN
    python tools/i18n_absorb.py --english       # en: an untranslated message reads as its (English) msgid

Every message of OLD.po with a translation that src/twonets/locale/LOCALE lacks (absent, or
present with an empty msgstr) is added with that translation; existing translations are kept.
Then `make i18n` re-extracts from the sources (dropping what no source uses any more) and
tests/unit/core/test_catalogue.py says what is still untranslated. For merging branches that
added web strings to the old per-web catalogs (src/twonets/web/locale, moved to src/twonets/locale).
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent / "src" / "twonets" / "locale"


def absorb(old: Path, locale: str) -> int:
    target = ROOT / locale / "LC_MESSAGES" / "messages.po"
    with old.open("rb") as fh:
        source = read_po(fh, locale=locale)
    with target.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    added = 0
    for m in source:
        if not m.id or not m.string or m.fuzzy:
            continue
        mine = catalog.get(m.id)
        if mine is None:
            catalog.add(m.id, m.string, flags=m.flags)
            added += 1
        elif not mine.string or (not isinstance(mine.string, str) and not all(mine.string)):
            mine.string = m.string
            added += 1
    with target.open("wb") as fh:
        write_po(fh, catalog, sort_output=True)
    return added


def english() -> int:
    """Give every untranslated English entry its msgid (message ids are English text)."""
    target = ROOT / "en" / "LC_MESSAGES" / "messages.po"
    with target.open("rb") as fh:
        catalog = read_po(fh, locale="en")
    filled = 0
    for m in catalog:
        if not m.id or m.fuzzy:
            continue
        if isinstance(m.id, str) and not m.string:
            m.string, filled = m.id, filled + 1
        elif not isinstance(m.id, str) and not all(m.string):
            m.string, filled = (m.id[0], m.id[1]), filled + 1
    with target.open("wb") as fh:
        write_po(fh, catalog, sort_output=True)
    return filled


if __name__ == "__main__":
    if sys.argv[1:] == ["--english"]:
        print(f"{english()} English messages filled in")
        sys.exit(0)
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    print(f"{absorb(Path(sys.argv[1]), sys.argv[2])} translations added to {ROOT / sys.argv[2]}")
