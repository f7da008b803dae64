"""The worker registry: workers, consent, heirs, photos, enrolment and the directory."""
