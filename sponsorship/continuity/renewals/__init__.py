"""Automatic renewals: saved cards charged before cover lapses."""
