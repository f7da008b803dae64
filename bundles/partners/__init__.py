"""Partners: onboarding and the admin's decisions (``onboarding``), the emails they get
(``notifications``) and the "test connection" call to their API (``api_client``)."""
