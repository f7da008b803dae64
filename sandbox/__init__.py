"""Partner sandbox: the telco, health-app and insurer APIs Payung's issuers talk to, on 127.0.0.1.

Run it with ``python -m sandbox --port 8430``; the contract is in sandbox/README.md.
"""

from sandbox.app import create_sandbox_app

__all__ = ["create_sandbox_app"]
