"""Fulfillment: issuing every part of every paid order, claims, remittance and the sweeper."""
