"""One adapter per way a message leaves Payung: WhatsApp (Cloud API), SMS (a provider's HTTP
API), email (SMTP) and the outbox (nothing configured). Each takes a :class:`Outgoing` and
answers a :class:`Receipt` or raises :class:`SendError`; none of them touches the database."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Outgoing:
    """What an adapter needs: the whole text (codes included), and the key that makes a
    provider take it once however often it is retried."""

    message_id: int
    recipient: str
    text: str
    subject: str | None = None
    locale: str = "id"
    template: str | None = None
    params: tuple[str, ...] = ()
    callback_url: str | None = None
    idempotency_key: str = ""

    @property
    def reference(self) -> str:
        return f"msg-{self.message_id}"


@dataclass(frozen=True)
class Receipt:
    reference: str  # the provider's id for the message
    delivered: bool = False  # True when sending is delivering (SMTP, the outbox)
    keeps_text: bool = False  # the outbox shows the text, so the sealed copy stays
    reports: bool = True  # a delivery report will follow (else no fallback is waited for)


@dataclass
class SendError(Exception):
    """The provider did not take the message. ``transient`` errors (no answer, 5xx, 429) are
    tried again later; the others fail the message on this channel at once."""

    reason: str
    transient: bool = False
    details: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.reason
