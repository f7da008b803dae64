"""History tables keep what happened: their rows are added, never changed or deleted."""

import pytest

from accounts.models import Role
from admin.models import AuditEvent
from extensions import AppendOnlyError, db
from workers.models import ConsentAction, ConsentEvent, ConsentKind, EnrolmentSource
from workers.self_models import ChangeKind, WorkerChange


def history_rows(worker, admin):
    yield ConsentEvent(
        worker_id=worker.id,
        kind=ConsentKind.LISTING,
        action=ConsentAction.GIVEN,
        source=EnrolmentSource.SELF,
    )
    yield WorkerChange(worker_id=worker.id, kind=ChangeKind.HEIR_ADDED, detail={})
    yield AuditEvent(
        actor_id=admin.id, action="partner.approve", object_type="partner", object_id="1"
    )


@pytest.mark.parametrize("change", ["update", "delete"])
def test_history_rows_cannot_be_rewritten(app, make_worker, make_user, change):
    worker, admin = make_worker(), make_user(Role.ADMIN)
    for row in history_rows(worker, admin):
        db.session.add(row)
        db.session.commit()
        if change == "update":
            row.created_at = row.created_at.replace(year=2000)
        else:
            db.session.delete(row)
        with pytest.raises(AppendOnlyError, match=type(row).__name__):
            db.session.commit()
        db.session.rollback()
        assert db.session.get(type(row), row.id).created_at.year != 2000
