"""Bundles: partners, offers, bundles and their parts, BPJS dues pricing, code pools."""
