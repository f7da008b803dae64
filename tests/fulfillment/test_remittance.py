"""The daily remittance file per insurer and the reconciliation of its confirmation file."""

import csv
import io
from datetime import date

import pytest
from sqlalchemy import select

from accounts.models import Role
from extensions import db
from fulfillment.models import Remittance, RemittanceFile, RemittanceStatus
from fulfillment.partners.remittance import (
    ConfirmationRefused,
    build_remittance_file,
    reconcile_confirmation,
    remittance_csv,
)
from fulfillment.services import start_fulfillment
from tests.fulfillment.support import (
    make_combofit,
    make_paid_order,
    make_workers,
    run_until_settled,
)
from vault import decrypt


@pytest.fixture
def remitted(app, sandbox):
    combo = make_combofit(codes=5)
    start_fulfillment(make_paid_order(combo.bundle, make_workers(3)))
    db.session.commit()
    run_until_settled(step_s=30)
    remittances = db.session.scalars(select(Remittance).order_by(Remittance.id)).all()
    assert len(remittances) == 3
    return combo, remittances


def confirmation(rows, header="reference,remittance_id,amount_idr,status"):
    return ("\ufeff" + header + "\n" + "\n".join(",".join(map(str, r)) for r in rows)).encode()


def test_the_daily_file_lists_every_remittance_of_the_insurers_day(remitted):
    combo, remittances = remitted
    day = remittances[0].business_date
    file = build_remittance_file(combo.insurer, day)
    db.session.commit()
    assert (file.row_count, file.total_idr) == (3, sum(r.amount_idr for r in remittances))
    rows = list(csv.DictReader(io.StringIO(remittance_csv(file))))
    assert [row["reference"] for row in rows] == [r.reference for r in remittances]
    assert rows[0]["kpj"] == decrypt(remittances[0].kpj_encrypted)
    assert len(rows[0]["kpj"]) == 11
    assert rows[0]["months"] == "2026-01 2026-02 2026-03"
    assert rows[0]["programmes"] == "JKK+JKM"
    # another day, or another partner, has nothing
    assert build_remittance_file(combo.insurer, date(2020, 1, 1)).row_count == 0
    # running it again gives the same file
    again = build_remittance_file(combo.insurer, day)
    assert again.id == file.id and again.row_count == 3


def test_a_matching_confirmation_confirms_and_differences_are_flagged(remitted):
    combo, remittances = remitted
    file = build_remittance_file(combo.insurer, remittances[0].business_date)
    first, second, third = remittances
    report = reconcile_confirmation(
        file,
        confirmation(
            [
                (first.reference, first.partner_remittance_id, first.amount_idr, "accepted"),
                (second.reference, second.partner_remittance_id, second.amount_idr + 1, "accepted"),
                ("pyg_not_ours", "rem_x", 1000, "accepted"),
            ]
        ),
    )
    db.session.commit()
    assert report.confirmed == 1
    assert report.unknown == [(4, "pyg_not_ours")]
    assert report.missing == [third.reference]
    statuses = {r.reference: (r.status, r.mismatch) for r in db.session.scalars(select(Remittance))}
    assert statuses[first.reference] == (RemittanceStatus.CONFIRMED, None)
    assert statuses[second.reference][0] == RemittanceStatus.MISMATCH
    assert "amount" in statuses[second.reference][1]
    assert statuses[third.reference][0] == RemittanceStatus.MISMATCH
    file = db.session.get(RemittanceFile, file.id)
    assert (file.confirmed_count, file.mismatch_count, file.missing_count) == (1, 1, 1)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff\xfe not utf-8",
        b"reference,amount_idr\nx,1\n",
        confirmation([("pyg_a", "rem_1", "12.5", "accepted")]),
        confirmation([("pyg_a", "rem_1", "100", "maybe")]),
        confirmation(
            [("pyg_a", "rem_1", "100", "accepted"), ("pyg_a", "rem_1", "100", "accepted")]
        ),
        confirmation([("pyg_a", "rem_1", "100")]),
    ],
)
def test_a_bad_confirmation_file_is_refused_whole_and_changes_nothing(app, remitted, data):
    combo, remittances = remitted
    file = build_remittance_file(combo.insurer, remittances[0].business_date)
    db.session.commit()
    with pytest.raises(ConfirmationRefused) as refused:
        reconcile_confirmation(file, data)
    with app.test_request_context():
        assert refused.value.problems and all(str(p.message) for p in refused.value.problems)
    db.session.rollback()
    assert {r.status for r in db.session.scalars(select(Remittance))} == {RemittanceStatus.ACCEPTED}
    assert db.session.get(RemittanceFile, file.id).confirmation_uploaded_at is None


def test_the_admin_makes_downloads_and_reconciles_files(remitted, client, login_as, make_user):
    combo, remittances = remitted
    login_as(make_user(Role.ADMIN))
    day = remittances[0].business_date
    page = client.get("/admin/fulfillment/remittances")
    assert page.status_code == 200 and combo.insurer.name in page.text
    made = client.post(
        "/admin/fulfillment/remittances",
        data={"partner_id": combo.insurer.id, "business_date": day.isoformat()},
    )
    assert made.status_code == 302
    file = db.session.scalar(select(RemittanceFile))
    download = client.get(f"/admin/fulfillment/remittances/{file.id}.csv")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].endswith(f'"{file.filename}"')
    assert remittances[0].reference in download.text

    bad = client.post(
        f"/admin/fulfillment/remittances/{file.id}/confirmation",
        data={"confirmation": (io.BytesIO(b"nonsense"), "confirm.csv")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422
    assert db.session.get(RemittanceFile, file.id).confirmation_uploaded_at is None

    rows = [(r.reference, r.partner_remittance_id, r.amount_idr, "accepted") for r in remittances]
    good = client.post(
        f"/admin/fulfillment/remittances/{file.id}/confirmation",
        data={"confirmation": (io.BytesIO(confirmation(rows)), "confirm.csv")},
        content_type="multipart/form-data",
    )
    assert good.status_code == 200
    statuses = {r.status for r in db.session.scalars(select(Remittance))}
    assert statuses == {RemittanceStatus.CONFIRMED}


def test_the_cli_writes_the_file_and_reconciles(remitted, app, tmp_path):
    combo, remittances = remitted
    day = remittances[0].business_date.isoformat()
    runner = app.test_cli_runner()
    out = tmp_path / "file.csv"
    result = runner.invoke(
        args=[
            "fulfillment",
            "remittance-file",
            "--insurer",
            combo.insurer.id,
            "--date",
            day,
            "--output",
            str(out),
        ]
    )
    assert result.exit_code == 0, result.output
    assert out.read_text().count("\n") == 4
    answer = tmp_path / "confirm.csv"
    answer.write_bytes(
        confirmation(
            [(r.reference, r.partner_remittance_id, r.amount_idr, "accepted") for r in remittances]
        )
    )
    result = runner.invoke(
        args=["fulfillment", "reconcile", "--insurer", combo.insurer.id, "--date", day, str(answer)]
    )
    assert result.exit_code == 0, result.output
    assert "confirmed=3" in result.output
    refused = runner.invoke(args=["fulfillment", "remittance-file", "--insurer", "999999"])
    assert refused.exit_code != 0
