"""Pages that belong to no single package: the landing page, the language switch, errors."""
