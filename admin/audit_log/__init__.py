"""The admin's audit trail page and its search."""
