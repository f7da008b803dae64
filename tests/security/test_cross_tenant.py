"""One tenant never reaches another's objects.

Every route with an object id, reference, slug or token in its URL is read from
``app.url_map`` and requested — GET, and POST with a valid CSRF token — by another sponsor,
another partner, a worker who does not own the object, and anonymously, against objects that
exist and belong to someone else (tests/security/world.py builds them). Each request must fail
(no 2xx), change nothing in the database, and show none of the owners' data.

A NEW ROUTE whose URL parameter this sweep does not know fails
``test_every_object_scoped_route_can_be_filled``: add one line to ``FILL`` naming the world's
object that the parameter points at (or to ``PUBLIC`` with the reason it is public); a new
kind of object gets one entry in ``EXTRA_OBJECTS`` in tests/security/world.py.
"""

from typing import Any

import pytest
from flask import abort, request
from werkzeug.routing import Rule

from accounts.access import signed_in
from accounts.models import User
from extensions import db
from sponsorship.checkout.models import Order
from tests.security.world import World, build_world, changed_tables, csrf_token_for, snapshot

# URL parameter -> key of ``World.ids`` holding an object of the OWNERS. One line per parameter;
# use "endpoint:param" as the key when one endpoint's parameter means something else.
FILL: dict[str, str] = {
    "reference": "reference",
    "checkout.pay:reference": "pending_reference",
    "checkout.confirm_card:reference": "pending_reference",
    "checkout.back_to_cart:reference": "pending_reference",
    "checkout.local_payment:reference": "pending_reference",
    "checkout.check_local:reference": "pending_reference",
    "checkout.local_status:reference": "pending_reference",
    "payment_id": "payment_id",
    "selection_id": "selection_id",
    "year": "year",
    "claim_id": "claim_id",
    "invitation_id": "invitation_id",
    "job_id": "job_id",
    "offer_id": "offer_id",
    "key_id": "key_id",
    "bundle_id": "bundle_id",
    "part_id": "part_id",
    "partner_id": "partner_id",
    "item_id": "item_id",
    "file_id": "file_id",
    "rule_id": "rule_id",
    "version_id": "version_id",
    "band_id": "band_id",
    "action": "action",
    "heir_id": "heir_id",
    "line_id": "line_id",
    "renewal_links.renew:worker_id": "worker_a_id",
    "plan_id": "plan_id",
}
FIXED_VALUES = {"action": "retry"}

# Routes open to everyone by design, with the reason. A public route that still has private
# objects (an unlisted worker, an unpublished bundle) is swept with that object: PRIVATE_FILL.
PUBLIC: dict[str, str] = {
    "static": "vendored CSS/JS/images",
    "sponsorship.registration.invitation": "the 32-byte token in the link is the credential",
    "sponsorship.worker_profile": "listed workers are public; see PRIVATE_FILL",
    "sponsorship.worker_photo": "listed workers are public; see PRIVATE_FILL",
    "bundles.bundle_detail": "published bundles are the catalogue; see PRIVATE_FILL",
}
PRIVATE_FILL = {"worker_id": "unlisted_worker_id", "slug": "slug"}
NOT_SWEPT = {"static", "sponsorship.registration.invitation"}  # nothing private behind them

# Routes whose parameter selects among the signed-in user's OWN records (a year of their own
# statements): a stranger of the same role may open it, but sees only their own (empty) data.
SELF_SCOPED = {"checkout.statement", "checkout.statement_download"}

STRANGERS = ["anonymous", "sponsor_b", "partner_b", "worker_b"]
KNOWN_CONVERTERS = {"IntegerConverter", "UnicodeConverter", "AnyConverter", "PathConverter"}
MUTATING = ("POST", "PUT", "PATCH", "DELETE")
# Valid API bodies, so that a refusal proves the ownership check, not the input validation.
API_BODIES: dict[str, dict[str, Any]] = {
    "partner_api.update_offer": {"json": {"name_id": "Diubah penyusup"}},
    "partner_api.upload_codes": {
        "json": {"codes": [{"code": "PENYUSUP-0001", "expires_on": "2030-12-31"}]}
    },
    "partner_api.upload_codes_csv": {
        "data": "code,expires_on\nPENYUSUP-0001,2030-12-31\n",
        "content_type": "text/csv",
    },
}


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"WTF_CSRF_ENABLED": True}


def object_scoped_rules(app) -> list[Rule]:
    return [rule for rule in app.url_map.iter_rules() if rule.arguments]


def fill_key(rule: Rule, name: str) -> str | None:
    if rule.endpoint in PUBLIC:
        return PRIVATE_FILL.get(name)
    return FILL.get(f"{rule.endpoint}:{name}", FILL.get(name))


def unfillable(rule: Rule) -> list[str]:
    problems = []
    for name in sorted(rule.arguments):
        converter = type(rule._converters[name]).__name__
        if converter not in KNOWN_CONVERTERS:
            problems.append(f"{rule.rule} ({rule.endpoint}): unknown converter {converter}")
        elif fill_key(rule, name) is None and rule.endpoint not in NOT_SWEPT:
            problems.append(
                f"{rule.rule} ({rule.endpoint}): the cross-tenant sweep cannot fill <{name}>; "
                f"add a line to FILL in tests/security/test_cross_tenant.py (or PUBLIC, with why)"
            )
    return problems


def build_url(world: World, rule: Rule) -> str:
    values = {}
    for name in rule.arguments:
        key = fill_key(rule, name)
        values[name] = FIXED_VALUES.get(key, world.ids.get(key))
        assert values[name] is not None, f"world.ids has no {key!r} for {rule.rule}"
    return rule.build(values, append_unknown=False)[1]


def requests_to_sweep(app) -> list[tuple[Rule, str]]:
    found = []
    for rule in object_scoped_rules(app):
        if rule.endpoint in NOT_SWEPT or unfillable(rule):
            continue  # an unknown route fails test_every_object_scoped_route_can_be_filled
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((rule, method))
    return found


def test_every_object_scoped_route_can_be_filled(app):
    problems = [p for rule in object_scoped_rules(app) for p in unfillable(rule)]
    assert problems == [], "\n".join(problems)


def test_the_allow_lists_name_real_routes(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    stale = (set(PUBLIC) | SELF_SCOPED) - endpoints
    stale |= {key.split(":")[0] for key in FILL if ":" in key} - endpoints
    assert stale == set()
    assert len(requests_to_sweep(app)) >= 40


def _open(world: World, who: str, rule: Rule, method: str, url: str) -> Any:
    client = world.client(who)
    kwargs: dict[str, Any] = {}
    if url.startswith("/api/"):
        key = world.api_keys.get(who)
        kwargs["headers"] = {"Authorization": f"Bearer {key}"} if key else {}
        if method in MUTATING:
            kwargs.update(API_BODIES.get(rule.endpoint, {"json": {}}))
    elif method in MUTATING:
        token = csrf_token_for(client)
        kwargs["headers"] = {"X-CSRFToken": token}
        kwargs["data"] = {"csrf_token": token, "agree": "1", "reason": "cukup", "name": "x"}
    return client.open(url, method=method, **kwargs)


def _refused(world: World, who: str, rule: Rule, method: str, response: Any) -> str | None:
    """Why ``response`` is not a refusal, or None."""
    status = response.status_code
    if rule.endpoint in SELF_SCOPED and world.users.get(who) is not None:
        return None  # their own (empty) records; the leak check below still applies
    if 200 <= status < 300:
        return f"{status} success"
    if 300 <= status < 400:
        location = response.headers.get("Location", "")
        if who == "anonymous" and location.startswith("/masuk"):
            return None
        if who != "anonymous" and url_of_owner(world, location):
            return f"{status} redirect to the owner's object {location}"
        return None
    if status in (400, 422) and method in MUTATING and who != "anonymous":
        return f"{status}: refused as bad input, not as someone else's object"
    return None


def url_of_owner(world: World, location: str) -> bool:
    return any(str(value) in location for value in world.ids.values() if isinstance(value, str))


@pytest.fixture
def world(app) -> World:
    return build_world(app)


def sweep(world: World, requests: list[tuple[Rule, str]]) -> tuple[list[str], int]:
    failures = []
    swept = 0
    for rule, method in requests:
        url = build_url(world, rule)
        before = snapshot()
        for who in STRANGERS:
            response = _open(world, who, rule, method, url)
            swept += 1
            body = response.get_data().decode("utf-8", "replace")
            reason = _refused(world, who, rule, method, response)
            if reason:
                failures.append(f"{who} {method} {url}: {reason}")
            leaked = [s for s in world.secrets if s and s in body and s not in url]
            if leaked:
                failures.append(f"{who} {method} {url}: shows {leaked}")
            if method in MUTATING:  # each POST alone; the GETs of a route together
                after = snapshot()
                if changed := changed_tables(before, after):
                    failures.append(f"{who} {method} {url}: changed {changed}")
                before = after
        if method not in MUTATING and (changed := changed_tables(before, snapshot())):
            failures.append(f"strangers' GET {url}: changed {changed}")
    return failures, swept


def test_strangers_neither_reach_nor_change_nor_see_other_tenants_objects(app, world):
    failures, swept = sweep(world, requests_to_sweep(app))
    assert failures == [], "\n".join(failures)
    assert swept >= 4 * 40


def test_the_sweep_catches_a_view_that_forgets_the_owner(app):
    """No test that cannot fail: a view that shows and changes any order is caught."""

    @signed_in
    def careless(reference: str) -> str:
        order = db.session.scalar(db.select(Order).where(Order.reference == reference))
        if order is None:
            abort(404)
        if request.method == "POST":
            order.total_idr += 1
            db.session.commit()
        sponsor = db.session.get(User, order.sponsor_id)
        return f"{order.reference} {sponsor.display_name}"

    app.add_url_rule("/uji/<reference>", "careless", careless, methods=["GET", "POST"])
    world = build_world(app)
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == "careless")
    failures, _swept = sweep(world, [(rule, "GET"), (rule, "POST")])
    joined = "\n".join(failures)
    assert "sponsor_b GET" in joined and "200 success" in joined
    assert "Sponsor Pemilik Rahasia" in joined
    assert "changed ['orders']" in joined


def test_the_owners_do_reach_their_objects(world):
    """The sweep is meaningful: the same URLs open for their owners."""
    ids = world.ids
    owner_pages = {
        "worker_a": [f"/saya/paket/{ids['claim_id']}", f"/saya/paket/{ids['claim_id']}/kartu"],
        "sponsor_a": [
            f"/pesanan/{ids['reference']}",
            f"/pesanan/{ids['reference']}/kuitansi",
            f"/pesanan/{ids['pending_reference']}",
            f"/pilihan/{ids['selection_id']}",
        ],
        "partner_a": [
            f"/mitra/penawaran/{ids['offer_id']}",
            f"/kelola/paket/{ids['bundle_id']}",
            f"/mitra/pendaftaran/{ids['job_id']}",
        ],
    }
    for who, urls in owner_pages.items():
        for url in urls:
            assert world.client(who).get(url).status_code == 200, (who, url)
    api = world.client("anonymous").get(
        f"/api/v1/offers/{ids['offer_id']}",
        headers={"Authorization": f"Bearer {world.api_keys['partner_a']}"},
    )
    assert api.status_code == 200
