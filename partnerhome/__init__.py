"""The partner's console: dashboard, offers and pools pages, and the partner API."""
