"""What sponsors do: the directory pages, checkout, payments, continuity, dashboard, notes."""
