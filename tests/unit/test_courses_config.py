import pytest

from hubctl.config import load_config, parse_config
from hubctl.config.loader import ConfigError
from hubctl.config.roster import RosterError, parse_roster, read_roster

USERS = "users: {instructors: [alice, carol]}\n"


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "hub.yaml")
    return str(caught.value)


def test_a_course_gets_its_defaults():
    config = parse_config(USERS + "courses: [{id: cs101, instructors: [alice]}]")
    assert config.courses[0].model_dump(mode="json") == {
        "id": "cs101",
        "title": "",
        "instructors": ["alice"],
        "graders": [],
        "students": [],
        "roster": None,
        "timezone": "UTC",
    }


def test_an_instructor_teaches_several_courses_and_a_student_takes_several():
    config = parse_config(
        USERS
        + "courses:\n"
        + "  - {id: cs101, instructors: [alice], students: [ann, ben]}\n"
        + "  - {id: math2, instructors: [alice, carol], graders: [tom], students: [ann]}\n"
    )
    assert [course.id for course in config.courses] == ["cs101", "math2"]
    assert config.course("math2").graders == ["tom"]
    assert config.course("nope") is None


@pytest.mark.parametrize(
    ("courses", "message"),
    [
        (
            "[{id: CS-101, instructors: [alice]}]",
            "hub.yaml: courses.0.id: 'CS-101' is not a course id: use 1-24 lowercase letters,"
            " digits or '_', starting with a letter, e.g. cs101",
        ),
        (
            "[{id: cs101, instructors: [alice]}, {id: cs101, instructors: [carol]}]",
            "hub.yaml: courses.1.id: 'cs101' is used by another course: give each its own id",
        ),
        (
            "[{id: cs101, instructors: [bob]}]",
            "hub.yaml: courses.0.instructors.0: 'bob' is not in users.instructors: add them"
            " there first",
        ),
        (
            "[{id: cs101, instructors: []}]",
            "hub.yaml: courses.0.instructors: list at least one instructor of the course,"
            " e.g. instructors: [alice]",
        ),
        (
            "[{id: cs101, instructors: [alice], students: [ann, 'B B']}]",
            "hub.yaml: courses.0.students.1: 'B B' is not a valid user name: use 1-32 lowercase"
            " letters, digits, '-' or '_', starting with a letter",
        ),
        (
            "[{id: cs101, instructors: [alice], graders: [grader-cs101]}]",
            "hub.yaml: courses.0.graders.0: 'grader-cs101' is a system account name:"
            " choose another name",
        ),
        (
            "[{id: cs101, instructors: [alice], graders: [ann], students: [ann]}]",
            "hub.yaml: courses.0.students.0: 'ann' is already one of this course's graders:"
            " list each person once per course",
        ),
        (
            "[{id: cs101, instructors: [alice], timezone: Mars/Olympus}]",
            "hub.yaml: courses.0.timezone: 'Mars/Olympus' is not a time zone: use an IANA name,"
            " e.g. Europe/Berlin or UTC",
        ),
        (
            "[{id: cs101, instructors: [alice], studnets: [ann]}]",
            "hub.yaml: courses.0.studnets: unknown key: did you mean 'students'?",
        ),
    ],
)
def test_bad_courses_name_the_key_and_the_fix(courses, message):
    assert error_of(USERS + f"courses: {courses}\n") == message


def test_a_roster_file_adds_students_relative_to_hub_yaml(tmp_path):
    (tmp_path / "cs101.csv").write_text("Username,Email\nann,a@x\nCarl,c@x\n")
    (tmp_path / "hub.yaml").write_text(
        USERS + "courses: [{id: cs101, instructors: [alice], students: [ann, ben],"
        " roster: cs101.csv}]\n"
    )
    config = load_config(tmp_path / "hub.yaml")
    assert config.courses[0].students == ["ann", "ben", "carl"]


def test_a_missing_roster_is_named(tmp_path):
    (tmp_path / "hub.yaml").write_text(
        USERS + "courses: [{id: cs101, instructors: [alice], roster: gone.csv}]\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "hub.yaml")
    assert str(caught.value) == (
        f"{tmp_path / 'hub.yaml'}: courses.0.roster: {tmp_path / 'gone.csv'} does not exist:"
        " give a CSV file"
    )


def test_a_roster_student_who_is_also_a_grader_is_refused(tmp_path):
    (tmp_path / "r.csv").write_text("username\ntom\n")
    (tmp_path / "hub.yaml").write_text(
        USERS + "courses: [{id: cs101, instructors: [alice], graders: [tom], roster: r.csv}]\n"
    )
    with pytest.raises(ConfigError, match="courses.0.students.0: 'tom' is already one of"):
        load_config(tmp_path / "hub.yaml")


def test_a_messy_roster_reads_clean(tmp_path):
    roster = tmp_path / "export.csv"
    text = (
        "\ufeffLast Name, Username ,Email\r\nDoe,  Ann ,a@x\r\n\r\nRoe,BEN,b@x\r\nDoe,ann,a@x\r\n"
    )
    roster.write_bytes(text.encode("utf-8"))
    assert read_roster(roster) == ["ann", "ben"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "r.csv: the roster is empty: put one user name per row"),
        (
            "email\na@x\n",
            "r.csv:1: no user name column in the header ['email']: name the column 'username'",
        ),
        (
            "username\nann\n\nroot\n",
            "r.csv:4: 'root' is a system account name: choose another name",
        ),
        (
            "username,email\nann,a\n,b\n",
            "r.csv:3: '' is not a valid user name: use 1-32 lowercase letters, digits, '-' or '_',"
            " starting with a letter",
        ),
    ],
)
def test_a_bad_roster_row_names_its_line(text, message):
    with pytest.raises(RosterError) as caught:
        parse_roster(text, "r.csv")
    assert str(caught.value) == message


def test_a_roster_that_is_not_utf8_says_how_to_save_it(tmp_path):
    roster = tmp_path / "r.csv"
    roster.write_bytes("username\nj\xf6rg\n".encode("latin-1"))
    with pytest.raises(RosterError, match="not UTF-8 text: save the roster as CSV UTF-8"):
        read_roster(roster)
