"""deploy/github-oidc-bootstrap.yaml: the OIDC trust and the two deployment roles' least privilege."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint_file
from cfnlint.decode import decode_str
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from tests.infra.cfn import translate

ROOT = Path(__file__).resolve().parents[2]
BOOTSTRAP = ROOT / "deploy" / "github-oidc-bootstrap.yaml"
APP_TEMPLATE = ROOT / "template.yaml"
SAMCONFIG = ROOT / "samconfig.toml"
EXEC_POLICIES = ("StackResourcesPolicy", "StackSupportPolicy")

# Handler permissions the execution role deliberately does not grant: features template.yaml does not use, or
# names that are not IAM actions. A new resource type or feature that needs one of these has to be added to the
# bootstrap template (and taken off this list) on purpose.
NOT_GRANTED = {
    "ec2:*": "the functions run outside a VPC",
    "elasticfilesystem:*": "no EFS mount",
    "s3files:*": "no S3 Files mount",
    "s3tables:*": "no S3 table bucket",
    "firehose:*": "no log delivery to Firehose",
    "s3:REST.PUT.OBJECT": "no log delivery to S3 (and not an IAM action)",
    "logs:CreateLogDelivery": "no vended log delivery",
    "logs:PutResourcePolicy": "no account-wide CloudWatch Logs resource policy",
    "logs:DeleteResourcePolicy": "no account-wide CloudWatch Logs resource policy",
    "logs:PutBearerTokenAuthentication": "no bearer-token log ingestion",
    "kms:CreateGrant": "Lambda and the event source mapping use AWS-owned keys, no customer key",
    "kms:Encrypt": "Lambda and the event source mapping use AWS-owned keys, no customer key",
    "kms:Decrypt": "Lambda and the event source mapping use AWS-owned keys, no customer key",
    "kms:GenerateDataKey": "Lambda and the event source mapping use AWS-owned keys, no customer key",
    "lambda:GetCodeSigningConfig": "no code signing",
    "lambda:PassCapacityProvider": "no Lambda managed instances",
    "lambda:AssociateRuntimeAlias": "not an IAM action (cfn-lint's IAM data does not know it)",
    "s3:PutObjectAcl": "the stack configures its bucket, never objects in it",
    "s3:DeleteObject": "the stack configures its bucket, never objects in it",
}


def resolve(node: Any, environment: str) -> Any:
    """The template with Fn::Sub, Ref and GetAtt replaced by concrete strings for one environment."""
    names = {
        "AWS::Partition": "aws",
        "AWS::Region": "eu-west-1",
        "AWS::AccountId": "000000000000",
        "AppName": "imagegen",
        "Environment": environment,
        "GitHubOwner": "example-org",
        "GitHubRepository": "imagegen",
    }
    if isinstance(node, dict):
        if "Fn::Sub" in node:
            text = node["Fn::Sub"] if isinstance(node["Fn::Sub"], str) else node["Fn::Sub"][0]
            return re.sub(r"\$\{([^}]+)\}", lambda m: names.get(m.group(1), f"<{m.group(1)}>"), text)
        if "Ref" in node:
            return names.get(node["Ref"], f"<{node['Ref']}>")
        if "Fn::GetAtt" in node:
            return "<{}.{}>".format(*node["Fn::GetAtt"])
        if "Fn::If" in node:
            return resolve(node["Fn::If"][1], environment)
        return {key: resolve(value, environment) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(value, environment) for value in node]
    return node


@pytest.fixture(scope="module", params=["dev", "prod"])
def bootstrap(request: pytest.FixtureRequest) -> dict[str, Any]:
    template, problems = decode_str(BOOTSTRAP.read_text())
    assert not problems, problems
    return {"environment": request.param, **resolve(template, request.param)}


def statements(policy_document: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {**s, "Action": as_list(s["Action"]), "Resource": as_list(s["Resource"])} for s in policy_document["Statement"]
    ]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def deploy_role_statements(bootstrap: dict[str, Any]) -> list[dict[str, Any]]:
    role = bootstrap["Resources"]["GitHubDeployRole"]["Properties"]
    return [s for policy in role["Policies"] for s in statements(policy["PolicyDocument"])]


def exec_role_statements(bootstrap: dict[str, Any]) -> list[dict[str, Any]]:
    resources = bootstrap["Resources"]
    return [s for name in EXEC_POLICIES for s in statements(resources[name]["Properties"]["PolicyDocument"])]


def allowed(action: str, policy: list[dict[str, Any]]) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), granted.lower()) for s in policy for granted in s["Action"])


def test_the_bootstrap_template_passes_cfn_lint() -> None:
    # given the bootstrap template
    # when cfn-lint checks it (schemas, IAM action names, policy structure)
    problems = lint_file(BOOTSTRAP, config=ManualArgs())

    # then it finds nothing
    assert [str(p) for p in problems] == []


def test_the_deploy_role_trusts_only_this_repositorys_jobs_in_the_same_github_environment(
    bootstrap: dict[str, Any],
) -> None:
    # given the deploy role's trust policy
    trust = bootstrap["Resources"]["GitHubDeployRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]

    # when its one statement is read
    [statement] = trust
    condition = statement["Condition"]

    # then only GitHub's OIDC tokens for STS, from this repository and this environment, are accepted - exactly
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert list(condition) == ["StringEquals"]
    assert condition["StringEquals"] == {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": f"repo:example-org/imagegen:environment:{bootstrap['environment']}",
    }


def test_the_oidc_provider_is_created_only_when_no_existing_one_is_given() -> None:
    # given the raw template (conditions unresolved)
    template, _ = decode_str(BOOTSTRAP.read_text())

    # when the provider and the role's trusted principal are read
    provider = template["Resources"]["GitHubOidcProvider"]
    principal = template["Resources"]["GitHubDeployRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]

    # then the provider is GitHub's, for STS, and conditional; the role trusts it or the existing one
    assert provider["Condition"] == "CreateOidcProvider"
    assert provider["Properties"]["Url"] == "https://token.actions.githubusercontent.com"
    assert provider["Properties"]["ClientIdList"] == ["sts.amazonaws.com"]
    assert principal["Principal"]["Federated"] == {
        "Fn::If": ["CreateOidcProvider", {"Ref": "GitHubOidcProvider"}, {"Ref": "ExistingOidcProviderArn"}]
    }


def test_the_deploy_role_can_only_drive_cloudformation_upload_artifacts_and_pass_the_execution_role(
    bootstrap: dict[str, Any],
) -> None:
    # given the deploy role's permissions
    policy = deploy_role_statements(bootstrap)

    # when they are grouped by service
    services = {action.split(":")[0] for s in policy for action in s["Action"]}
    pass_role = [s for s in policy if "iam:PassRole" in s["Action"]]

    # then it cannot create a function, bucket or role itself, and passes only the execution role to CloudFormation
    assert services == {"cloudformation", "s3", "iam", "bedrock"}
    assert {a for s in policy for a in s["Action"] if a.startswith("s3:")} == {
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:PutObject",
    }
    assert len(pass_role) == 1
    assert pass_role[0]["Action"] == ["iam:PassRole"]
    assert pass_role[0]["Resource"] == ["<CfnExecutionRole.Arn>"]
    assert pass_role[0]["Condition"] == {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}}


def test_the_deploy_role_may_only_read_what_the_preflight_asks_bedrock(bootstrap: dict[str, Any]) -> None:
    # given the deploy role's Bedrock permissions (make preflight runs before every sam deploy)
    policy = deploy_role_statements(bootstrap)

    # when
    bedrock = [s for s in policy if any(action.startswith("bedrock:") for action in s["Action"])]

    # then they are the preflight's three read-only calls, and never an invocation
    assert [s["Action"] for s in bedrock] == [
        ["bedrock:GetFoundationModel", "bedrock:GetFoundationModelAvailability", "bedrock:GetInferenceProfile"]
    ]
    assert "Condition" not in bedrock[0]


def test_the_deploy_role_touches_only_its_own_stack_and_artifact_prefix(bootstrap: dict[str, Any]) -> None:
    # given the deploy role's permissions for one environment
    stack = f"imagegen-{bootstrap['environment']}"
    policy = deploy_role_statements(bootstrap)

    # when the CloudFormation stacks and S3 objects it may use are listed
    stacks = {r for s in policy for r in s["Resource"] if ":stack/" in r}
    objects = {r for s in policy for r in s["Resource"] if r.startswith("arn:aws:s3:::")}

    # then they are its own stack (plus reading SAM's bucket stack) and its own prefix in SAM's artifact bucket
    assert stacks == {
        f"arn:aws:cloudformation:eu-west-1:000000000000:stack/{stack}/*",
        "arn:aws:cloudformation:eu-west-1:000000000000:stack/aws-sam-cli-managed-default/*",
    }
    assert objects == {f"arn:aws:s3:::aws-sam-cli-managed-default-samclisourcebucket-*/{stack}/*"}
    sam_stack = next(s for s in policy if any("aws-sam-cli-managed-default/" in r for r in s["Resource"]))
    assert sam_stack["Action"] == ["cloudformation:DescribeStacks"]


def test_the_execution_role_can_be_assumed_by_cloudformation_only(bootstrap: dict[str, Any]) -> None:
    # given the execution role
    role = bootstrap["Resources"]["CfnExecutionRole"]["Properties"]

    # when its trust policy is read
    [statement] = role["AssumeRolePolicyDocument"]["Statement"]

    # then only the CloudFormation service may assume it
    assert statement["Principal"] == {"Service": "cloudformation.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"


def test_no_statement_grants_every_action_of_a_service(bootstrap: dict[str, Any]) -> None:
    # given every statement of both roles
    policy = deploy_role_statements(bootstrap) + exec_role_statements(bootstrap)

    # when the actions are listed
    actions = [a for s in policy for a in s["Action"]]

    # then none is "*" or "<service>:*"
    assert [a for a in actions if a == "*" or a.endswith(":*")] == []


def test_resource_star_is_kept_for_actions_that_accept_no_resource(bootstrap: dict[str, Any]) -> None:
    # given the execution role's statements on "*"
    star = [s for s in exec_role_statements(bootstrap) if s["Resource"] == ["*"]]

    # when their actions are collected
    unconditioned = {a for s in star if "Condition" not in s for a in s["Action"]}
    conditioned = [s for s in star if "Condition" in s]

    # then they are look-ups, key creation, and event source mappings limited to the stack's functions
    assert unconditioned == {
        "cloudwatch:DescribeAlarms",
        "kms:CreateKey",
        "kms:ListAliases",
        "logs:DescribeLogGroups",
        "logs:DescribeResourcePolicies",
    }
    assert [s["Action"] for s in conditioned] == [
        ["lambda:CreateEventSourceMapping", "lambda:UpdateEventSourceMapping"]
    ]
    stack = f"imagegen-{bootstrap['environment']}"
    assert conditioned[0]["Condition"] == {
        "ArnLike": {"lambda:FunctionArn": f"arn:aws:lambda:eu-west-1:000000000000:function:{stack}-*"}
    }


def test_named_resources_are_limited_to_the_environments_stack(bootstrap: dict[str, Any]) -> None:
    # given the execution role's resource ARNs for one environment
    stack = f"imagegen-{bootstrap['environment']}"
    resources = {r for s in exec_role_statements(bootstrap) for r in s["Resource"]}

    # when the ones whose names CloudFormation or the template chooses are picked out
    # (API Gateway ids, KMS key ids and event source mapping UUIDs are random: nothing to scope to)
    random_ids = re.compile(r"apigateway:|:key/\*$|:event-source-mapping:\*$|^\*$")
    named = {r for r in resources if not random_ids.search(r)}

    # then every one of them carries the stack's name
    assert named
    assert {r for r in named if f"{stack}-" not in r and f"/{stack}/" not in r and ":transform/" not in r} == set()


def test_the_environments_stack_and_artifact_prefix_match_samconfig() -> None:
    # given samconfig.toml, whose stack names and s3_prefix the roles are scoped to
    if not SAMCONFIG.exists():
        pytest.skip("samconfig.toml is not there yet")
    config = tomllib.loads(SAMCONFIG.read_text())

    # when each config env's stack name and artifact prefix are read
    for config_env, environment in (("default", "dev"), ("prod", "prod")):
        stack = config[config_env]["global"]["parameters"]["stack_name"]
        prefix = config[config_env]["deploy"]["parameters"]["s3_prefix"]

        # then they are <AppName>-<Environment>, the names the bootstrap roles allow
        assert stack == f"imagegen-{environment}"
        assert prefix == stack


def handler_permissions(resource_type: str) -> Iterator[str]:
    """The permissions CloudFormation's handlers for a type declare (create, read, update, delete)."""
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema
    for operation in ("create", "read", "update", "delete"):
        yield from schema.get("handlers", {}).get(operation, {}).get("permissions", [])


def deployed_resource_types() -> set[str]:
    """The resource types of template.yaml after the SAM transform, conditional ones included."""
    return {resource["Type"] for resource in translate()["Resources"].values()}


def test_the_execution_role_allows_what_the_stacks_resource_types_need(bootstrap: dict[str, Any]) -> None:
    # given the resource types template.yaml deploys and the execution role's permissions
    if not APP_TEMPLATE.exists():
        pytest.skip("template.yaml is not there yet")
    policy = exec_role_statements(bootstrap)
    types = deployed_resource_types()

    # when every permission their CloudFormation handlers declare is checked against the role
    missing = sorted(
        f"{resource_type}: {permission}"
        for resource_type in types
        for permission in handler_permissions(resource_type)
        if not allowed(permission, policy)
        and not any(fnmatch.fnmatchcase(permission, waived) for waived in NOT_GRANTED)
    )

    # then nothing is missing: a new resource type or feature fails here, not in the middle of a deployment
    assert "AWS::Lambda::Function" in types
    assert missing == []


def test_every_permission_left_out_is_one_the_stack_would_otherwise_be_granted(bootstrap: dict[str, Any]) -> None:
    # given the list of handler permissions the execution role leaves out on purpose
    if not APP_TEMPLATE.exists():
        pytest.skip("template.yaml is not there yet")
    policy = exec_role_statements(bootstrap)
    requested = {p for t in deployed_resource_types() for p in handler_permissions(t)}

    # when each entry is matched against what the handlers request and what the role grants
    stale = [waived for waived in NOT_GRANTED if not any(fnmatch.fnmatchcase(p, waived) for p in requested)]
    granted_anyway = [waived for waived in NOT_GRANTED if "*" not in waived and allowed(waived, policy)]

    # then every entry still matters: requested by a handler and really not granted
    assert stale == []
    assert granted_anyway == []
