"""Demo accounts, so that `make run` has someone to sign in as. Passwords are for the demo only."""

from __future__ import annotations

from sqlalchemy.orm import Session

from twonets.core.actor import SYSTEM
from twonets.core.errors import Conflict
from twonets.data import identity

DEMO_PASSWORD = "twonets-demo-2026"
DEMO_USERS = [
    dict(username="admin", roles=["administrator"]),
    dict(username="desk", roles=["dispatcher"], department="dispatch"),
    dict(username="lvhua", roles=["department_handler"], department="lvhua"),
    dict(username="shuiwu", roles=["department_handler"], department="shuiwu"),
    dict(username="chengguan", roles=["department_handler"], department="chengguan"),
    dict(username="reviewer", roles=["reviewer"], department="minzheng"),
    dict(username="officer", roles=["data_officer"], department="shuju"),
    dict(username="inspector", roles=["grid_inspector"], department="jiedao", street="S01", grid="S01C001G01"),
    # 王建国, a 68-year-old local resident in the base registries (demo/govservices.py PERSONAS).
    dict(username="citizen", roles=["citizen"], subject_id="P900001"),
    dict(username="parent", roles=["citizen"], subject_id="P900003"),
    # 郑秀英, 88: qualifies for the nutrition allowance granted without application (MINZHENG-006).
    dict(username="elder", roles=["citizen"], subject_id="P900008"),
]
# A data officer for every department that owns a catalogue dataset (shuju's is `officer`), so
# that each sharing request has someone to decide it: `officer.<department>`.
OWNER_DEPARTMENTS = ("gongan", "shichang", "guihua", "dispatch", "minzheng", "weijian", "renshe", "gongjijin",
                     "shuiwuju", "jiaoyu", "jiaojing")
DEMO_USERS += [dict(username=f"officer.{d}", roles=["data_officer"], department=d) for d in OWNER_DEPARTMENTS]


def seed_demo_users(session: Session) -> list[str]:
    """Create the demo accounts that do not exist yet; returns the usernames created."""
    made = []
    for spec in DEMO_USERS:
        if identity.user_by_username(session, spec["username"]) is not None:
            continue
        try:
            identity.create_user(session, SYSTEM, password=DEMO_PASSWORD, **spec)
            made.append(spec["username"])
        except Conflict:
            continue
    return made
