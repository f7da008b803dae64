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
from sqlalchemy import ColumnElement, and_, bindparam, delete, exists, insert, select

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


def query_terms(query: str) -> list[tuple[str, str | None]]:
    """The query's distinct words (at most MAX_QUERY_WORDS), each with the upper end of its
    prefix range (None when no string is above the prefix)."""
    words = dict.fromkeys(fold(query)[:MAX_QUERY_WORDS])
    return [(word, _upper_bound(word)) for word in words]


def term_values(query: str) -> dict[str, str]:
    """The bound values of ``search_condition(query)``, by parameter name: a statement built
    for one query serves another of the same shape (``query_shape``) with these values."""
    values = {}
    for n, (word, upper) in enumerate(query_terms(query)):
        values[f"term_from_{n}"] = word
        if upper is not None:
            values[f"term_to_{n}"] = upper
    return values


def query_shape(query: str) -> tuple[bool, ...]:
    """What a statement built for ``query`` depends on: per word, whether its range has an
    upper end. Two queries of the same shape differ only in ``term_values``."""
    return tuple(upper is not None for _, upper in query_terms(query))


def term_range(
    word: str, upper: str | None, n: int, term: ColumnElement[str] = WorkerSearchTerm.term
) -> list[ColumnElement[bool]]:
    """``term`` starts with ``word``: a range with named bound values (see ``term_values``)."""
    in_range = [term >= bindparam(f"term_from_{n}", word)]
    if upper is not None:
        in_range.append(term < bindparam(f"term_to_{n}", upper))
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
    terms = query_terms(query)
    if not terms:
        return None
    conditions = []
    for n, (word, upper) in enumerate(terms):
        if probe:
            conditions.append(
                exists().where(WorkerSearchTerm.worker_id == Worker.id, *term_range(word, upper, n))
            )
        else:
            matching = select(WorkerSearchTerm.worker_id).where(*term_range(word, upper, n))
            conditions.append(Worker.id.in_(matching))
    return and_(*conditions)
