"""The insurer's member register: one KPJ per person, and which months each KPJ has paid.

KPJ numbers are derived from the person's identity (NIK or Payung's NIK hash), so the same
person gets the same 11-digit KPJ again, even after ``/_reset`` or a restart. NIKs are never
stored: the register keys people by a SHA-256 digest. Members and paid months are kept in the
sandbox's storage, so they survive a restart.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import date

from sandbox.storage import Storage

# Kemendagri province codes (domain/bpjs-bpu.md); a NIK outside them cannot be in the registry.
_PROVINCES = (
    "11 12 13 14 15 16 17 18 19 21 31 32 33 34 35 36 51 52 53 61 62 63 64 65 "
    "71 72 73 74 75 76 81 82 91 92 93 94 95 96"
)
PROVINCE_CODES = frozenset(_PROVINCES.split())
KPJ_DIGITS = 11


@dataclass(frozen=True)
class Member:
    kpj: str
    registered_at: str


def identity_digest(*, nik: str | None, nik_hash: str | None) -> str:
    identity = f"nik:{nik}" if nik is not None else f"nik_hash:{nik_hash}"
    return hashlib.sha256(identity.encode()).hexdigest()


def derive_kpj(digest: str, attempt: int = 0) -> str:
    number = int(hashlib.sha256(f"kpj|{attempt}|{digest}".encode()).hexdigest(), 16)
    low = 10 ** (KPJ_DIGITS - 1)
    return str(low + number % (9 * low))


def nik_birth_parts(nik: str) -> tuple[int, int, int] | None:
    """(day, month, two-digit year) encoded in a NIK, or None if it encodes no real date."""
    day, month, year = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    if day > 40:  # women: day + 40
        day -= 40
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return None
    return day, month, year


def nik_exists(nik: str) -> bool:
    """Stand-in for the civil-registry check: region, date and serial must be possible."""
    return nik[:2] in PROVINCE_CODES and nik_birth_parts(nik) is not None and nik[12:] != "0000"


def nik_warnings(nik: str, birth_date: date) -> list[str]:
    """Mismatches the real registry tolerates (domain file: treat them as warnings)."""
    parts = nik_birth_parts(nik)
    if parts is None or parts == (birth_date.day, birth_date.month, birth_date.year % 100):
        return []
    return ["nik_birth_date_mismatch"]


class MemberRegistry:
    def __init__(self, storage: Storage | None = None) -> None:
        self._lock = threading.Lock()
        self._storage = storage or Storage()
        self.clear()
        with self._lock:
            for digest, value in self._storage.load("members").items():
                member = Member(value["kpj"], value["registered_at"])
                self._by_identity[digest] = member
                self._identity_by_kpj[member.kpj] = digest
            for kpj, months in self._storage.load("paid_months").items():
                self._paid_months[kpj] = set(months)

    def clear(self) -> None:
        with self._lock:
            self._by_identity: dict[str, Member] = {}
            self._identity_by_kpj: dict[str, str] = {}
            self._paid_months: dict[str, set[str]] = {}

    def register(self, digest: str, registered_at: str) -> tuple[Member, bool]:
        """Return the person's member record and whether it was created now."""
        with self._lock:
            existing = self._by_identity.get(digest)
            if existing is not None:
                return existing, False
            attempt, kpj = 0, derive_kpj(digest)
            while self._identity_by_kpj.get(kpj, digest) != digest:
                attempt += 1
                kpj = derive_kpj(digest, attempt)
            member = Member(kpj, registered_at)
            self._by_identity[digest] = member
            self._identity_by_kpj[kpj] = digest
        self._storage.put("members", digest, {"kpj": kpj, "registered_at": registered_at})
        return member, True

    def is_member(self, kpj: str) -> bool:
        with self._lock:
            return kpj in self._identity_by_kpj

    def record_paid_months(self, kpj: str, months: list[str]) -> int:
        """Remember paid months; return how many of them had been paid before."""
        with self._lock:
            paid = self._paid_months.setdefault(kpj, set())
            already_paid = len(paid.intersection(months))
            paid.update(months)
            months_now = sorted(paid)
        self._storage.put("paid_months", kpj, months_now)
        return already_paid
