"""Issue 13, item 12: "Pekerja saya" listed the sponsor's invitations but not the workers the
sponsor paid for. It now lists them with their cover (whoever paid), never a NIK or phone."""

from accounts.models import Role
from core.dates import jakarta_today
from extensions import db
from sponsorship.checkout.models import OrderStatus
from sponsorship.dashboard import services as dashboard
from workers.coverage import extend_coverage


def paid(order, status=OrderStatus.PAID):
    order.transition(OrderStatus.PAID)
    if status != OrderStatus.PAID:
        order.transition(status)
    db.session.commit()
    return order


def test_my_workers_lists_the_workers_i_paid_for_with_their_cover(
    client, login_as, sponsor, make_user, catalog, workers, ordered
):
    delivered, delivering, unpaid, others = (
        workers(1, full_name="Sri Rahayu"),
        workers(1, full_name="Agus Salim"),
        workers(1, full_name="Dewi Lestari"),
        workers(1, full_name="Bambang Pamungkas"),
    )
    done = paid(ordered(delivered, catalog.sertakan, months=3), OrderStatus.FULFILLING)
    today = jakarta_today()
    extend_coverage(
        delivered[0],
        months=3,
        first_month=today,
        order_line_id=done.lines[0].id,
        programmes=["JKK", "JKM"],
    )
    done.transition(OrderStatus.FULFILLED)
    db.session.commit()
    paid(ordered(delivering, catalog.sertakan, months=1))
    ordered(unpaid, catalog.sertakan)  # awaiting payment
    paid(ordered(others, catalog.sertakan, who=make_user(Role.SPONSOR)))

    page = login_as(sponsor).get("/sponsor/pekerja-saya").text
    section = page[page.index('id="paid-title"') :]
    assert "Sri R." in section and "Agus S." in section
    assert "Dewi" not in section and "Bambang" not in section
    assert "Terlindungi sampai" in section  # Sri: covered
    assert "3 bulan, sampai" in section and "1 bulan, sampai" in section
    assert "Sedang dikirim" in section  # Agus: paid, parts on their way
    assert f"#{delivered[0].id}" in section
    for worker in (*delivered, *delivering):
        assert worker.full_name not in page
        assert worker.phone_e164 not in page and worker.phone_e164[-9:] not in page


def test_a_sponsor_who_paid_for_nobody_is_told_so(client, login_as, sponsor):
    page = login_as(sponsor).get("/sponsor/pekerja-saya").text
    assert 'id="paid-title"' in page
    assert "Belum ada pekerja yang Anda bayar" in page


def test_the_list_is_paged(client, login_as, sponsor, catalog, workers, ordered, monkeypatch):
    monkeypatch.setattr(dashboard, "PAID_WORKERS_PER_PAGE", 2)
    paid(ordered(workers(3), catalog.sertakan))
    page = login_as(sponsor).get("/sponsor/pekerja-saya?page=2").text
    assert "Halaman 2 dari 2" in page
