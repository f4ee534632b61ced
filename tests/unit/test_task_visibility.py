"""The inbox query's conditions (SQL, for lists) and the checks on one loaded task (Python, on
the completion and claim paths) must agree for every combination of task and actor."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from app.models import Base, HumanTask
from app.services.context import Actor
from app.services.tasks import _group_clause, _in_candidate_group, _visible, _visible_clause

GROUPS = [None, "kommune", "sachbearbeitung", "gutachter", "ressort-hmdi"]
AGS = [None, "06411000", "06412000"]
ASSIGNEES = [None, 1, 2]

ACTORS = [
    Actor(user_id=1, username="k1", groups=frozenset({"kommune"}), municipalities=frozenset({"06411000"})),
    Actor(user_id=2, username="k-ohne", groups=frozenset({"kommune"})),
    Actor(user_id=3, username="sb", groups=frozenset({"sachbearbeitung"})),
    Actor(user_id=1, username="mehrfach", groups=frozenset({"kommune", "gutachter"}),
          municipalities=frozenset({"06412000", "06411000"})),
    Actor(user_id=4, username="niemand"),
    Actor(user_id=5, username="ressort", groups=frozenset({"ressort-hmdi"}),
          municipalities=frozenset({"06411000"})),
]


@pytest.fixture(scope="module")
def session():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)  # no foreign keys enforced: tasks without instances
    with Session(engine) as s:
        for n, (group, ags, assignee) in enumerate(itertools.product(GROUPS, AGS, ASSIGNEES)):
            s.add(HumanTask(instance_id=1, task_id=f"t{n}", process_key="p", name="n", title="t",
                            candidate_group=group, municipality_ags=ags, assignee_id=assignee))
        s.commit()
        yield s


@pytest.mark.parametrize("actor", ACTORS, ids=lambda a: a.username)
def test_python_check_agrees_with_the_sql_condition(session, actor):
    every = session.scalars(select(HumanTask)).all()
    by_sql = {t.task_id for t in session.scalars(select(HumanTask).where(_visible_clause(actor)))}
    by_python = {t.task_id for t in every if _visible(actor, t)}
    assert len(every) == len(GROUPS) * len(AGS) * len(ASSIGNEES)
    assert by_python == by_sql


@pytest.mark.parametrize("actor", ACTORS, ids=lambda a: a.username)
def test_candidate_group_check_agrees_with_the_group_inbox_condition(session, actor):
    every = session.scalars(select(HumanTask)).all()
    clause = _group_clause(actor)
    by_sql = set() if clause is None else {
        t.task_id for t in session.scalars(select(HumanTask).where(clause))}
    assert {t.task_id for t in every if _in_candidate_group(actor, t)} == by_sql
