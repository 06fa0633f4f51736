"""Who can read, write or erase each bucket and table: from synthesized templates or live IAM.

Template mode resolves the intrinsic functions CDK emits (Ref, Fn::GetAtt, Fn::Join, Fn::Sub,
Fn::ImportValue across the environment's stacks) and matches every statement of every role policy,
bucket policy and table resource policy against the bucket and table ARNs. `Audit.allows` evaluates
one request the way IAM does for these statements: an Allow of the principal whose conditions hold
and no Deny that applies to it, for the condition keys the request is given (`_conditions_hold`).
Live mode reads the same from IAM, S3 and DynamoDB with boto3 (roles under any path, their inline
and customer-managed policies). AWS-managed policies are listed by name
but not expanded; none of the app's grant data access.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqpipe_infra.permissions import Access, classify


@dataclass(frozen=True)
class DataResource:
    kind: str  # "bucket" or "table"
    name: str
    arn: str

    def reached_by(self, pattern: str) -> bool:
        """Whether a statement's Resource (possibly with wildcards) covers this resource or part of it
        (objects under any key prefix of a bucket, indexes of a table)."""
        children = f"{self.arn}/"
        return (
            fnmatch.fnmatchcase(self.arn, pattern)
            or pattern.startswith(children)
            or fnmatch.fnmatchcase(children + "x", pattern)
        )


@dataclass(frozen=True)
class Statement:
    principal: str
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    # its Condition block, resolved: {operator: {key: value or values}}
    conditions: dict[str, dict[str, str | tuple[str, ...]]] = field(default_factory=dict, compare=False)


@dataclass
class Audit:
    resources: list[DataResource]
    statements: list[Statement]
    unexpanded: dict[str, list[str]] = field(default_factory=dict)  # principal -> AWS-managed policies
    # principal -> its role ARN (template mode: with the role's path, and its name where it is fixed)
    arns: dict[str, str] = field(default_factory=dict)

    def access(self) -> dict[str, dict[str, dict[str, list[str]]]]:
        """{resource name: {principal: {"read"|"write"|"erase"|"denied": [actions]}}}."""
        report: dict[str, dict[str, dict[str, list[str]]]] = {r.name: {} for r in self.resources}
        for resource in self.resources:
            for statement in self.statements:
                if not any(resource.reached_by(pattern) for pattern in statement.resources):
                    continue
                entry = report[resource.name].setdefault(statement.principal, {})
                for action in statement.actions:
                    kinds = ["denied"] if statement.effect == "Deny" else sorted(classify(action))
                    for kind in kinds:
                        entry.setdefault(kind, [])
                        if action not in entry[kind]:
                            entry[kind].append(action)
            report[resource.name] = {p: e for p, e in sorted(report[resource.name].items()) if e}
        return report

    def allows(
        self,
        principal: str,
        action: str,
        resource_arn: str,
        context: Mapping[str, str | tuple[str, ...]] | None = None,
    ) -> bool:
        """Whether `principal` (a role, as the audit names it) may do `action` on the resource, in a
        request with the condition keys of `context` (aws:PrincipalArn is the principal's own)."""
        matching = [
            s
            for s in self.statements
            if any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in s.actions)
            and any(fnmatch.fnmatchcase(resource_arn, r) for r in s.resources)
        ]
        request = {**(context or {}), _PRINCIPAL_ARN: (principal, self.arns.get(principal, principal))}
        denied = any(s.effect == "Deny" and _applies(s, principal, request) for s in matching)
        allowed = any(
            s.effect == "Allow" and s.principal == principal and _conditions_hold(s, request)
            for s in matching
        )
        return allowed and not denied

    def to_text(self) -> str:
        lines = []
        for resource in self.resources:
            lines.append(f"{resource.kind} {resource.name}")
            principals = self.access()[resource.name]
            if not principals:
                lines.append("  (no principal in scope has access)")
            for principal, entry in principals.items():
                kinds = [k for k in (a.value for a in Access) if k in entry]
                if "denied" in entry:
                    kinds.append(f"denied {' '.join(entry['denied'])}")
                lines.append(f"  {principal}: {', '.join(kinds)}")
        for principal, policies in sorted(self.unexpanded.items()):
            lines.append(
                f"note: {principal} also has AWS-managed policies (not expanded): {', '.join(policies)}"
            )
        return "\n".join(lines)


_PRINCIPAL_ARN = "aws:PrincipalArn"


def _equals(value: str, pattern: str) -> bool:
    return value == pattern


def _bool(value: str, pattern: str) -> bool:
    return value.lower() == pattern.lower()


# Operator -> (test of one request value against one policy value, negated)
_OPERATORS = {
    "StringEquals": (_equals, False),
    "StringNotEquals": (_equals, True),
    "StringLike": (fnmatch.fnmatchcase, False),
    "StringNotLike": (fnmatch.fnmatchcase, True),
    "ArnEquals": (_equals, False),
    "ArnNotEquals": (_equals, True),
    "ArnLike": (fnmatch.fnmatchcase, False),
    "ArnNotLike": (fnmatch.fnmatchcase, True),
    "Bool": (_bool, False),
}


def _applies(statement: Statement, principal: str, request: Mapping[str, str | tuple[str, ...]]) -> bool:
    """Whether a Deny applies to a request of `principal`: its own statements, and a resource policy's
    statements for anyone, whose conditions hold."""
    if statement.principal != principal and not statement.principal.startswith(("anyone", "any principal")):
        return False
    return _conditions_hold(statement, request)


def _conditions_hold(statement: Statement, request: Mapping[str, str | tuple[str, ...]]) -> bool:
    """IAM's evaluation of a Condition block for the operators this app writes: every operator and key
    must hold; a key holds when any request value matches any policy value (for a negated operator:
    when none does); a key missing from the request holds only under a negated operator. An operator
    the audit does not know never holds, so an unknown condition neither grants nor denies here: the
    request is taken to be a well-formed one (over TLS, with MFA where a trust policy asks for it)."""
    for operator, tests in statement.conditions.items():
        name = operator.removeprefix("ForAnyValue:")
        if name not in _OPERATORS:
            return False
        test, negated = _OPERATORS[name]
        for key, policy_values in tests.items():
            values = request.get(key)
            if values is None:
                if not negated:
                    return False
                continue
            matched = any(
                test(value, pattern) for value in _as_list(values) for pattern in _as_list(policy_values)
            )
            if matched == negated:
                return False
    return True


def _as_list(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def bucket_resource(name: str) -> DataResource:
    return DataResource("bucket", name, f"arn:aws:s3:::{name}")


def table_resource(arn: str) -> DataResource:
    return DataResource("table", arn.rsplit("/", 1)[-1], arn)


# ---------------------------------------------------------------- template mode


class _Resolver:
    """Renders CloudFormation values to strings; unknown references become '*' (matches anything),
    so the audit over-reports rather than hides access."""

    def __init__(self, templates: dict[str, dict], account: str, region: str) -> None:
        self.templates = templates
        self.pseudo = {
            "AWS::Partition": "aws",
            "AWS::AccountId": account,
            "AWS::Region": region,
            "AWS::URLSuffix": "amazonaws.com",
        }
        self.exports = {
            output["Export"]["Name"]: (stack, output["Value"])
            for stack, template in templates.items()
            for output in template.get("Outputs", {}).values()
            if isinstance(output.get("Export", {}).get("Name"), str)
        }

    def render(self, value: Any, stack: str) -> str:
        if isinstance(value, str):
            return value
        if not isinstance(value, dict) or len(value) != 1:
            return "*"
        ((function, argument),) = value.items()
        if function == "Ref":
            return self.pseudo.get(argument) or self._attribute(stack, argument, "Ref")
        if function == "Fn::GetAtt":
            return self._attribute(stack, argument[0], argument[1])
        if function == "Fn::Join":
            separator, parts = argument
            return separator.join(self.render(part, stack) for part in parts)
        if function == "Fn::ImportValue":
            exported = self.exports.get(self.render(argument, stack))
            return self.render(exported[1], exported[0]) if exported else "*"
        if function == "Fn::Sub" and isinstance(argument, str):
            text = argument
            for name, pseudo in self.pseudo.items():
                text = text.replace("${" + name + "}", pseudo)
            return text
        return "*"

    def _attribute(self, stack: str, logical_id: str, attribute: str) -> str:
        resource = self.templates[stack]["Resources"].get(logical_id, {})
        props = resource.get("Properties", {})
        kind = resource.get("Type")
        if kind == "AWS::S3::Bucket" and "BucketName" in props:
            name = self.render(props["BucketName"], stack)
            return name if attribute in ("Ref", "BucketName") else f"arn:aws:s3:::{name}"
        if kind == "AWS::DynamoDB::Table" and "TableName" in props:
            name = self.render(props["TableName"], stack)
            if attribute in ("Ref",):
                return name
            return (
                f"arn:aws:dynamodb:{self.pseudo['AWS::Region']}:{self.pseudo['AWS::AccountId']}:table/{name}"
            )
        if kind == "AWS::IAM::Role":
            return f"{stack}/{logical_id}"
        return "*"


def audit_templates(outdir: Path, prefix: str, account: str, region: str) -> Audit:
    templates = {
        path.name.removesuffix(".template.json"): json.loads(path.read_text())
        for path in sorted(outdir.glob(f"{prefix}-*.template.json"))
    }
    if not templates:
        raise FileNotFoundError(
            f"no templates named {prefix}-*.template.json in {outdir} (run the synth first)"
        )
    resolver = _Resolver(templates, account, region)
    resources: list[DataResource] = []
    statements: list[Statement] = []
    unexpanded: dict[str, list[str]] = {}
    arns: dict[str, str] = {}
    for stack, template in templates.items():
        for logical_id, resource in template["Resources"].items():
            props = resource.get("Properties", {})
            if resource["Type"] == "AWS::S3::Bucket" and "BucketName" in props:
                resources.append(bucket_resource(resolver.render(props["BucketName"], stack)))
            elif resource["Type"] == "AWS::DynamoDB::Table" and "TableName" in props:
                resources.append(table_resource(resolver._attribute(stack, logical_id, "Arn")))
                policy = props.get("ResourcePolicy", {}).get("PolicyDocument", {})
                for statement in policy.get("Statement", []):
                    principal = _resource_policy_principal(statement)
                    statements += _statements([principal], {"Statement": [statement]}, resolver, stack)
            elif resource["Type"] == "AWS::IAM::Policy":
                principals = [resolver.render(role, stack) for role in props.get("Roles", [])]
                statements += _statements(principals, props["PolicyDocument"], resolver, stack)
            elif resource["Type"] == "AWS::IAM::Role":
                principal = f"{stack}/{logical_id}"
                name = resolver.render(props.get("RoleName", logical_id), stack)
                arns[principal] = f"arn:aws:iam::{account}:role{props.get('Path', '/')}{name}"
                for policy in props.get("Policies", []):
                    statements += _statements([principal], policy["PolicyDocument"], resolver, stack)
                managed = [
                    resolver.render(arn, stack).rsplit("/", 1)[-1]
                    for arn in props.get("ManagedPolicyArns", [])
                ]
                if managed:
                    unexpanded[principal] = managed
            elif resource["Type"] == "AWS::S3::BucketPolicy":
                for statement in props["PolicyDocument"]["Statement"]:
                    principal = _resource_policy_principal(statement)
                    statements += _statements([principal], {"Statement": [statement]}, resolver, stack)
    return Audit(resources, statements, unexpanded, arns)


def _resource_policy_principal(statement: dict) -> str:
    principal = statement.get("Principal", {})
    if principal in ("*", {"AWS": "*"}):
        condition = json.dumps(statement.get("Condition", {}), sort_keys=True)
        return f"any principal with {condition}" if statement.get("Condition") else "anyone"
    service = principal.get("Service") if isinstance(principal, dict) else None
    return f"service {service}" if service else json.dumps(principal, sort_keys=True)


def _statements(
    principals: Iterable[str], document: dict, resolver: _Resolver, stack: str
) -> Iterator[Statement]:
    for statement in _as_list(document["Statement"]):
        if "Action" not in statement:
            continue  # NotAction statements are not produced by this app
        actions = tuple(_as_list(statement["Action"]))
        resources = tuple(resolver.render(r, stack) for r in _as_list(statement.get("Resource", "*")))
        conditions = {
            operator: {key: _rendered(resolver, value, stack) for key, value in tests.items()}
            for operator, tests in statement.get("Condition", {}).items()
        }
        for principal in principals:
            yield Statement(principal, statement["Effect"], actions, resources, conditions)


def _rendered(resolver: _Resolver, value: Any, stack: str) -> str | tuple[str, ...]:
    if isinstance(value, list):
        return tuple(resolver.render(v, stack) for v in value)
    return resolver.render(value, stack)


# ---------------------------------------------------------------- live mode


def audit_live(prefix: str, session: Any = None) -> Audit:
    """Read roles and their policies from IAM, buckets from S3 and tables from DynamoDB."""
    import boto3

    session = session or boto3.session.Session()
    iam, s3, dynamodb = session.client("iam"), session.client("s3"), session.client("dynamodb")
    resources = [
        bucket_resource(b["Name"]) for b in s3.list_buckets()["Buckets"] if b["Name"].startswith(prefix)
    ]
    for name in _paginate(dynamodb, "list_tables", "TableNames"):
        if name.startswith(prefix):
            resources.append(table_resource(dynamodb.describe_table(TableName=name)["Table"]["TableArn"]))
    statements: list[Statement] = []
    unexpanded: dict[str, list[str]] = {}
    for role in _paginate(iam, "list_roles", "Roles"):
        name, arn = role["RoleName"], role["Arn"]
        for policy_name in _paginate(iam, "list_role_policies", "PolicyNames", RoleName=name):
            document = iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
            statements += _live_statements(arn, document)
        for attached in _paginate(iam, "list_attached_role_policies", "AttachedPolicies", RoleName=name):
            if attached["PolicyArn"].startswith("arn:aws:iam::aws:policy/"):
                unexpanded.setdefault(arn, []).append(attached["PolicyName"])
                continue
            policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
            version = iam.get_policy_version(
                PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"]
            )
            statements += _live_statements(arn, version["PolicyVersion"]["Document"])
    return Audit(resources, statements, unexpanded)


def _live_statements(principal: str, document: Any) -> list[Statement]:
    if isinstance(document, str):
        from urllib.parse import unquote

        document = json.loads(unquote(document))
    return [
        Statement(
            principal,
            s["Effect"],
            tuple(_as_list(s["Action"])),
            tuple(_as_list(s.get("Resource", "*"))),
            {
                operator: {key: tuple(v) if isinstance(v, list) else v for key, v in tests.items()}
                for operator, tests in s.get("Condition", {}).items()
            },
        )
        for s in _as_list(document["Statement"])
        if "Action" in s
    ]


def _paginate(client: Any, operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
    if client.can_paginate(operation):
        for page in client.get_paginator(operation).paginate(**kwargs):
            yield from page.get(key, [])
    else:
        yield from client.__getattribute__(operation)(**kwargs).get(key, [])
