"""The messages log: every outbound message with its status, filters that work, and no phone
number or code readable in it."""

from datetime import UTC, datetime

from sqlalchemy import update

from accounts.models import Role
from admin.masking import mask_recipient, mask_secrets
from extensions import db
from messaging.models import Channel, Message, MessageStatus
from messaging.services import queue_message

PHONE = "+6281234560001"
OTHER_PHONE = "+6285712340002"
OTP = "Payung: your sign-in code is 482913. Valid for 10 minutes. Never share it with anyone."
CLAIM = (
    "Payung: you have received ComboFit. Your bundle code: 7KQ2-M9XP-R4TW-H8NC-5. "
    "Claim it at https://payung.test/klaim. Never share this code."
)
VOUCHER = (
    "Payung: ComboFit. Fita voucher: FITA-12-00000001. BPJS KPJ 12345678901, "
    "covered until 31-01-2026."
)
INVITE = "Open https://payung.test/undangan/q2Zr8Kx_1bWv-Pf3Lm9TnY0sHcD4eGjA to agree."


def test_codes_tokens_and_numbers_are_hidden_but_words_dates_and_references_stay():
    assert mask_secrets(OTP) == OTP.replace("482913", "••••")
    assert "7KQ2" not in mask_secrets(
        CLAIM
    ) and "Claim it at https://payung.test/klaim" in mask_secrets(CLAIM)
    shown = mask_secrets(VOUCHER)
    assert "FITA-12" not in shown and "12345678901" not in shown and "31-01-2026" in shown
    assert "q2Zr8Kx" not in mask_secrets(INVITE)
    assert (
        mask_secrets("Order PY-AB12CD34 paid: Rp1.600.000") == "Order PY-AB12CD34 paid: Rp1.600.000"
    )
    assert mask_secrets("call 0812 3456 0001") == "call ••••"
    assert mask_recipient(PHONE) == "+62 812-••••-001"
    assert mask_recipient("ani@example.test") == "ani@example.test"


def send(channel, recipient, body, *, purpose, status=MessageStatus.SENT, day=(2026, 3, 1)):
    message = queue_message(channel=channel, recipient=recipient, body=body, purpose=purpose)
    db.session.commit()  # delivered (to the outbox) after the commit
    db.session.execute(
        update(Message)
        .where(Message.id == message.id)
        .values(status=status, created_at=datetime(*day, 4, tzinfo=UTC))
    )
    db.session.commit()
    return message


def test_the_log_masks_phones_and_codes_and_filters(admin, count_queries):
    send(Channel.SMS, PHONE, OTP, purpose="sign_in", day=(2026, 1, 10))
    send(Channel.WHATSAPP, OTHER_PHONE, CLAIM, purpose="claim_code", day=(2026, 2, 10))
    send(Channel.SMS, OTHER_PHONE, VOUCHER, purpose="sms_reply", status=MessageStatus.FAILED)
    send(Channel.EMAIL, "ani@example.test", "Your receipt for PY-AB12CD34", purpose="receipt")

    page = admin.get("/admin/pesan/").text
    for secret in (PHONE, PHONE[3:], "482913", "7KQ2-M9XP", "FITA-12", "12345678901"):
        assert secret not in page
    assert "+62 812-••••-001" in page and "+62 857-••••-002" in page
    assert "Valid for 10 minutes" in page and "PY-AB12CD34" in page

    def shown(**args):
        response = admin.get("/admin/pesan/", query_string=args)
        assert response.status_code == 200
        text = response.text
        return [p for p in ("sign_in", "claim_code", "sms_reply", "receipt") if f">{p}<" in text]

    assert shown(channel="whatsapp") == ["claim_code"]
    assert shown(status="failed") == ["sms_reply"]
    assert shown(purpose="receipt") == ["receipt"]
    assert sorted(shown(recipient="0857 1234 0002")) == ["claim_code", "sms_reply"]
    assert shown(recipient="ANI@example.test") == ["receipt"]
    assert shown(**{"from": "2026-01-01", "to": "2026-01-31"}) == ["sign_in"]

    with count_queries() as statements:
        admin.get("/admin/pesan/")
    assert len(statements) == 3  # the admin, count, page


def test_bad_filters_say_so_and_show_nothing(admin):
    send(Channel.SMS, PHONE, OTP, purpose="sign_in")
    for args in ({"recipient": "12"}, {"from": "2026-02-30"}):
        response = admin.get("/admin/pesan/", query_string=args)
        assert response.status_code == 400
        assert "alert-error" in response.text and ">sign_in<" not in response.text


def test_only_admins_read_the_log(client, login_as, make_user):
    assert client.get("/admin/pesan/").status_code == 302
    login_as(make_user(Role.PARTNER))
    assert client.get("/admin/pesan/").status_code == 403


def test_the_log_shows_delivery_fallback_and_the_providers_reason(admin):
    delivered = Message(
        channel=Channel.SMS, recipient=PHONE, body="Payung: halo", purpose="claim_code"
    )
    delivered.transition(MessageStatus.SENT)
    delivered.transition(MessageStatus.DELIVERED)
    delivered.delivered_at = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
    delivered.error = "whatsapp: 131026: Message undeliverable to +6281234567890"
    waiting = Message(
        channel=Channel.WHATSAPP,
        recipient=OTHER_PHONE,
        body="Payung: kabar",
        purpose="news",
        fallback_channel="sms",
    )
    waiting.transition(MessageStatus.SENT)
    db.session.add_all([delivered, waiting])
    db.session.commit()
    page = admin.get("/admin/pesan/?status=delivered").text
    assert "131026: Message undeliverable" in page and "6281234567890" not in page
    assert '<span class="small">sampai ' in page  # when the provider reported it delivered
    page = admin.get("/admin/pesan/?status=sent").text
    assert "Payung: kabar" in page and "bila tidak sampai" in page
