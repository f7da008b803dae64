"""The worker's own pages: home, own record, data export, thanks (a console)."""
