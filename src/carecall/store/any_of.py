"""``column IN (ids)`` that PostgreSQL prepares once, whatever the number of ids.

A 1,000-item ``IN`` list is rendered as 1,000 bound parameters, which psycopg splits and
converts on every execution (about a tenth of a campaign plan's read time). On PostgreSQL
this sends one ``uuid[]`` parameter instead (``column = ANY(:ids)``); other engines (SQLite)
keep the plain ``IN`` list. Same rows either way.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Uuid, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session


def uuid_in(session: Session, column: ColumnElement[Any],
            ids: Sequence[uuid.UUID]) -> ColumnElement[bool]:
    """``column IN ids`` for the session's engine (``= ANY(array)`` on PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=ARRAY(Uuid())))
    return column.in_(list(ids))
