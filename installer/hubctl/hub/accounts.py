"""Claim the instructors' hub accounts before anyone can sign up under their names.

Run on the VM by the playbook: `python -m hubctl.hub.accounts DB_URL` with
{"instructors": [{"name": ..., "password": ... or null}]} on stdin. Prints
{"created": [{"name": ..., "password": generated or null}], "kept": [names]}.
"""

import json
import secrets
import sys

import bcrypt
from jupyterhub import orm
from nativeauthenticator.orm import UserInfo


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def claim_accounts(session, instructors: list[dict]) -> dict:
    """Approved accounts for each instructor; an unapproved sign-up under the name is taken over."""
    created, kept = [], []
    for person in instructors:
        name = person["name"]
        info = UserInfo.find(session, name)
        if info is not None and info.is_authorized:
            kept.append(name)
            continue
        password = person.get("password") or generate_password()
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt())
        if info is None:
            session.add(UserInfo(username=name, password=hashed, is_authorized=True))
        else:
            info.password, info.is_authorized = hashed, True
        created.append({"name": name, "password": None if person.get("password") else password})
    session.commit()
    return {"created": created, "kept": kept}


def main() -> None:
    db_url = sys.argv[1]
    request = json.load(sys.stdin)
    session = orm.new_session_factory(db_url)()
    json.dump(claim_accounts(session, request["instructors"]), sys.stdout)


if __name__ == "__main__":
    main()
