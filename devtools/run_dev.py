"""``make run``: start the local stand-ins and the site, and stop them all on Ctrl-C.

- localstripe (the Stripe stand-in) on 127.0.0.1:8420, with its webhooks sent to our site;
- the partner sandbox (telco, health app, insurer APIs, and Xendit for QRIS, VAs and e-wallets,
  whose callbacks it sends to the site) on 127.0.0.1:8430, keeping its state in
  instance/partner-sandbox/;
- Payung itself on http://127.0.0.1:5000;
- the fulfillment sweeper every 30 s: with no Celery broker, jobs run in-process, so retries
  that wait for their backoff and parts stuck past their deadline are picked up by it;
- a local SMTP server (aiosmtpd) on 127.0.0.1:8025 keeping every email in instance/dev-mail/
  (a Maildir the dev outbox shows); the sandbox also plays WhatsApp and the SMS provider, and
  the site sends through them (claim codes by WhatsApp, SMS when WhatsApp fails; inbound
  KLAIM / BERHENTI texts on), with the messaging sweeper every 10 s for fallbacks and retries.

Other ports: ``PAYUNG_DEV_STRIPE_PORT``, ``PAYUNG_DEV_SANDBOX_PORT``, ``PAYUNG_DEV_SITE_PORT``,
``PAYUNG_DEV_SMTP_PORT``
(see the README). The site is told where the stand-ins are, and offers that call the sandbox
(the demo's) are moved to its port, so a database seeded on another port keeps working.
"""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping

HOST = "127.0.0.1"
STRIPE_PORT = int(os.environ.get("PAYUNG_DEV_STRIPE_PORT", "8420"))
SANDBOX_PORT = int(os.environ.get("PAYUNG_DEV_SANDBOX_PORT", "8430"))
SITE_PORT = int(os.environ.get("PAYUNG_DEV_SITE_PORT", "5000"))
SMTP_PORT = int(os.environ.get("PAYUNG_DEV_SMTP_PORT", "8025"))
SANDBOX_STATE_DIR = os.path.join("instance", "partner-sandbox")
DEV_MAIL_DIR = os.path.join("instance", "dev-mail")
# The sandbox's messaging providers' defaults (sandbox/messaging/state.py): development only.
DEV_INBOUND_SECRET = "dev-sms-inbound-secret"  # noqa: S105


def messaging_env(*, sandbox: str, site: str, smtp_port: int) -> dict[str, str]:
    """Where the site sends messages in ``make run``, and where the sandbox reports back."""
    return {
        "PAYUNG_WHATSAPP_API_URL": f"{sandbox}/whatsapp",
        "PAYUNG_WHATSAPP_PHONE_NUMBER_ID": "1000",
        "PAYUNG_WHATSAPP_ACCESS_TOKEN": "sandbox-whatsapp-token",
        "PAYUNG_WHATSAPP_APP_SECRET": "sandbox-whatsapp-app-secret",
        "PAYUNG_SMS_API_URL": f"{sandbox}/sms/v1",
        "PAYUNG_SMS_API_KEY": "sandbox-sms-key",
        "PAYUNG_SMS_REPORT_SECRET": "sandbox-sms-report-secret",
        "PAYUNG_SMS_INBOUND_SECRET": DEV_INBOUND_SECRET,
        "PAYUNG_MESSAGING_CALLBACK_BASE_URL": site,
        "PAYUNG_MESSAGING_FALLBACK_AFTER_S": "60",
        "PAYUNG_CLAIM_CODE_CHANNEL": "whatsapp",
        "PAYUNG_SMTP_HOST": HOST,
        "PAYUNG_SMTP_PORT": str(smtp_port),
        "PAYUNG_SMTP_STARTTLS": "false",
        "PAYUNG_OUTBOX_MAIL_DIR": DEV_MAIL_DIR,
        "SANDBOX_WHATSAPP_WEBHOOK_URL": f"{site}/messaging/whatsapp/webhook",
        "SANDBOX_SMS_INBOUND_URL": f"{site}/sms/inbound",
        "SANDBOX_SMS_INBOUND_SECRET": DEV_INBOUND_SECRET,
    }


def dev_env(
    environ: Mapping[str, str],
    *,
    stripe_port: int,
    sandbox_port: int,
    site_port: int,
    smtp_port: int = SMTP_PORT,
) -> dict[str, str]:
    """The environment of every child: the site is told where the stand-ins listen and where
    it is itself (for the sandbox's callbacks and links), unless the caller said otherwise."""
    site = f"http://{HOST}:{site_port}"
    env = {
        "PAYUNG_SITE_URL": site,
        "PAYUNG_PARTNER_CALLBACK_BASE_URL": site,
        **messaging_env(sandbox=f"http://{HOST}:{sandbox_port}", site=site, smtp_port=smtp_port),
        **environ,
        "PAYUNG_STRIPE_API_BASE": f"http://{HOST}:{stripe_port}",
        "PAYUNG_STRIPE_JS_URL": f"http://{HOST}:{stripe_port}/js.stripe.com/v3/",
        "PAYUNG_PARTNER_SANDBOX_URL": f"http://{HOST}:{sandbox_port}",
        # The sandbox plays Xendit too: the SDK calls it, its callbacks come to the site.
        "PAYUNG_XENDIT_API_BASE": f"http://{HOST}:{sandbox_port}/xendit",
        "SANDBOX_XENDIT_CALLBACK_URL": f"{site}/xendit/callback",
    }
    return env


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url} exited before it was ready")
        try:
            urllib.request.urlopen(url, timeout=1)  # noqa: S310 (fixed local URL)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout:.0f} s")


def register_stripe_webhook() -> None:
    from app import create_app
    from sponsorship.payments.stripe_gateway import gateway_from_config

    app = create_app()
    with app.app_context():
        gateway_from_config().register_webhook_endpoint(f"http://{HOST}:{SITE_PORT}/stripe/webhook")


def follow_sandbox_port() -> None:
    """Offers seeded with another sandbox address (``make run`` seeds before this script
    sets the port; an older database) now call the sandbox this script started."""
    from app import create_app
    from demo import follow_sandbox_address
    from extensions import db

    app = create_app()
    with app.app_context():
        moved = follow_sandbox_address()
        db.session.commit()
    if moved:
        print(f"{moved} offer(s) now call the partner sandbox on port {SANDBOX_PORT}")


def main() -> int:
    env = dev_env(
        os.environ, stripe_port=STRIPE_PORT, sandbox_port=SANDBOX_PORT, site_port=SITE_PORT
    )
    os.environ.update(env)
    python = sys.executable
    children: list[subprocess.Popen[bytes]] = []

    def start(*args: str) -> subprocess.Popen[bytes]:
        # Each child leads its own process group, so stopping it also stops what it started
        # (the Flask reloader's worker process, for one).
        child = subprocess.Popen([python, *args], env=env, start_new_session=True)
        children.append(child)
        return child

    def stop_all(*_: object) -> None:
        for child in reversed(children):
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)

    signal.signal(signal.SIGTERM, lambda *a: (stop_all(), sys.exit(0)))
    try:
        stripe = start("-m", "devtools.localstripe_local", "--port", str(STRIPE_PORT))
        # Like a real partner, the sandbox keeps its idempotency keys and effects on restart.
        sandbox = start(
            "-m", "sandbox", "--port", str(SANDBOX_PORT), "--state-dir", SANDBOX_STATE_DIR
        )
        for folder in ("tmp", "new", "cur"):  # a Maildir: aiosmtpd would not add these
            os.makedirs(os.path.join(DEV_MAIL_DIR, folder), exist_ok=True)
        start(
            "-m", "aiosmtpd", "-n", "-l", f"{HOST}:{SMTP_PORT}",
            "-c", "aiosmtpd.handlers.Mailbox", DEV_MAIL_DIR,
        )  # fmt: skip
        wait_until_up(f"http://{HOST}:{STRIPE_PORT}/js.stripe.com/v3/", stripe)
        wait_until_up(f"http://{HOST}:{SANDBOX_PORT}/_stats", sandbox)
        register_stripe_webhook()
        follow_sandbox_port()
        start("-m", "flask", "--app", "app", "run", "--host", HOST, "--port", str(SITE_PORT))
        start("-m", "flask", "--app", "app", "fulfillment", "sweep", "--loop", "30")
        start("-m", "flask", "--app", "app", "messaging", "sweep", "--loop", "10")
        print(f"\nPayung is running on http://{HOST}:{SITE_PORT}  (Ctrl-C stops everything)")
        print(f"Messages: http://{HOST}:{SITE_PORT}/dev/outbox (email: SMTP on port {SMTP_PORT})\n")
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print("a process stopped; stopping the rest", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop_all()


if __name__ == "__main__":
    sys.exit(main())
