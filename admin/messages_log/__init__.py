"""Admin: the log of outbound messages — the search (``search``) and its page (``views``)."""
