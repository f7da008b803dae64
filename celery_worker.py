"""Entry point for Celery workers and beat:

celery -A celery_worker worker --loglevel=info
celery -A celery_worker beat
"""

from app import create_app

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
