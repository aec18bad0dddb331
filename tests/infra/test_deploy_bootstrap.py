"""deploy/github-oidc-bootstrap.yaml: the OIDC trust and the two deployment roles' least privilege."""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from collections.abc import Iterator
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint_file
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from local.intrinsics import Resolver
from local.template import load_template
from tests.helpers import ROOT
from tests.infra.cfn import render, translate

BOOTSTRAP = ROOT / "deploy" / "github-oidc-bootstrap.yaml"
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
    "iam:DeleteRolePermissionsBoundary": "denied: the functions' roles keep the permissions boundary",
    "dynamodb:*TableReplica": "the jobs table is not a global table",
    "dynamodb:*KinesisStreamingDestination": "the jobs table streams nowhere",
    "kinesis:*": "the jobs table streams nowhere",
    "dynamodb:ImportTable": "the jobs table is created empty, not imported from S3",
    "dynamodb:DescribeImport": "the jobs table is created empty, not imported from S3",
    "dynamodb:BatchWriteItem": "CloudFormation writes no items (an import would)",
    "dynamodb:PutItem": "CloudFormation writes no items (an import would)",
    "dynamodb:UpdateItem": "CloudFormation writes no items (an import would)",
    "dynamodb:DeleteItem": "CloudFormation writes no items (an import would)",
    "dynamodb:GetItem": "CloudFormation reads no items",
    "dynamodb:Query": "CloudFormation reads no items",
    "dynamodb:Scan": "CloudFormation reads no items",
    "dynamodb:PutResourcePolicy": "the jobs table has no resource policy",
    "dynamodb:DeleteResourcePolicy": "the jobs table has no resource policy",
    "iam:CreateServiceLinkedRole": "no replicas or auto scaling on the jobs table (on-demand)",
    "kms:RevokeGrant": "the jobs table is encrypted with an AWS owned key",
    "s3:GetObjectMetadata": "no import from S3",
    "logs:CreateLogStream": "no import from S3 (an import writes its own log)",
    "logs:DescribeLogStreams": "no import from S3 (an import writes its own log)",
    "logs:PutLogEvents": "no import from S3 (an import writes its own log)",
}
# What can widen a role's permissions: allowed to the execution role only with the boundary on the role.
ROLE_ESCALATION = (
    "iam:AttachRolePolicy",
    "iam:CreateRole",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
)


def boundary_arn(environment: str) -> str:
    return f"arn:aws:iam::000000000000:policy/imagegen-{environment}-functions-boundary"


class Placeholders(Resolver):
    """local.intrinsics' resolver with placeholders for what CloudFormation names: ``<Logical>`` for a Ref to a
    resource, ``<Logical.Attribute>`` for a GetAtt."""

    def physical_name(self, logical_id: str) -> str:
        return f"<{logical_id}>"

    def get_att(self, logical_id: str, attribute: str) -> str:
        return f"<{logical_id}.{attribute}>"


def resolve(template: dict[str, Any], environment: str, existing_bucket: str = "") -> Any:
    """The template with its intrinsics replaced by concrete values for one environment (no existing OIDC
    provider; ``existing_bucket`` as the ExistingBucketName parameter); conditions come from the template."""
    refs = {
        "Environment": environment,
        "GitHubOwner": "example-org",
        "GitHubRepository": "imagegen",
        "ExistingBucketName": existing_bucket,
        "FunctionsPermissionsBoundary": boundary_arn(environment),  # a Ref to a managed policy is its ARN
    }
    return Placeholders(template, "eu-west-1", "000000000000", f"imagegen-{environment}", refs=refs).resolve(template)


@pytest.fixture(scope="module", params=["dev", "prod"])
def bootstrap(request: pytest.FixtureRequest) -> dict[str, Any]:
    template = load_template(BOOTSTRAP)  # cfn-lint's own reading of it is checked below
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


def allow_statements(policy: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in policy if s["Effect"] == "Allow"]


def allowed(action: str, policy: list[dict[str, Any]]) -> bool:
    """Some Allow statement names ``action`` (whatever its resources and conditions)."""
    return any(
        fnmatch.fnmatchcase(action.lower(), granted.lower())
        for s in allow_statements(policy)
        for granted in s["Action"]
    )


def evaluate(policy: list[dict[str, Any]], action: str, resource: str, context: dict[str, str]) -> bool:
    """IAM's verdict for one request under these statements alone: an explicit Deny wins, else some Allow must
    match. Enough of the condition operators for these templates (StringEquals, StringNotEquals, ArnLike)."""

    def matches(statement: dict[str, Any]) -> bool:
        return (
            any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in statement["Action"])
            and any(fnmatch.fnmatchcase(resource, r) for r in statement["Resource"])
            and all(
                holds(op, key, value)
                for op, pairs in statement.get("Condition", {}).items()
                for key, value in pairs.items()
            )
        )

    def holds(operator: str, key: str, expected: str) -> bool:
        actual = context.get(key)
        if operator == "StringEquals":
            return actual == expected
        if operator == "StringNotEquals":
            return actual != expected  # IAM: true when the key is absent
        if operator == "ArnLike":
            return actual is not None and fnmatch.fnmatchcase(actual, expected)
        raise AssertionError(f"the test's evaluator does not know {operator}")

    if any(s["Effect"] == "Deny" and matches(s) for s in policy):
        return False
    return any(s["Effect"] == "Allow" and matches(s) for s in policy)


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
    template = load_template(BOOTSTRAP)

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
    # given the execution role's Allow statements on "*"
    star = [s for s in allow_statements(exec_role_statements(bootstrap)) if s["Resource"] == ["*"]]

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
    policy = exec_role_statements(bootstrap)
    requested = {p for t in deployed_resource_types() for p in handler_permissions(t)}

    # when each entry is matched against what the handlers request and what the role grants
    stale = [waived for waived in NOT_GRANTED if not any(fnmatch.fnmatchcase(p, waived) for p in requested)]
    granted_anyway = [waived for waived in NOT_GRANTED if "*" not in waived and allowed(waived, policy)]

    # then every entry still matters: requested by a handler and really not granted
    assert stale == []
    assert granted_anyway == []


# --- the permissions boundary: no deploy can mint a role that does more than the functions need ------------


def boundary_statements(bootstrap: dict[str, Any]) -> list[dict[str, Any]]:
    return statements(bootstrap["Resources"]["FunctionsPermissionsBoundary"]["Properties"]["PolicyDocument"])


class DeployedNames(Resolver):
    """local.intrinsics' resolver with the ARNs CloudFormation gives the log groups (from their names)."""

    def get_att(self, logical_id: str, attribute: str) -> str:
        resource = self.template["Resources"][logical_id]
        if resource["Type"] == "AWS::Logs::LogGroup" and attribute == "Arn":
            name = self.resolve(resource["Properties"]["LogGroupName"])
            return f"arn:aws:logs:{self.region}:{self.account_id}:log-group:{name}:*"
        return super().get_att(logical_id, attribute)


def function_role_grants(environment: str, **parameters: str) -> list[tuple[str, str, str]]:
    """(role, action, resource) for every grant of template.yaml's IAM roles, deployed as imagegen-<environment>."""
    template = translate(**parameters)
    resolver = DeployedNames(template, "eu-west-1", "000000000000", f"imagegen-{environment}", refs=dict(parameters))
    grants = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role" or (
            "Condition" in resource and not resolver.condition(resource["Condition"])
        ):
            continue
        for policy in resolver.resolve(resource["Properties"].get("Policies", [])):
            for statement in statements(policy["PolicyDocument"]):
                grants += [(logical_id, a, r) for a in statement["Action"] for r in statement["Resource"]]
    return grants


def test_the_boundary_is_a_policy_of_this_stack_named_after_the_environment(bootstrap: dict[str, Any]) -> None:
    # given the bootstrap stack's resources and outputs
    environment = bootstrap["environment"]
    boundary = bootstrap["Resources"]["FunctionsPermissionsBoundary"]

    # when the boundary and the outputs that name it are read
    outputs = bootstrap["Outputs"]

    # then it is a managed policy of this stack, with the name template.yaml is given and its ARN as an output
    assert boundary["Type"] == "AWS::IAM::ManagedPolicy"
    assert boundary["Properties"]["ManagedPolicyName"] == f"imagegen-{environment}-functions-boundary"
    assert outputs["FunctionsPermissionsBoundaryName"]["Value"] == f"imagegen-{environment}-functions-boundary"
    assert outputs["FunctionsPermissionsBoundaryArn"]["Value"] == boundary_arn(environment)


@pytest.mark.parametrize("action", ROLE_ESCALATION)
def test_the_execution_role_widens_a_role_only_under_the_boundary(bootstrap: dict[str, Any], action: str) -> None:
    # given the execution role's permissions and one of the stack's roles
    environment = bootstrap["environment"]
    policy = exec_role_statements(bootstrap)
    role = f"arn:aws:iam::000000000000:role/imagegen-{environment}-GenerateImageFunctionRole-ABC123"
    other_role = "arn:aws:iam::000000000000:role/some-admin-role"
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"

    # when the request carries our boundary, another policy as boundary, or none
    with_boundary = {"iam:PermissionsBoundary": boundary_arn(environment)}

    # then only our boundary, on a role of the stack, lets it through
    assert evaluate(policy, action, role, with_boundary)
    assert not evaluate(policy, action, role, {})
    assert not evaluate(policy, action, role, {"iam:PermissionsBoundary": admin})
    assert not evaluate(policy, action, role, {"iam:PermissionsBoundary": boundary_arn("other")})
    assert not evaluate(policy, action, other_role, with_boundary)


def test_every_allow_that_can_widen_a_role_carries_the_boundary_condition(bootstrap: dict[str, Any]) -> None:
    # given the execution role's Allow statements
    policy = allow_statements(exec_role_statements(bootstrap))

    # when those naming a role-widening action (directly or through a wildcard) are picked out
    widening = [
        s
        for s in policy
        if any(fnmatch.fnmatchcase(a.lower(), g.lower()) for a in ROLE_ESCALATION for g in s["Action"])
    ]

    # then each demands exactly this environment's boundary on the role
    assert widening
    for statement in widening:
        assert statement["Condition"] == {
            "StringEquals": {"iam:PermissionsBoundary": boundary_arn(bootstrap["environment"])}
        }


@pytest.mark.parametrize(
    "action",
    [
        "iam:DeleteRolePermissionsBoundary",
        "iam:CreatePolicyVersion",
        "iam:SetDefaultPolicyVersion",
        "iam:DeletePolicyVersion",
        "iam:DeletePolicy",
    ],
)
def test_the_boundary_can_be_neither_lifted_nor_edited(bootstrap: dict[str, Any], action: str) -> None:
    # given the execution role's permissions
    environment = bootstrap["environment"]
    policy = exec_role_statements(bootstrap)
    role = f"arn:aws:iam::000000000000:role/imagegen-{environment}-SqsWorkerFunctionRole-XYZ"

    # when it tries to lift the boundary off a role, or to change the boundary policy
    resource = role if "Role" in action else boundary_arn(environment)
    verdict = evaluate(policy, action, resource, {"iam:PermissionsBoundary": boundary_arn(environment)})

    # then it is denied, explicitly
    assert not verdict
    assert any(s["Effect"] == "Deny" and action in s["Action"] for s in policy)
    assert not allowed("iam:CreatePolicy", policy)


def test_the_boundary_grants_no_iam_and_only_the_stacks_resources(bootstrap: dict[str, Any]) -> None:
    # given the boundary's statements for one environment
    stack = f"imagegen-{bootstrap['environment']}"
    boundary = boundary_statements(bootstrap)

    # when their services and resources are listed
    services = {a.split(":")[0] for s in boundary for a in s["Action"]}
    resources = {r for s in boundary for r in s["Resource"]}

    # then no IAM or STS, and every resource is the stack's, a foundation model or the account's inference
    # profiles (ModelId is a deploy parameter), or X-Ray's "*"
    assert all(s["Effect"] == "Allow" for s in boundary)
    assert services.isdisjoint({"iam", "sts", "organizations"})
    assert [a for s in boundary for a in s["Action"] if a == "*" or a.endswith(":*")] == []
    star = {a for s in boundary if s["Resource"] == ["*"] for a in s["Action"]}
    assert star == {"xray:PutTelemetryRecords", "xray:PutTraceSegments"}
    foreign = {r for r in resources if r != "*" and f"{stack}-" not in r and f"/{stack}/" not in r}
    assert foreign == {
        "arn:aws:events:eu-west-1:000000000000:event-bus/default",  # only with events:source imagegen (the roles)
        "arn:aws:bedrock:*::foundation-model/*",
        "arn:aws:bedrock:*:000000000000:inference-profile/*",
    }


@pytest.mark.parametrize("existing_bucket", ["", "team-images"])
@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_the_boundary_allows_everything_template_yamls_roles_grant(environment: str, existing_bucket: str) -> None:
    # given the boundary, and the roles of template.yaml deployed as that environment's stack
    template = load_template(BOOTSTRAP)
    boundary = statements(
        resolve(template, environment, existing_bucket)["Resources"]["FunctionsPermissionsBoundary"]["Properties"][
            "PolicyDocument"
        ]
    )
    parameters = {"ExistingBucketName": existing_bucket} if existing_bucket else {}
    grants = function_role_grants(environment, **parameters)

    # when each grant is checked against the boundary
    beyond = [
        f"{role}: {action} on {resource}"
        for role, action, resource in grants
        if not evaluate(boundary, action, resource, {})
    ]

    # then none goes beyond it: a role that needs more fails here, not with AccessDenied in production
    assert {role for role, _, _ in grants} >= {"GenerateImageFunctionRole", "SqsWorkerFunctionRole"}
    assert beyond == []


def test_template_yamls_roles_carry_the_boundary_when_it_is_named() -> None:
    # given template.yaml with and without the boundary's name
    named = render(FunctionsPermissionsBoundaryName="imagegen-dev-functions-boundary")
    unnamed = render()

    # when the roles of each are read
    with_boundary = {
        lid: r["Properties"].get("PermissionsBoundary") for lid, r in named.of_type("AWS::IAM::Role").items()
    }
    without = {lid: r["Properties"].get("PermissionsBoundary") for lid, r in unnamed.of_type("AWS::IAM::Role").items()}

    # then every role carries exactly that policy when it is named, and none when it is not (local, workstation)
    assert set(with_boundary) >= {"GenerateImageFunctionRole", "SqsWorkerFunctionRole"}
    assert set(with_boundary.values()) == {"arn:aws:iam::000000000000:policy/imagegen-dev-functions-boundary"}
    assert set(without.values()) == {None}


@pytest.mark.parametrize("name", [*EXEC_POLICIES, "FunctionsPermissionsBoundary"])
def test_each_managed_policy_stays_under_iams_size_limit(name: str) -> None:
    # given the managed policy rendered for the longer environment name and an existing bucket
    template = load_template(BOOTSTRAP)
    document = resolve(template, "prod", "a" * 63)["Resources"][name]["Properties"]["PolicyDocument"]

    # when it is measured as IAM does (without whitespace)
    size = len(json.dumps(document, separators=(",", ":")))

    # then it is under 6,144 characters, with room for the next resource type
    assert size < 6_144 - 500, size
