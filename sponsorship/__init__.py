"""Worker registry and directory, cart, orders, payments, renewals and the sponsor dashboard."""
