"""Sponsor pages: the worker directory and the sponsor's home."""

from datetime import date

from flask import Blueprint, render_template, request
from sqlalchemy import select

from accounts.access import public, sponsor_required
from extensions import db
from sponsorship.identity import (
    OCCUPATION_LABELS,
    PROVINCES,
    Occupation,
    age_band,
    first_name_and_initial,
)
from sponsorship.models import Worker

bp = Blueprint("sponsorship", __name__)

PAGE_SIZE = 24


@bp.route("/pekerja")
@public
def directory() -> str:
    page = db.paginate(
        select(Worker).where(Worker.is_listed.is_(True)).order_by(Worker.id),
        page=request.args.get("page", 1, type=int),
        per_page=PAGE_SIZE,
        error_out=False,
    )
    return render_template("sponsorship/directory.html", page=page)


@bp.route("/sponsor")
@sponsor_required
def dashboard() -> str:
    return render_template("sponsorship/dashboard.html")


@bp.app_template_filter("occupation_label")
def occupation_label(code: str) -> str:
    try:
        return str(OCCUPATION_LABELS[Occupation(code)])
    except ValueError:
        return code


@bp.app_template_filter("province_name")
def province_name(code: str) -> str:
    return PROVINCES.get(code, code)


@bp.app_template_filter("public_name")
def public_name(full_name: str) -> str:
    return first_name_and_initial(full_name)


@bp.app_template_filter("age_band")
def age_band_filter(birth_date: date) -> str:
    return str(age_band(birth_date))
