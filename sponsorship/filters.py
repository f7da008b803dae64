"""The template filters and globals of the sponsor's pages (directory, profiles, selections,
"my workers", the bundle choice page), registered app-wide by ``sponsorship.wiring``."""

from datetime import date

from flask import Flask
from flask_login import current_user

from bundles.models import Bundle
from core.dates import add_months, jakarta_today
from core.identity import (
    OCCUPATION_LABELS,
    PROVINCES,
    Occupation,
    age_band,
    first_name_and_initial,
    mask_phone,
)
from sponsorship.checkout.bundle_prices import SelectionPrices, selection_prices
from sponsorship.continuity.ledger import months_funded_by_sponsor
from sponsorship.payments.declines import decline_messages, decline_text
from sponsorship.payments.receipt_pdf import month_label
from workers.coverage import CoverageStatus, coverage_status
from workers.models import Worker, WorkerSelection


def selection_prices_for(selection: WorkerSelection, bundles: list[Bundle]) -> SelectionPrices:
    """For the bundle choice page (``checkout.add_to_cart``): what each bundle would cost."""
    return selection_prices(current_user, selection, bundles, today=jakarta_today())


def occupation_label(code: str) -> str:
    try:
        return str(OCCUPATION_LABELS[Occupation(code)])
    except ValueError:
        return code


def province_name(code: str) -> str:
    return PROVINCES.get(code, code)


def public_name(full_name: str) -> str:
    return first_name_and_initial(full_name)


def age_band_filter(birth_date: date) -> str:
    return str(age_band(birth_date))


def coverage_status_filter(worker: Worker, today: date) -> CoverageStatus:
    return coverage_status(worker, today)


def masked_phone_filter(phone_e164: str) -> str:
    return mask_phone(phone_e164)


def register(app: Flask) -> None:
    app.add_template_filter(add_months, "add_months")  # the cart's "covered until"
    app.add_template_filter(month_label, "month_label")  # orders, receipts, statements
    # Card refusals in our words, on every page that takes a card (pay page, order, card page).
    app.add_template_filter(decline_text, "decline_text")
    app.add_template_global(decline_messages, "decline_messages")
    # The worker profile lists months covered per sponsor (co-sponsorship counts in months).
    app.add_template_global(months_funded_by_sponsor, "months_funded_by_sponsor")
    app.add_template_global(selection_prices_for, "selection_prices")
    app.add_template_filter(occupation_label, "occupation_label")
    app.add_template_filter(province_name, "province_name")
    app.add_template_filter(public_name, "public_name")
    app.add_template_filter(age_band_filter, "age_band")
    app.add_template_filter(coverage_status_filter, "coverage_status")
    app.add_template_filter(masked_phone_filter, "masked_phone")
