"""The `packages` plugin: extra pinned pip packages for the students' venv and apt packages
for the VM, per hub.

    plugins:
      packages:
        pip: [pandas==2.2.3]
        apt: [graphviz]
"""

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from hubctl.hookspecs import UserPackages, hookimpl
from hubctl.plugins import APT_NAME_RE, is_pinned


def _check_pinned(text: str) -> str:
    if not is_pinned(text):
        raise PydanticCustomError(
            "pinned_requirement",
            "'{text}' is not a pinned requirement: write NAME==VERSION, e.g. pandas==2.2.3",
            {"text": text},
        )
    return text


def _check_apt_name(text: str) -> str:
    if not APT_NAME_RE.match(text):
        raise PydanticCustomError(
            "apt_name",
            "'{text}' is not a Debian package name: use the name alone, e.g. graphviz",
            {"text": text},
        )
    return text


class PackagesSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    pip: list[Annotated[str, AfterValidator(_check_pinned)]] = Field(
        default_factory=list,
        description="pip requirements for the students' venv, each pinned: NAME==VERSION.",
    )
    apt: list[Annotated[str, AfterValidator(_check_apt_name)]] = Field(
        default_factory=list, description="Debian packages to install on the VM."
    )


@hookimpl
def hubctl_plugin_schema() -> type[BaseModel]:
    return PackagesSettings


@hookimpl
def hubctl_user_packages(settings: PackagesSettings) -> UserPackages:
    return {"pip": list(settings.pip), "apt": list(settings.apt)}
