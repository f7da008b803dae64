"""Text search over what a worker's public card shows, as an indexed prefix lookup.

Words are folded to ``[a-z0-9]`` ("Pedagang Sayur, Garut" → pedagang, sayur, garut), so a
search term matches a prefix of a card word with one B-tree range scan per word on SQLite and
PostgreSQL alike. Full names beyond the first name are never indexed: searching must not reveal
more than the card shows.
"""

import re
import unicodedata
from collections.abc import Iterable

from flask_babel import force_locale
from sqlalchemy import ColumnElement, and_, delete, exists, insert, select

from core.identity import OCCUPATION_LABELS, PROVINCES, Occupation
from extensions import db
from workers.models import Worker, WorkerSearchTerm

ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
TERM_MAX = 40
MAX_TERMS_PER_WORKER = 60
MAX_QUERY_WORDS = 5
_WORD = re.compile(r"[a-z0-9]+")


def fold(text: str | None) -> list[str]:
    """Lower-case ASCII words: accents dropped, punctuation splits words."""
    if not text:
        return []
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return [word[:TERM_MAX] for word in _WORD.findall(ascii_text.lower())]


def occupation_words() -> dict[str, set[str]]:
    """Words of every occupation label in Indonesian and English (people search in both)."""
    words: dict[str, set[str]] = {occupation.value: set() for occupation in Occupation}
    for locale in ("id", "en"):
        with force_locale(locale):
            for occupation, label in OCCUPATION_LABELS.items():
                words[occupation.value].update(fold(str(label)))
    return words


def card_terms(worker: Worker, occupations: dict[str, set[str]]) -> set[str]:
    first_name = worker.full_name.split()[0] if worker.full_name.split() else ""
    terms = set(fold(first_name))
    terms.update(fold(worker.regency))
    terms.update(fold(PROVINCES.get(worker.province_code, "")))
    terms.update(occupations.get(worker.occupation, set()))
    terms.update(word for word in fold(worker.story) if len(word) >= 3)
    return set(sorted(terms)[:MAX_TERMS_PER_WORKER])


def index_workers(workers: Iterable[Worker], *, replace: bool = False) -> None:
    """Write the search terms of ``workers`` (flushed, with ids)."""
    workers = list(workers)
    if not workers:
        return
    if replace:
        ids = [worker.id for worker in workers]
        db.session.execute(delete(WorkerSearchTerm).where(WorkerSearchTerm.worker_id.in_(ids)))
    occupations = occupation_words()
    rows = [
        {"term": term, "worker_id": worker.id}
        for worker in workers
        for term in card_terms(worker, occupations)
    ]
    if rows:
        db.session.execute(insert(WorkerSearchTerm), rows)


def _upper_bound(prefix: str) -> str | None:
    """The smallest string above every string starting with ``prefix`` in ALPHABET order."""
    stripped = prefix.rstrip(ALPHABET[-1])
    if not stripped:
        return None
    last = stripped[-1]
    return stripped[:-1] + ALPHABET[ALPHABET.index(last) + 1]


def _term_range(word: str) -> list[ColumnElement[bool]]:
    in_range = [WorkerSearchTerm.term >= word]
    upper = _upper_bound(word)
    if upper is not None:
        in_range.append(WorkerSearchTerm.term < upper)
    return in_range


def search_condition(query: str, *, probe: bool = False) -> ColumnElement[bool] | None:
    """Every word of ``query`` must start a word of the card; None for an empty query.

    Two forms of the same condition, for two plans (issue 16). By default the matching workers
    are found from the words (``id IN``: one range scan of the primary key per word), then
    sorted: right for a rare word. With ``probe`` each worker is checked by its own terms
    (``EXISTS``, one seek in ix_worker_search_terms_worker_term per worker): right for a common
    word, where walking the directory's order index and probing finds a page's 24 workers
    long before the matches could all be read and sorted.
    """
    words = fold(query)[:MAX_QUERY_WORDS]
    if not words:
        return None
    conditions = []
    for word in dict.fromkeys(words):
        if probe:
            conditions.append(
                exists().where(WorkerSearchTerm.worker_id == Worker.id, *_term_range(word))
            )
        else:
            matching = select(WorkerSearchTerm.worker_id).where(*_term_range(word))
            conditions.append(Worker.id.in_(matching))
    return and_(*conditions)
