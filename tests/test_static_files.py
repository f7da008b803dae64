"""Issue 13, item 12: static files were served ``no-cache`` and the favicon was fetched twice.
Pages link css, js and images with a version (``?v=<hash of the file>``) that is cached for a
year; the layout declares one icon, and /favicon.ico answers too (cached) for the browser's
own guess on pages without the layout (PDFs, CSVs)."""

import re

from flask import url_for

from accounts.models import Role

IMMUTABLE = "public, max-age=31536000, immutable"


def fetch(client, url):
    """A file response, read and closed (the file behind it stays open until then)."""
    response = client.get(url)
    response.get_data()
    response.close()
    return response


def cache_control(response):
    return {part.strip() for part in response.headers.get("Cache-Control", "").split(",")}


def test_pages_link_versioned_static_files_cached_for_a_year(client):
    page = client.get("/masuk").text
    css = re.search(r'<link rel="stylesheet" href="([^"]+)"', page).group(1)
    assert re.fullmatch(r"/static/css/payung\.css\?v=[0-9a-f]{12}", css)
    response = fetch(client, css)
    assert response.status_code == 200
    assert cache_control(response) == set(IMMUTABLE.split(", "))
    images = re.findall(r'<img[^>]*src="(/static/[^"]+)"', page)
    assert images and all("?v=" in src for src in images)


def test_the_version_changes_with_the_file(app, tmp_path):
    static = tmp_path / "static"
    (static / "css").mkdir(parents=True)
    sheet = static / "css" / "x.css"
    sheet.write_text("a{}")
    app.static_folder = str(static)
    with app.test_request_context():
        first = url_for("static", filename="css/x.css")
        sheet.write_text("b{}")
        second = url_for("static", filename="css/x.css")
        missing = url_for("static", filename="css/nope.css")
    assert first != second and "?v=" in first and "?v=" in second
    assert missing == "/static/css/nope.css"


def test_an_unversioned_or_stale_request_is_cached_briefly_not_forever(client):
    for url in ("/static/css/payung.css", "/static/css/payung.css?v=000000000000"):
        response = fetch(client, url)
        assert response.status_code == 200
        directives = cache_control(response)
        assert "immutable" not in directives and "no-cache" not in directives, url
        assert "max-age=3600" in directives, url


def test_static_files_stay_cacheable_for_a_signed_in_user(client, login_as, make_user):
    login_as(make_user(Role.SPONSOR))
    css = re.search(r'<link rel="stylesheet" href="([^"]+)"', client.get("/").text).group(1)
    assert cache_control(fetch(client, css)) == set(IMMUTABLE.split(", "))


def test_the_layout_declares_one_icon_and_it_resolves(client):
    page = client.get("/").text
    icons = re.findall(r'<link[^>]*rel="[^"]*\bicon\b[^"]*"[^>]*>', page)
    assert len(icons) == 1
    href = re.search(r'href="([^"]+)"', icons[0]).group(1)
    response = fetch(client, href)
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert cache_control(response) == set(IMMUTABLE.split(", "))
    # The footer's logo is the same file at the same address: one download serves both.
    assert {src for src in re.findall(r'src="([^"]*favicon[^"]*)"', page)} <= {href}


def test_favicon_ico_answers_and_is_cached(client):
    response = fetch(client, "/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert "max-age=86400" in cache_control(response)
