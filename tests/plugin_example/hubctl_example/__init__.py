"""An example hubctl plugin: every hook, each with an effect a test can see.

plugins:
  example: {greeting: Welcome to the course}
"""

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from hubctl.hookspecs import hookimpl

ROLE = Path(__file__).parent / "example_greeting"
GREETING_FILE = "/etc/hubctl-example/greeting"


class ExampleSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    greeting: str = Field("Hello", min_length=1, max_length=80, description="Said to everyone.")


@hookimpl
def hubctl_plugin_schema():
    return ExampleSettings


@hookimpl
def hubctl_user_packages():
    return {"pip": ["tabulate==0.9.0"], "apt": ["tree"]}


@hookimpl
def hubctl_ansible_roles(settings, config):
    courses = [course.id for course in config.courses]
    variables = {"example_greeting_text": settings.greeting, "example_greeting_courses": courses}
    return [{"path": str(ROLE), "vars": variables}]


@hookimpl
def hubctl_hub_config(settings):
    return {"Spawner": {"environment": {"EXAMPLE_GREETING": settings.greeting}}}


@hookimpl
def hubctl_new_user(settings, name, home):
    import os
    import pwd

    welcome = Path(home) / "WELCOME.txt"
    welcome.write_text(f"{settings.greeting}, {name}!\n", encoding="utf-8")
    account = pwd.getpwnam(name)
    os.chown(welcome, account.pw_uid, account.pw_gid)


@hookimpl
def hubctl_pre_spawn(user, groups):
    return {"environment": {"EXAMPLE_GROUPS": ",".join(sorted(groups))}}


@hookimpl
def hubctl_cli_commands():
    from hubctl_example.commands import example

    return [example]
