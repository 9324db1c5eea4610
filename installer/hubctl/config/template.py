"""The commented hub.yaml that `hubctl config init` writes, generated from the schema."""

import yaml
from pydantic import BaseModel

from hubctl.config.schema import Course, HubConfig

HEADER = """\
# hub.yaml: the configuration of one hubctl teaching hub.
# Edit it, check it with `hubctl config validate`, apply it with `hubctl install`.
# Every key is optional except users.instructors; what you see are the defaults.
"""


def render_template(instructor: str = "instructor") -> str:
    example = {"users": {"instructors": [instructor]}}
    lines = [HEADER.rstrip()]
    for section, field in HubConfig.model_fields.items():
        if section == "courses":
            lines.append(_courses_example(field.description))
            continue
        if section == "plugins":
            lines.append(_plugins_example(field.description))
            continue
        model: type[BaseModel] = field.annotation
        lines.append(f"\n{section}:")
        for key, subfield in model.model_fields.items():
            value = example.get(section, {}).get(key, subfield.default)
            lines.append(f"  # {subfield.description}")
            lines.append(_indent(yaml.safe_dump({key: value}, default_flow_style=False), "  "))
    return "\n".join(lines).rstrip() + "\n"


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in text.rstrip().splitlines())


def _courses_example(description: str) -> str:
    example = {"id": "cs101", "title": "Introduction to Programming", "instructors": "[alice]"}
    example |= {"graders": "[tom]", "students": "[ann, ben]", "roster": "cs101-roster.csv"}
    example |= {"timezone": "Europe/Berlin"}
    lines = [f"\n# {description} For example:", "# courses:"]
    for index, (key, subfield) in enumerate(Course.model_fields.items()):
        lines.append(f"#   {'- ' if index == 0 else '  '}{key}: {example[key]}")
        lines.append(f"#       ({subfield.description})")
    return "\n".join([*lines, "courses: []"])


def _plugins_example(description: str) -> str:
    lines = [f"\n# {description} For example:", "# plugins:", "#   packages:"]
    lines += ["#     pip: [pandas==2.2.3]   # pinned: NAME==VERSION", "#     apt: [graphviz]"]
    return "\n".join([*lines, "plugins: {}"])
