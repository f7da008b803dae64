"""Issue 13, item 12 (partner side): the new-offer form starts from what the partner sells,
and the API key page shows the header exactly as the API reads it, ``<key>`` included."""

import re

import pytest
from markupsafe import escape

from bundles.models import PartnerKind
from bundles.offers import default_offer_choices


def selected_options(select: str) -> list[str]:
    return re.findall(r'<option\b[^>]*\sselected\b[^>]*\svalue="([^"]*)"', select) + re.findall(
        r'<option\b[^>]*\svalue="([^"]*)"[^>]*\sselected\b', select
    )


def checked_radios(page: str, name: str) -> list[str]:
    tags = re.findall(r"<input\b[^>]*>", page)
    return [
        re.search(r'value="([^"]*)"', tag).group(1)
        for tag in tags
        if f'name="{name}"' in tag and re.search(r"\schecked\b", tag)
    ]


def kind_select(page: str) -> str:
    return re.search(r'<select[^>]*name="kind".*?</select>', page, re.S).group(0)


@pytest.mark.parametrize(
    ("partner_kind", "offer_kind", "method"),
    [
        (PartnerKind.HEALTH_APP, "health_app", "code_pool"),
        (PartnerKind.TELCO, "data_quota", "code_pool"),
        (PartnerKind.INSURER, "insurance_dues", "dues_remittance"),
        (PartnerKind.OTHER, "other", "code_pool"),
    ],
)
def test_a_new_offer_starts_from_the_kind_of_partner(
    client, login_as, make_partner, partner_kind, offer_kind, method
):
    login_as(make_partner(partner_kind).user)
    page = client.get("/mitra/penawaran/baru").text
    assert selected_options(kind_select(page)) == [offer_kind]
    assert checked_radios(page, "fulfillment_method") == [method]


def test_a_refused_offer_keeps_what_the_partner_chose(partner_client):
    response = partner_client.post(
        "/mitra/penawaran/baru",
        data={"kind": "data_quota", "fulfillment_method": "partner_api", "name_id": "x"},
    )
    assert response.status_code == 200
    assert selected_options(kind_select(response.text)) == ["data_quota"]
    assert checked_radios(response.text, "fulfillment_method") == ["partner_api"]


def test_defaults_follow_the_partner_kind_for_every_kind():
    for kind in PartnerKind:
        offer_kind, method = default_offer_choices(kind)
        assert (offer_kind == "insurance_dues") == (kind == PartnerKind.INSURER)
        assert (method == "dues_remittance") == (kind == PartnerKind.INSURER)


def test_the_api_key_hint_shows_the_header_with_the_key_placeholder(partner_client, app):
    page = partner_client.post("/mitra/kunci-api", data={"name": "stock sync"})
    assert page.status_code == 200
    # Text a browser shows: "<key>" must be escaped, or it vanishes as an unknown tag.
    assert str(escape("Authorization: Bearer <key>")) in page.text
    assert "Authorization: Bearer <key>" not in page.text
    new_key = re.search(r'class="code new-key">([^<]+)<', page.text).group(1)
    # ... and it is the header the API actually reads.
    headers = {"Authorization": f"Bearer {new_key}"}
    assert partner_client.get("/api/v1/offers", headers=headers).status_code == 200


def test_the_api_key_page_explains_the_header_before_any_key_exists(partner_client):
    page = partner_client.get("/mitra/kunci-api").text
    assert str(escape("Authorization: Bearer <key>")) in page
