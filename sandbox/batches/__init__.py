"""Batch endpoints of the sandbox partners: many members or numbers in one signed request.

Real partners offer them for volume: BPJS Ketenagakerjaan takes dues per collective (one
remittance per agent and period, with a result per member) and telcos take bulk top-ups with a
result per number and one status query per batch. Each batch request carries one
Idempotency-Key (a retry replays the stored answer), goes through the same fault switches as
the single calls (``down``, ``error_rate``, ``drop_after_effect_rate``, …), and can fail single
items on purpose (``POST /_batch_faults``). A partner does not remember references across
keys: a caller that lost an answer asks ``…/by-references`` before sending again.
"""

from flask import Flask

from sandbox.batches import control, insurer, telco


def register_batches(app: Flask) -> None:
    control.init_state(app, app.extensions["sandbox"])
    for module in (telco, insurer, control):
        app.register_blueprint(module.bp)
