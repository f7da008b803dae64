"""The partner sandbox playing Xendit (QRIS, bank virtual accounts, e-wallets) over HTTP.

Payung's ``xendit-python`` SDK is pointed here by ``XENDIT_API_BASE`` (``…/xendit``). The
shapes follow Xendit's Payment Request and Refund APIs for the calls Payung makes; callbacks
go to the URL set with ``POST /xendit/_callback`` (or ``SANDBOX_XENDIT_CALLBACK_URL`` and
``SANDBOX_XENDIT_CALLBACK_TOKEN``). See ``api`` and ``control``.
"""
