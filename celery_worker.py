"""Entry point for Celery workers and beat:

celery -A celery_worker worker --loglevel=info
celery -A celery_worker beat

The app is built once in the parent, then ``gc.freeze()`` moves everything it allocated out of
the garbage collector's reach, so the forked pool processes keep sharing those pages with the
parent instead of copying them when a collection walks them (measured: bench/README.md).
"""

import gc

from app import create_app

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
gc.freeze()
