"""Whether the hub database matches the installed JupyterHub's schema.

    python -m hubctl.hub.database DB_URL   prints new | current | outdated

"outdated" makes the install stop the hub and run `jupyterhub upgrade-db` before it starts
the new JupyterHub, which refuses an old schema."""

import sys

from jupyterhub import orm
from sqlalchemy import create_engine, inspect


def schema_state(url: str) -> str:
    engine = create_engine(url)
    try:
        if not inspect(engine).has_table("users"):
            return "new"
        orm.check_db_revision(engine)
    except orm.DatabaseSchemaMismatch:
        return "outdated"
    finally:
        engine.dispose()
    return "current"


if __name__ == "__main__":
    print(schema_state(sys.argv[1]))
