"""Keeping workers covered: the coverage ledger, lapse alerts, the nightly run, renewals."""
