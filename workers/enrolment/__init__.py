"""Enrolling workers: in bulk (CSV or the partner API) and by invitation."""
