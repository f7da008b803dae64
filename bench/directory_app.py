"""The app gunicorn serves for ``bench.directory_bench``: Payung as configured by PAYUNG_*
variables, plus a hello-world route measured in the same run as the baseline."""

from accounts.access import public
from app import create_app

app = create_app()


@app.route("/bench/hello")
@public
def hello() -> str:
    return "hello"
