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
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}

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

    WTF_CSRF_TIME_LIMIT = None  # bound to the session instead of a clock

    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_ENABLED = True
    RATELIMIT_SIGN_IN = "10 per minute;50 per hour"
    RATELIMIT_OTP_REQUEST = "5 per 15 minutes;20 per day"

    OTP_TTL_SECONDS = 300
    OTP_MAX_ATTEMPTS = 5

    CELERY_BROKER_URL: str | None = None  # None: jobs run eagerly in-process
    CELERY_RESULT_BACKEND: str | None = None

    STRIPE_SECRET_KEY = "sk_test_payung_localstripe"  # noqa: S105 (localstripe accepts any key)
    STRIPE_PUBLISHABLE_KEY = "pk_test_payung_localstripe"
    STRIPE_WEBHOOK_SECRET = "whsec_payung_localstripe"  # noqa: S105 (local only)
    STRIPE_API_BASE: str | None = None  # e.g. http://127.0.0.1:8420 for localstripe
    STRIPE_JS_URL = "https://js.stripe.com/v3/"

    SMS_GATEWAY_URL: str | None = None  # None: messages stay in the outbox table
    SMS_GATEWAY_TOKEN: str | None = None
    DEV_OUTBOX = False


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    SECRET_KEY = "dev-only-secret-key-change-me"  # noqa: S105 (development only)
    FIELD_KEY = "dev-only-field-key"
    LOOKUP_KEY = "dev-only-lookup-key"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    PREFERRED_URL_SCHEME = "http"
    STRIPE_API_BASE = "http://127.0.0.1:8420"
    STRIPE_JS_URL = "http://127.0.0.1:8420/js.stripe.com/v3/"
    DEV_OUTBOX = True


class TestingConfig(DevelopmentConfig):
    ENV_NAME = "testing"
    TESTING = True
    RATELIMIT_ENABLED = False


CONFIGS = {
    "production": Config,
    "development": DevelopmentConfig,
    "testing": TestingConfig,
}
