"""Numbered invoices for orders that a company or a local government pays by bank transfer."""
