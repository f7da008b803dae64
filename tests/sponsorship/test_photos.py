"""Worker photos are served through a view that checks who may see them."""

import io

import pytest
from PIL import Image

from accounts.models import Role
from extensions import db, utcnow
from tests.sponsorship.conftest import image_bytes
from workers.models import Invitation, InvitationStatus
from workers.photos import InvalidPhoto, prepare_photo, sniff_format
from workers.registry import set_photo


@pytest.fixture
def photographed(make_registered_worker):
    def factory(**fields):
        worker = make_registered_worker(**fields)
        set_photo(worker, prepare_photo(image_bytes("JPEG", (800, 800))))
        db.session.commit()
        return worker

    return factory


def test_listed_workers_photos_are_public_and_revalidated(client, photographed):
    worker = photographed()
    response = client.get(f"/pekerja/{worker.id}/foto?v={worker.photo_version}")
    assert response.status_code == 200
    assert response.mimetype == "image/jpeg"
    assert response.headers["Cache-Control"] == "private, no-cache"
    assert Image.open(io.BytesIO(response.data)).size == (480, 480)
    again = client.get(
        f"/pekerja/{worker.id}/foto", headers={"If-None-Match": response.headers["ETag"]}
    )
    assert again.status_code == 304
    assert f"/pekerja/{worker.id}/foto?v=1" in client.get("/pekerja").text


def test_unlisted_workers_photos_only_for_themselves_admins_and_their_sponsor(
    app, client, login_as, make_user, photographed
):
    owner = make_user(Role.WORKER)
    worker = photographed(is_listed=False, user_id=owner.id)
    path = f"/pekerja/{worker.id}/foto"
    assert client.get(path).status_code == 404
    inviting = make_user(Role.SPONSOR)
    db.session.add(
        Invitation(
            sponsor_id=inviting.id,
            full_name="x",
            phone_e164=worker.phone_e164,
            token_digest="d" * 64,
            status=InvitationStatus.ACCEPTED,
            worker_id=worker.id,
            expires_at=utcnow(),
        )
    )
    db.session.commit()
    allowed = {owner: 200, make_user(Role.ADMIN): 200, inviting: 200, make_user(Role.SPONSOR): 404}
    for user, status in allowed.items():
        viewer = app.test_client()
        with viewer.session_transaction() as session:
            session["_user_id"] = user.get_id()
        assert viewer.get(path).status_code == status, user
    assert client.get("/pekerja/999999/foto").status_code == 404


def test_workers_without_a_photo_show_the_avatar(client, make_registered_worker):
    worker = make_registered_worker()
    assert client.get(f"/pekerja/{worker.id}/foto").status_code == 404
    assert "img/avatar.svg" in client.get("/pekerja").text


def test_photo_formats_are_judged_by_their_bytes():
    assert sniff_format(image_bytes("JPEG")) == "JPEG"
    assert sniff_format(image_bytes("PNG")) == "PNG"
    assert sniff_format(image_bytes("WEBP")) == "WEBP"
    assert sniff_format(image_bytes("GIF")) is None
    assert sniff_format(b"%PDF-1.7") is None


def test_exif_is_stripped_and_transparency_flattened():
    exif = Image.Exif()
    exif[0x010F] = "Kamera Rumah"  # camera make; phones add the GPS position the same way
    exif[0x0112] = 6  # taken sideways: turned upright before the EXIF goes
    out = io.BytesIO()
    Image.new("RGB", (100, 50), "red").save(out, format="JPEG", exif=exif)
    prepared = prepare_photo(out.getvalue())
    assert not Image.open(io.BytesIO(prepared.content)).getexif()
    assert (prepared.width, prepared.height) == (50, 100)
    rgba = io.BytesIO()
    Image.new("RGBA", (64, 64), (0, 0, 0, 0)).save(rgba, format="PNG")
    assert Image.open(io.BytesIO(prepare_photo(rgba.getvalue()).content)).mode == "RGB"


def test_decompression_bombs_are_refused():
    out = io.BytesIO()
    Image.new("1", (9000, 9000)).save(out, format="PNG")  # 81 MP, a few KB
    with pytest.raises(InvalidPhoto):
        prepare_photo(out.getvalue())
