"""Messaging's part of the app: the providers' report endpoints and ``flask messaging sweep``."""

import time

import click
from flask import Flask
from flask.cli import AppGroup

from extensions import db
from messaging import webhooks
from messaging.delivery import sweep

cli = AppGroup("messaging", help="Outbound messages.")


@cli.command("sweep")
@click.option("--loop", type=float, default=0.0, help="Sweep again every LOOP seconds.")
def sweep_command(loop: float) -> None:
    """Fall back to SMS what WhatsApp has not delivered in time; retry what waited."""
    while True:
        report = sweep()
        db.session.commit()
        if report["fell_back"] or report["retried"]:
            click.echo(f"fell back: {report['fell_back']}, retried: {report['retried']}")
        if not loop:
            return
        time.sleep(loop)


def register(app: Flask) -> None:
    app.register_blueprint(webhooks.bp)
    app.cli.add_command(cli)
