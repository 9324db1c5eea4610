"""Read hub.yaml and turn every problem into "FILE: KEY: what is wrong: the fix"."""

import difflib
from pathlib import Path
from typing import get_args

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core.core_schema import ErrorType

from hubctl.config.roster import read_roster
from hubctl.config.schema import HubConfig, cross_check
from hubctl.config.tls_files import tls_file_problems
from hubctl.errors import HubctlError

PYDANTIC_ERROR_TYPES = frozenset(get_args(ErrorType))


class ConfigError(HubctlError):
    """hub.yaml is unreadable or invalid; one line per problem."""


def load_config(path: Path, check_files: bool = True) -> HubConfig:
    """Load and validate hub.yaml; relative file paths in it are taken from its folder."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such file: run `hubctl config init` to write one, or pass --config PATH"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read it: {error}") from None
    config = parse_config(text, str(path))
    config = _resolve_paths(config, path.parent)
    if check_files:
        _check_files(config, str(path))
        config = _merge_rosters(config, str(path))
    _check_plugins(config, str(path))
    return config


def _check_plugins(config: HubConfig, source: str) -> None:
    """Each enabled plugin is installed, loads and accepts its settings. Only here, on the
    instructor's machine: the VM reads hub.yaml without the plugins (parse_config)."""
    from hubctl.plugins import EnabledPlugins

    EnabledPlugins(config, source)


def parse_config(text: str, source: str = "hub.yaml") -> HubConfig:
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise ConfigError(
            f"{where}: not valid YAML ({error.problem}): check the indentation and quoting there"
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of keys like `users:` at the top level")
    try:
        config = HubConfig.model_validate(data)
    except ValidationError as error:
        lines = [f"{source}: {describe_error(err)}" for err in error.errors()]
        raise ConfigError("\n".join(lines)) from None
    _raise_problems(cross_check(config), source)
    return config


def _raise_problems(problems: list[str], source: str) -> None:
    if problems:
        raise ConfigError("\n".join(f"{source}: {problem}" for problem in problems))


def describe_error(err: dict, model: type[BaseModel] = HubConfig, prefix: tuple = ()) -> str:
    """One pydantic error of `model` as "key.path: what is wrong: the fix"; `prefix` is
    where the model sits in hub.yaml (a plugin's settings: ("plugins", NAME))."""
    loc = err["loc"]
    path = ".".join(str(part) for part in (*prefix, *loc)) or "(top level)"
    kind = err["type"]
    value = err.get("input")
    if kind == "extra_forbidden":
        known = _known_keys(loc[:-1], model)
        guess = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f"did you mean '{guess[0]}'?" if guess else "known keys: " + ", ".join(known)
        return f"{path}: unknown key: {hint}"
    if kind == "missing":
        return f"{path}: required: add it (see `hubctl config init`)"
    if kind == "too_short" and loc == ("users", "instructors"):
        return f"{path}: list at least one instructor, e.g. instructors: [alice]"
    message = err["msg"].removeprefix("Value error, ")
    if kind == "too_short" and loc[-1] == "instructors":
        return f"{path}: list at least one instructor of the course, e.g. instructors: [alice]"
    if kind not in PYDANTIC_ERROR_TYPES:  # our own (PydanticCustomError): it names the value
        return f"{path}: {message}"
    return f"{path}: {message[0].lower()}{message[1:]} (got {value!r})"


def _known_keys(loc: tuple, model: type[BaseModel]) -> list[str]:
    mapping_key = False  # the part after a dict[str, Model] field is a key of the user's
    for part in loc:
        if isinstance(part, int) or mapping_key:
            mapping_key = False
            continue
        annotation = model.model_fields[str(part)].annotation
        mapping_key = getattr(annotation, "__origin__", None) is dict
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        nested = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if not nested:
            break
        model = nested[0]
    return list(model.model_fields)


def _resolve_paths(config: HubConfig, base: Path) -> HubConfig:
    def absolute(path: Path | None) -> Path | None:
        return None if path is None else (base / path.expanduser()).resolve()

    network = config.network.model_copy(update={"ca_bundle": absolute(config.network.ca_bundle)})
    https = config.https.model_copy(
        update={
            key: absolute(getattr(config.https, key)) for key in ("cert", "key", "acme_ca_root")
        }
    )
    instructors = [
        person.model_copy(update={"password_file": absolute(person.password_file)})
        for person in config.users.instructors
    ]
    users = config.users.model_copy(update={"instructors": instructors})
    courses = [
        course.model_copy(update={"roster": absolute(course.roster)}) for course in config.courses
    ]
    return config.model_copy(
        update={"network": network, "https": https, "users": users, "courses": courses}
    )


def _merge_rosters(config: HubConfig, source: str) -> HubConfig:
    """Each course's roster read into its students (a bad row stops here, before any change)."""
    courses = []
    for course in config.courses:
        if course.roster is not None:
            extra = [name for name in read_roster(course.roster) if name not in course.students]
            course = course.model_copy(update={"students": [*course.students, *extra]})
        courses.append(course)
    config = config.model_copy(update={"courses": courses})
    _raise_problems(cross_check(config), source)
    return config


def _check_files(config: HubConfig, source: str) -> None:
    problems = tls_file_problems(config.https)
    bundle = config.network.ca_bundle
    if bundle is not None:
        if not bundle.is_file():
            problems.append(f"network.ca_bundle: {bundle} does not exist: give a PEM file")
        elif "-----BEGIN CERTIFICATE-----" not in bundle.read_text(errors="replace"):
            problems.append(f"network.ca_bundle: {bundle} holds no PEM certificate")
    for index, person in enumerate(config.users.instructors):
        key = f"users.instructors.{index}.password_file"
        file = person.password_file
        if file is None:
            continue
        if not file.is_file():
            problems.append(f"{key}: {file} does not exist: create it or remove the key")
        elif len(file.read_text().strip()) < config.users.minimum_password_length:
            problems.append(
                f"{key}: the password in {file} is shorter than users.minimum_password_length"
            )
    for index, course in enumerate(config.courses):
        if course.roster is not None and not course.roster.is_file():
            problems.append(
                f"courses.{index}.roster: {course.roster} does not exist: give a CSV file"
            )
    _raise_problems(problems, source)
