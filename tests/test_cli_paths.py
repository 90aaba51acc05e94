"""Path options given a path of the wrong kind: one ``zoo: error:`` line, exit 2, no
traceback, and nothing stored changed, before any plugin loads or anything trains."""

import os
from pathlib import Path

import pytest

from zoo.cli import paths
from zoo.cli.main import main

NOTES = b"my notes, not a folder\n"


@pytest.fixture
def places(tmp_path) -> dict[str, Path]:
    """A file, an image folder, and a path under the file (where nothing can ever be)."""
    file = tmp_path / "notes.txt"
    file.write_bytes(NOTES)
    folder = tmp_path / "images"
    for label in ("a", "b"):
        (folder / label).mkdir(parents=True)
    return {"file": file, "folder": folder, "under": file / "inside"}


def stored(root: Path) -> dict[str, bytes | None]:
    """Everything under ``root``: each file's bytes, None for a folder or a link."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder, name)
            found[str(path.relative_to(root))] = None if path.is_symlink() or path.is_dir() else path.read_bytes()
    return found


# (the command line before the path, the wrong path, what the message says about it)
WRONG = [
    pytest.param(["info", "simple_cnn", "--weights"], "folder", "is a folder", id="info --weights: a folder"),
    pytest.param(["info", "simple_cnn", "--weights"], "under", "is a file, not a folder", id="info --weights: under a file"),
    pytest.param(["bench", "--data"], "file", "is a file", id="bench --data: a file"),
    pytest.param(["bench", "--data"], "under", "is a file, not a folder", id="bench --data: under a file"),
    pytest.param(["bench", "--out"], "file", "is a file", id="bench --out: a file"),
    pytest.param(["bench", "--out"], "under", "is a file, not a folder", id="bench --out: under a file"),
    pytest.param(["leaderboard", "--out"], "file", "is a file", id="leaderboard --out: a file"),
    pytest.param(["leaderboard", "--out"], "under", "is a file, not a folder", id="leaderboard --out: under a file"),
    pytest.param(["leaderboard", "--readme"], "folder", "is a folder", id="leaderboard --readme: a folder"),
    pytest.param(["leaderboard", "--readme"], "under", "is a file, not a folder", id="leaderboard --readme: under a file"),
    pytest.param(["recommend"], "file", "is a file", id="recommend PATH: a file"),
    pytest.param(["recommend"], "under", "is a file, not a folder", id="recommend PATH: under a file"),
    pytest.param(["recommend", "{folder}", "--results"], "folder", "is a folder", id="recommend --results: a folder"),
    pytest.param(["recommend", "{folder}", "--results"], "under", "is a file, not a folder", id="recommend --results: under a file"),
    pytest.param(["recommend", "{folder}", "--html"], "folder", "is a folder", id="recommend --html: a folder"),
    pytest.param(["recommend", "{folder}", "--html"], "under", "is a file, not a folder", id="recommend --html: under a file"),
    pytest.param(["bench", "--data", "{folder}", "--keep-weights"], "file", "is a file", id="bench --keep-weights: a file"),
]


def assert_refused(capsys, argv: list[str], shown: str, says: str, before: dict, root: Path) -> None:
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert "Traceback" not in err
    [line] = err.splitlines()
    assert line.startswith("zoo: error: ") and shown in line and says in line and " wants " in line
    assert stored(root) == before


@pytest.mark.parametrize("command, wrong, says", WRONG)
def test_a_path_of_the_wrong_kind_is_one_line_and_changes_nothing(command, wrong, says, places, tmp_path, capsys):
    before = stored(tmp_path)
    path = str(places[wrong])
    argv = [part.format(**places) for part in command] + [path]
    assert_refused(capsys, argv, path, says, before, tmp_path)
    assert places["file"].read_bytes() == NOTES


@pytest.mark.parametrize(
    "argv, shown",
    [
        (["bench"], "--out leaderboards"),
        (["leaderboard"], "--out leaderboards"),
        (["recommend", "images", "--suite", "mini"], "--results leaderboards/results.sqlite"),
        (["recommend", "images"], "--results leaderboards/imagenet_offline/results.sqlite"),
    ],
    ids=["bench --out", "leaderboard --out", "recommend --suite mini --results", "recommend --results"],
)
def test_defaults_are_checked_too(argv, shown, places, tmp_path, monkeypatch, capsys):
    """A file named ``leaderboards`` where the defaults put the results folder."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "leaderboards").write_bytes(NOTES)
    before = stored(tmp_path)
    assert_refused(capsys, argv, shown, "is a file", before, tmp_path)


@pytest.mark.parametrize(
    "kind, right",
    [
        (paths.folder_to_read, "folder"),
        (paths.folder_to_read, "missing"),  # the command says what a missing folder should hold
        (paths.file_to_read, "file"),
        (paths.file_to_read, "missing"),  # zoo recommend does without a missing --results
        (paths.folder_to_write, "folder"),
        (paths.folder_to_write, "missing"),
        (paths.folder_to_write, "missing/deeper"),
        (paths.file_to_rewrite, "file"),
    ],
)
def test_paths_of_the_right_kind_are_accepted_and_nothing_is_created(kind, right, places, tmp_path):
    text = str(places.get(right, tmp_path / right))
    before = stored(tmp_path)
    assert kind("--opt", "something")(text) == Path(text)
    assert stored(tmp_path) == before


def test_a_relative_path_is_checked_against_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert paths.folder_to_write("--out", "a folder")("leaderboards") == Path("leaderboards")
    assert not (tmp_path / "leaderboards").exists()


def test_a_readme_to_fill_must_exist(tmp_path):
    missing = tmp_path / "README.md"
    with pytest.raises(paths.PathKindError, match=f"^--readme {missing} does not exist; --readme wants a file: name a file that exists$"):
        paths.file_to_rewrite("--readme", "a file")(str(missing))


@pytest.mark.parametrize(
    "kind, where, says",
    [
        (paths.folder_to_write, "folder", "is a folder that cannot be written"),
        (paths.folder_to_write, "missing", "cannot be created: {tmp_path} cannot be written"),
        (paths.file_to_rewrite, "file", "cannot be replaced: its folder {tmp_path} cannot be written"),
    ],
)
def test_a_place_that_cannot_be_written_is_refused(kind, where, says, places, tmp_path, monkeypatch):
    """Permission bits do not stop root, who runs the tests: os.access is made to say no."""
    text = str(places.get(where, tmp_path / where))
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(paths.PathKindError) as refused:
        kind("--out", "a folder to write into")(text)
    assert str(refused.value).startswith(f"--out {text} {says.format(tmp_path=tmp_path)}; --out wants a folder to write into: ")


def test_the_message_names_the_option_the_path_what_is_wanted_and_what_to_do(places, capsys):
    main(["bench", "--out", str(places["file"])])
    assert capsys.readouterr().err == (
        f"zoo: error: --out {places['file']} is a file; --out wants a folder to store the results and write "
        "the leaderboards in: name a folder\n"
    )
