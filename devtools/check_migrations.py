"""Apply every migration to an empty database, then fail if the models differ from it.

Runs on a throwaway SQLite file, and also on PostgreSQL (in a throwaway schema) when
PAYUNG_DATABASE_URL points there. ``--generate MESSAGE`` writes a new migration instead.
"""

import argparse
import os
import sys
import tempfile
import uuid
from pathlib import Path

from flask_migrate import check, migrate, upgrade
from sqlalchemy import create_engine, text

from app import create_app


def _check(config: dict[str, str]) -> None:
    app = create_app({"ENV_NAME": "development", **config})
    with app.app_context():
        upgrade()
        check()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--generate", metavar="MESSAGE")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_url = f"sqlite:///{Path(tmp) / 'migrations.db'}"
        if args.generate:
            app = create_app({"ENV_NAME": "development", "DATABASE_URL": sqlite_url})
            with app.app_context():
                upgrade()
                migrate(message=args.generate)
            return 0
        _check({"DATABASE_URL": sqlite_url})
        print("migrations agree with the models on SQLite")
    pg_url = os.environ.get("PAYUNG_DATABASE_URL", "")
    if pg_url.startswith("postgresql"):
        schema = f"migcheck_{uuid.uuid4().hex[:8]}"
        engine = create_engine(pg_url)
        with engine.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        try:
            _check({"DATABASE_URL": pg_url, "DATABASE_SCHEMA": schema})
            print("migrations agree with the models on PostgreSQL")
        finally:
            with engine.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
