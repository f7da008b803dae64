"""Issue 13, item 12: a NIK coded for a woman (day of birth + 40) is never saved with the
gender "male" (nor the other way round), in registration and in enrolment; and a mobile number
that is too short is told so, not that it must start with 08."""

from datetime import date

import pytest
from sqlalchemy import func, select

from core.identity import Gender, InvalidNik, InvalidPhone, check_nik, normalize_phone
from extensions import db
from tests.sponsorship.conftest import make_nik, registration_form
from tests.sponsorship.test_enrolment_service import api_row
from workers.enrolment.bulk import enrol_workers
from workers.models import EnrolmentSource, ImportRowStatus, Worker

TODAY = date(2025, 6, 15)
WOMAN = "3201015205900001"  # day 52: a woman born 12 May 1990
MAN = "3201011205900001"  # day 12: a man born 12 May 1990


def workers() -> int:
    return db.session.scalar(select(func.count()).select_from(Worker)) or 0


@pytest.mark.parametrize(("nik", "entered"), [(WOMAN, Gender.MALE), (MAN, Gender.FEMALE)])
def test_a_nik_coded_for_the_other_gender_is_refused(nik, entered):
    with pytest.raises(InvalidNik) as refused:
        check_nik(nik, gender=entered, today=TODAY)
    assert refused.value.code == "gender"
    assert "40" in str(refused.value.message)  # says how the NIK codes a woman


def test_the_nik_alone_still_gives_the_gender():
    assert check_nik(WOMAN, today=TODAY).gender == Gender.FEMALE
    assert check_nik(MAN, gender=Gender.MALE, today=TODAY).gender == Gender.MALE


def test_registration_refuses_a_womans_nik_with_the_gender_male(client, login_as, worker_user):
    login_as(worker_user)
    response = client.post(
        "/saya/daftar", data=registration_form(nik=make_nik(female=True), gender="male")
    )
    assert response.status_code == 200
    assert "perempuan" in response.text and "laki-laki" in response.text
    assert workers() == 0


def test_enrolment_refuses_a_row_whose_nik_and_gender_disagree(app, agent):
    with app.test_request_context():
        outcomes = enrol_workers(
            [api_row(1, gender="female"), api_row(2)],
            agent_partner=agent,
            source=EnrolmentSource.AGENT_API,
        )
        messages = [str(m) for m in outcomes[0].messages]
    db.session.commit()
    assert [o.status for o in outcomes] == [ImportRowStatus.REFUSED, ImportRowStatus.IMPORTED]
    assert any(m.startswith("nik:") and "laki-laki" in m for m in messages), messages
    assert db.session.scalars(select(Worker.gender)).all() == [Gender.MALE]


@pytest.mark.parametrize("raw", ["0812 77", "081277", "0812", "08127", "+62 812 77"])
def test_a_short_mobile_number_is_told_it_is_too_short(raw):
    with pytest.raises(InvalidPhone) as refused:
        normalize_phone(raw)
    assert refused.value.code == "length"
    assert "too short" in str(refused.value.message)


def test_a_long_mobile_number_is_told_it_is_too_long():
    with pytest.raises(InvalidPhone) as refused:
        normalize_phone("0812 3456 7890 1234 5678")
    assert refused.value.code == "length"
    assert "too long" in str(refused.value.message)


def test_the_worker_sign_in_form_says_too_short_in_indonesian(client):
    response = client.post("/masuk/pekerja", data={"phone": "0812 77"})
    assert "terlalu pendek" in response.text
    assert "diawali 08" not in response.text
