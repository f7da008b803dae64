"""Default settings. Every key can be overridden by a PAYUNG_<KEY> environment variable.

The defaults are safe for production: development conveniences (the dev outbox, a fixed
secret key, plain-HTTP cookies) are only switched on by ``PAYUNG_ENV=development``.
"""

from datetime import timedelta


class Config:
    ENV_NAME = "production"
    SECRET_KEY: str | None = None
    # Keys for personal data: NIK and bundle codes are encrypted with FIELD_KEY and looked up
    # through keyed hashes made with LOOKUP_KEY. Both are required in production.
    FIELD_KEY: str | None = None
    LOOKUP_KEY: str | None = None

    DATABASE_URL: str | None = None  # default: SQLite file in instance/
    # No pool_pre_ping: database.py checks each pooled connection at checkout without a round
    # trip (a closed connection is replaced before anyone uses it).
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}

    BABEL_DEFAULT_LOCALE = "id"
    BABEL_DEFAULT_TIMEZONE = "Asia/Jakarta"
    LANGUAGES = ("id", "en")

    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_NAME = "payung_session"
    REMEMBER_COOKIE_SECURE = True
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = timedelta(days=14)
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024
    PREFERRED_URL_SCHEME = "https"
    SITE_URL = "http://127.0.0.1:5000"

    # Pages, stylesheets, scripts and JSON go out compressed (brotli or gzip) from this size on.
    COMPRESS_MIN_BYTES = 500

    # Once the app is built, freeze what lives as long as the process (``core.runtime``).
    GC_FREEZE_AFTER_START = True
    GC_FREEZE_AGAIN_AFTER_S = 20.0
    # And a web process runs its full collections after an answer has gone, not inside one.
    GC_FULL_COLLECTIONS_BETWEEN_REQUESTS = True
    # What survives one of those is frozen; every this many, the frozen objects are walked too.
    GC_WHOLE_HEAP_EVERY = 100

    WTF_CSRF_TIME_LIMIT = None  # bound to the session instead of a clock

    # How many proxies in front of Payung set X-Forwarded-For/-Proto (a TLS proxy: 1). Limits
    # then key on the visitor's address instead of the proxy's; 0 ignores those headers.
    TRUSTED_PROXIES = 0

    # Where the limits count: shared by every process (redis://…), or a production start is
    # refused; memory:// counts per process, so N gunicorn workers would each allow the limit.
    RATELIMIT_STORAGE_URI = ""
    # When that storage cannot be reached, each process counts the same limits in its own
    # memory (Flask-Limiter pings the storage again after 1, 2, 4 … 32 s and goes back to it):
    # an outage neither answers 500 nor switches off the limits on one-time codes.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_ENABLED = True
    # Per address, wrong passwords and wrong one-time codes only: a right one never counts.
    RATELIMIT_SIGN_IN = "10 per minute;50 per hour"
    # Per address, asking for a one-time code (a phone waits OTP_RESEND_SECONDS between codes).
    RATELIMIT_OTP_REQUEST = "5 per 15 minutes;20 per day"
    # Per phone, wrong one-time codes entered from anywhere: the phone waits, then works again.
    RATELIMIT_OTP_WRONG_PER_PHONE = "10 per hour"

    OTP_TTL_SECONDS = 300
    OTP_MAX_ATTEMPTS = 5
    OTP_RESEND_SECONDS = 60

    CELERY_BROKER_URL: str | None = None  # None: jobs run eagerly in-process
    CELERY_RESULT_BACKEND: str | None = None

    STRIPE_SECRET_KEY = "sk_test_payung_localstripe"  # noqa: S105 (localstripe accepts any key)
    STRIPE_PUBLISHABLE_KEY = "pk_test_payung_localstripe"
    STRIPE_WEBHOOK_SECRET = "whsec_payung_localstripe"  # noqa: S105 (local only)
    STRIPE_API_BASE: str | None = None  # e.g. http://127.0.0.1:8420 for localstripe
    STRIPE_JS_URL = "https://js.stripe.com/v3/"

    # Checkout: the largest cart, how long an unpaid order keeps its prices (never past the
    # due date of its first month), the largest card payment (Stripe takes up to twelve
    # digits of sen for IDR), and where the receipt PDF finds DejaVu Sans (Debian:
    # fonts-dejavu-core; without it receipts fall back to Helvetica, Latin-1 only).
    CHECKOUT_MAX_LINES = 10_000
    CHECKOUT_ORDER_HOLD_HOURS = 72
    CHECKOUT_MAX_TOTAL_IDR = 9_999_999_999
    RECEIPT_FONT_DIR = "/usr/share/fonts/truetype/dejavu"
    # Orders from this total on get a numbered invoice (to pay by bank transfer); smaller
    # ones on request. Due this many days after it is issued (or when the order's prices
    # expire, if sooner).
    INVOICE_THRESHOLD_IDR = 5_000_000
    INVOICE_DUE_DAYS = 14

    SMS_GATEWAY_URL: str | None = None  # None: messages stay in the outbox table
    CONTINUITY_WORKER_CHANNEL = "sms"  # lapse alerts to workers: "sms" or "whatsapp"
    SMS_GATEWAY_TOKEN: str | None = None
    DEV_OUTBOX = False

    # Partners (bundles): the partner sandbox that stands in for partner APIs in development,
    # whether plain-HTTP and private-network partner endpoints may be called (never in
    # production: it would let a partner make Payung call into its own network), code pools.
    PARTNER_SANDBOX_URL = "http://127.0.0.1:8430"
    PARTNER_API_ALLOW_INSECURE = False
    PARTNER_API_TIMEOUT_S = 5.0
    POOL_UPLOAD_MAX_BYTES = 4 * 1024 * 1024
    POOL_UPLOAD_MAX_CODES = 50_000
    RATELIMIT_PARTNER_API = "300 per minute"
    # Workers (NIK and phone pairs) one API key may send to /api/v1/workers, check_only too.
    RATELIMIT_PARTNER_API_IDENTITIES = "2000 per hour;10000 per day"

    # Fulfillment: attempts per part before it fails and is refunded; retries back off
    # exponentially (with jitter) from RETRY_BASE_S up to RETRY_CAP_S; the sweeper re-enqueues
    # anything overdue by STUCK_AFTER_S (0 when jobs run eagerly: the sweeper drives retries).
    FULFILLMENT_MAX_ATTEMPTS = 8
    FULFILLMENT_RETRY_BASE_S = 30.0
    FULFILLMENT_RETRY_CAP_S = 3600.0
    FULFILLMENT_POLL_INTERVAL_S = 10.0  # asking again a partner that answered "pending"
    # A bulk top-up sent with a callback URL is polled (once, as a batch) only when its
    # callback has not come within this many seconds.
    FULFILLMENT_CALLBACK_WAIT_S = 60.0
    FULFILLMENT_PENDING_MAX_S = 86_400  # a partner "pending" for longer fails the part
    FULFILLMENT_STUCK_AFTER_S = 600.0
    FULFILLMENT_SWEEP_LIMIT = 1000
    FULFILLMENT_REFUND_MAX_ATTEMPTS = 8
    # A bulk enrolment upload whose import job is still queued (never started) this long
    # after the upload is enqueued again (its job was lost: the broker was down at the commit).
    ENROLMENT_STUCK_AFTER_S = 600.0
    # Partner API calls: quick retries inside one attempt (same Idempotency-Key).
    PARTNER_API_MAX_TRIES = 3
    PARTNER_API_RETRY_BASE_S = 0.25
    # Offers without their own endpoint call PARTNER_SANDBOX_URL + PARTNER_API_PATHS[api],
    # signed with PARTNER_SANDBOX_SECRETS[api] — development and tests only.
    PARTNER_SANDBOX_FALLBACK = False
    PARTNER_SANDBOX_SECRETS: dict = {}
    PARTNER_API_PATHS = {"telco": "/telco/v1", "health": "/health/v1", "insurer": "/insurer/v1"}
    PARTNER_CALLBACK_BASE_URL: str | None = None  # where partners may call back (telco)
    CLAIM_BASE_URL: str | None = None  # the claim page in SMS; default SITE_URL + "/klaim"
    CLAIM_CODE_CHANNEL = "sms"  # or "whatsapp"
    ADMIN_ALERT_EMAIL: str | None = None  # None: every admin user gets fulfillment alerts
    # Messages (messaging/): WhatsApp Business Cloud API, an SMS provider's HTTP API with
    # delivery reports, and SMTP for email. A channel without its URL/host keeps its messages
    # in the outbox table (development, tests). A worker's WhatsApp message goes by SMS when
    # WhatsApp fails or has not reported it delivered after MESSAGING_FALLBACK_AFTER_S.
    # Provider errors are retried with exponential backoff up to MESSAGING_MAX_ATTEMPTS.
    WHATSAPP_API_URL: str | None = None  # e.g. https://graph.facebook.com
    WHATSAPP_API_VERSION = "v21.0"
    WHATSAPP_PHONE_NUMBER_ID: str | None = None
    WHATSAPP_ACCESS_TOKEN: str | None = None
    WHATSAPP_APP_SECRET: str | None = None  # checks X-Hub-Signature-256 on status webhooks
    WHATSAPP_VERIFY_TOKEN: str | None = None  # the webhook subscription handshake
    SMS_API_URL: str | None = None  # the provider's base URL; POST {SMS_API_URL}/messages
    SMS_API_KEY: str | None = None
    SMS_REPORT_SECRET: str | None = None  # signs its delivery reports (core.signing)
    SMS_SENDER_ID = "PAYUNG"
    SMTP_HOST: str | None = None
    SMTP_PORT = 587
    SMTP_USERNAME: str | None = None
    SMTP_PASSWORD: str | None = None
    SMTP_STARTTLS = True
    SMTP_TIMEOUT_S = 10.0
    MAIL_FROM = "Payung <noreply@payung.id>"
    MESSAGING_CALLBACK_BASE_URL: str | None = None  # where providers report; default SITE_URL
    MESSAGING_FALLBACK_AFTER_S = 300
    MESSAGING_MAX_ATTEMPTS = 5
    MESSAGING_RETRY_BASE_S = 30.0
    MESSAGING_RETRY_CAP_S = 3600.0
    MESSAGING_TIMEOUT_S = 10.0
    # With a Redis broker a message is delivered by a job that takes every message due: the
    # messages of requests that commit within this window share one run, at most this many a
    # transaction (messaging.tasks.deliver_due).
    MESSAGING_BATCH_WINDOW_S = 0.2
    MESSAGING_BATCH_SIZE = 10
    OUTBOX_MAIL_DIR: str | None = None  # dev outbox: the local SMTP server's Maildir (make run)
    # Automatic renewals: charge the saved card this many days before cover lapses; a declined
    # try is retried this many days after the first one (then the sponsor pays on-session).
    RENEWAL_DAYS_BEFORE_LAPSE = 7
    RENEWAL_RETRY_DAYS = (1, 3)
    # The nightly run charges saved cards in groups; this many Stripe calls of a group are in
    # flight at once (each with its own idempotency key; no database work in those threads).
    RENEWAL_CHARGE_THREADS = 4

    # Local payments through Xendit (QRIS, bank virtual accounts, e-wallets). XENDIT_API_BASE
    # None is Xendit itself; development and tests point it at the partner sandbox. Xendit
    # sends XENDIT_CALLBACK_TOKEN (its dashboard shows it) in every callback's
    # x-callback-token header. A QRIS code or VA lasts LOCAL_PAYMENT_HOURS (never past the
    # order's prices); a renewal reminder's pay link lasts RENEWAL_PAY_LINK_HOURS.
    XENDIT_SECRET_KEY = "xnd_development_payung_sandbox"  # noqa: S105 (the sandbox's)
    XENDIT_CALLBACK_TOKEN = "payung-sandbox-callback-token"  # noqa: S105 (the sandbox's)
    XENDIT_API_BASE: str | None = None
    LOCAL_PAYMENT_HOURS = 24


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    RATELIMIT_STORAGE_URI = "memory://"  # one process: `make run`, the tests
    SECRET_KEY = "dev-only-secret-key-change-me"  # noqa: S105 (development only)
    FIELD_KEY = "dev-only-field-key"
    LOOKUP_KEY = "dev-only-lookup-key"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    PREFERRED_URL_SCHEME = "http"
    STRIPE_API_BASE = "http://127.0.0.1:8420"
    STRIPE_JS_URL = "http://127.0.0.1:8420/js.stripe.com/v3/"
    DEV_OUTBOX = True
    PARTNER_API_ALLOW_INSECURE = True
    PARTNER_SANDBOX_FALLBACK = True
    PARTNER_SANDBOX_SECRETS = {
        "telco": "sandbox-telco-secret",
        "health": "sandbox-health-secret",
        "insurer": "sandbox-insurer-secret",
    }
    PARTNER_CALLBACK_BASE_URL = "http://127.0.0.1:5000"  # the sandbox calls `make run` back
    XENDIT_API_BASE = "http://127.0.0.1:8430/xendit"  # the partner sandbox plays Xendit
    GC_FREEZE_AFTER_START = False
    GC_FULL_COLLECTIONS_BETWEEN_REQUESTS = False


class TestingConfig(DevelopmentConfig):
    ENV_NAME = "testing"
    TESTING = True
    RATELIMIT_ENABLED = False
    PARTNER_CALLBACK_BASE_URL = None  # no server listens in tests: issuers poll instead


CONFIGS = {
    "production": Config,
    "development": DevelopmentConfig,
    "testing": TestingConfig,
}
