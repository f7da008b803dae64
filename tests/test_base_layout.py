"""The frame every page shares (templates/base.html), made cheap without losing anything.

Issue 16: the navigation was rendered twice per page, the language form's CSRF token gave every
visitor a session cookie, and the session was opened and saved on every request. Now an
anonymous visitor's header and footer are rendered once per language and endpoint
(pages/fragments.py), the language is chosen by plain links, and a visitor without a session
gets none.
"""

import re

from accounts.models import Role


def _menus(page: str) -> list[str]:
    return re.findall(r'<div class="nav">(.*?)</div>\s*</div>', page, re.S)


def test_an_anonymous_visitor_gets_no_session_cookie_from_any_public_page(client):
    for path in ("/", "/pekerja", "/paket", "/pekerja?q=siti", "/masuk-pekerja-tidak-ada"):
        response = client.get(path)
        assert response.status_code in (200, 404), path
        assert "Set-Cookie" not in response.headers, path


def test_the_language_links_switch_by_get_and_come_back_to_the_page(client):
    page = client.get("/paket?sort=price").text
    assert 'href="/bahasa?lang=en&amp;next=/paket%3Fsort%3Dprice"' in page
    assert "csrf_token" not in page  # no form on the catalogue; nothing made a token

    response = client.get("/bahasa?lang=en&next=/paket%3Fsort%3Dprice")
    assert response.status_code == 302
    assert response.headers["Location"] == "/paket?sort=price"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" in response.headers  # the preference lives in the session
    english = client.get("/paket").text
    assert 'lang="en"' in english and "Bundles" in english

    # choosing the language already chosen writes nothing
    assert "Set-Cookie" not in client.get("/bahasa?lang=en&next=/paket").headers
    assert client.get("/bahasa?lang=id&next=/paket").status_code == 302
    assert 'lang="id"' in client.get("/paket").text


def test_the_language_link_refuses_other_sites_and_unknown_languages(client):
    for next_url in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = client.get("/bahasa", query_string={"lang": "xx", "next": next_url})
        assert response.headers["Location"] == "/"
        assert "Set-Cookie" not in response.headers
    assert 'lang="id"' in client.get("/").text


def test_posting_the_language_still_needs_the_csrf_token(app, client):
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post("/bahasa", data={"lang": "en", "next": "/"}).status_code == 400
    assert 'lang="id"' in client.get("/").text


def test_the_kept_header_follows_the_page_and_the_language(client):
    directory = client.get("/pekerja").text
    catalogue = client.get("/paket").text
    for page, current in ((directory, "/pekerja"), (catalogue, "/paket")):
        menus = _menus(page)
        assert len(menus) == 2 and menus[0] == menus[1]  # desktop bar and mobile menu alike
        assert f'href="{current}" aria-current="page"' in menus[0]
    assert 'href="/paket" aria-current="page"' not in _menus(directory)[0]

    client.get("/bahasa?lang=en&next=/")
    assert "Worker directory" in _menus(client.get("/pekerja").text)[0]


def test_a_signed_in_users_menu_is_their_own_and_never_kept(client, make_user, login_as):
    first, second = make_user(Role.SPONSOR), make_user(Role.SPONSOR)
    anonymous = client.get("/paket").text
    assert first.display_name not in anonymous

    login_as(first)
    page = client.get("/paket").text
    menus = _menus(page)
    assert len(menus) == 2 and menus[0] == menus[1]
    assert first.display_name in menus[0] and 'name="csrf_token"' in menus[0]
    assert "/akun/organisasi" in menus[0]

    login_as(second)
    page = client.get("/paket").text
    assert second.display_name in page and first.display_name not in page

    with client.session_transaction() as session:
        session.clear()
    again = client.get("/paket").text
    assert second.display_name not in again and "/akun/organisasi" not in again
