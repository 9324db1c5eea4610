"""NativeAuthenticator's accounts (name, password hash, approval) in the hub database.

The hub reads these rows afresh at each login (HubctlAuthenticator.get_user), so they can be
written here while it runs. Run by the playbook as
`python -m hubctl.hub.accounts DB_URL` with {"instructors": [{"name", "password"}],
"people": [names]} on stdin; prints {"created": [{"name", "password"}], "kept": [names]}
(password null where it came from a password_file).
"""

import json
import secrets
import sys

import bcrypt
from jupyterhub import orm
from nativeauthenticator.orm import UserInfo


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def _hash(password: str) -> bytes:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt())


def claim_accounts(session, people: list[dict]) -> dict:
    """An approved account for each person; an unapproved sign-up under the name (someone
    who came first) is taken over with a new password."""
    created, kept = [], []
    for person in people:
        name = person["name"]
        info = UserInfo.find(session, name)
        if info is not None and info.is_authorized:
            kept.append(name)
            continue
        password = person.get("password") or generate_password()
        if info is None:
            session.add(UserInfo(username=name, password=_hash(password), is_authorized=True))
        else:
            info.password, info.is_authorized = _hash(password), True
        created.append({"name": name, "password": None if person.get("password") else password})
    session.commit()
    return {"created": created, "kept": kept}


def find(session, name: str) -> UserInfo:
    info = UserInfo.find(session, name)
    if info is None:
        raise LookupError(f"no user named '{name}': see `hubctl users list`")
    return info


def approve(session, name: str) -> bool:
    """Approve a sign-up; False if it already was."""
    info = find(session, name)
    if info.is_authorized:
        return False
    info.is_authorized = True
    session.commit()
    return True


def reset_password(session, name: str) -> str:
    info = find(session, name)
    password = generate_password()
    info.password = _hash(password)
    session.commit()
    return password


def remove(session, name: str) -> None:
    session.delete(find(session, name))
    session.commit()


def list_accounts(session) -> dict[str, bool]:
    """{name: approved} for every account."""
    return {info.username: bool(info.is_authorized) for info in session.query(UserInfo)}


def open_session(db_url: str):
    return orm.new_session_factory(db_url)()


def main() -> None:
    request = json.load(sys.stdin)
    people = request["instructors"] + [{"name": name} for name in request.get("people", [])]
    json.dump(claim_accounts(open_session(sys.argv[1]), people), sys.stdout)


if __name__ == "__main__":
    main()
