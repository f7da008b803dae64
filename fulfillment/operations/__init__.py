"""The operator's side of fulfillment: what the admin pages read (``overview``), what an admin
may do to an item (``actions``) and the forms of those pages (``forms``)."""
