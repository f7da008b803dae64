"""Rules every domain shares: dates, errors, identity checks, request signing, signals."""
