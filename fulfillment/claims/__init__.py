"""Claiming a bundle: claim codes, the claim pages and claim by SMS."""
