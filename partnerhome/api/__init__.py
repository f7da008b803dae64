"""The partner JSON API (``/api/v1``): offers, code pools, enrolment and reports."""
