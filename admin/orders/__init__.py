"""The admin's order pages: reading, refunding, and their views."""
