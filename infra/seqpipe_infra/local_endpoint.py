"""Deploy a synthesized environment into a CloudFormation endpoint without the CDK CLI.

What `cdk deploy` does for file assets, done with boto3: upload each asset (folders zipped) to the
bootstrap bucket under its object key, then create the stacks in dependency order. Used by the tests
against the local endpoint (moto); boto3 finds the endpoint through AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

ASSET_BUCKET = "cdk-hnb659fds-assets-{account}-{region}"
# moto's default account and region
LOCAL_ACCOUNT, LOCAL_REGION = "123456789012", "us-east-1"


@dataclass(frozen=True)
class StackArtifact:
    name: str
    template: Path
    assets_manifest: Path | None
    dependencies: tuple[str, ...]


class DeployError(RuntimeError):
    """A stack that did not reach CREATE_COMPLETE; the message carries the failed resources' reasons."""


def read_assembly(outdir: Path, stack_prefix: str) -> list[StackArtifact]:
    """The stacks of one environment from a cloud assembly, dependencies first."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    artifacts = manifest["artifacts"]
    stacks: dict[str, StackArtifact] = {}
    for artifact_id, artifact in artifacts.items():
        if artifact["type"] != "aws:cloudformation:stack" or not artifact_id.startswith(stack_prefix):
            continue
        assets = next(
            (
                outdir / artifacts[dep]["properties"]["file"]
                for dep in artifact.get("dependencies", [])
                if artifacts[dep]["type"] == "cdk:asset-manifest"
            ),
            None,
        )
        stacks[artifact_id] = StackArtifact(
            name=artifact["properties"].get("stackName", artifact_id),
            template=outdir / artifact["properties"]["templateFile"],
            assets_manifest=assets,
            dependencies=tuple(
                dep
                for dep in artifact.get("dependencies", [])
                if artifacts[dep]["type"] == "aws:cloudformation:stack"
            ),
        )
    ordered: list[StackArtifact] = []
    done: set[str] = set()

    def visit(artifact_id: str) -> None:
        if artifact_id in done or artifact_id not in stacks:
            return
        for dep in stacks[artifact_id].dependencies:
            visit(dep)
        done.add(artifact_id)
        ordered.append(stacks[artifact_id])

    for artifact_id in sorted(stacks):
        visit(artifact_id)
    return ordered


def publish_assets(stack: StackArtifact, account: str, region: str) -> int:
    """Upload the stack's file assets; returns how many were uploaded."""
    if stack.assets_manifest is None:
        return 0
    s3 = boto3.client("s3", region_name=region)
    bucket = ASSET_BUCKET.format(account=account, region=region)
    _ensure_bucket(s3, bucket, region)
    manifest = json.loads(stack.assets_manifest.read_text())
    uploaded = 0
    for asset in manifest.get("files", {}).values():
        source = stack.assets_manifest.parent / asset["source"]["path"]
        body = _zip_dir(source) if asset["source"].get("packaging") == "zip" else source.read_bytes()
        for destination in asset["destinations"].values():
            s3.put_object(Bucket=bucket, Key=destination["objectKey"], Body=body)
            uploaded += 1
    return uploaded


def deploy(stacks: list[StackArtifact], account: str, region: str) -> dict[str, dict[str, str]]:
    """Create every stack (assets first); returns each stack's outputs."""
    cfn = boto3.client("cloudformation", region_name=region)
    outputs: dict[str, dict[str, str]] = {}
    for stack in stacks:
        publish_assets(stack, account, region)
        cfn.create_stack(
            StackName=stack.name,
            TemplateBody=stack.template.read_text(),
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
        )
        described = _wait(cfn, stack.name)
        outputs[stack.name] = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    return outputs


def _wait(cfn: Any, name: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        described = cfn.describe_stacks(StackName=name)["Stacks"][0]
        status = described["StackStatus"]
        if status == "CREATE_COMPLETE":
            return described
        if not status.endswith("IN_PROGRESS"):
            events = cfn.describe_stack_events(StackName=name)["StackEvents"]
            reasons = [
                f"{e.get('LogicalResourceId')} ({e.get('ResourceType')}): {e.get('ResourceStatusReason')}"
                for e in events
                if e.get("ResourceStatus", "").endswith("FAILED")
            ]
            raise DeployError(f"stack {name} ended in {status}: {'; '.join(reasons) or 'no reason given'}")
        time.sleep(0.5)
    raise DeployError(f"stack {name} did not finish within 120 s")


def _ensure_bucket(s3: Any, bucket: str, region: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
    except s3.exceptions.ClientError:
        kwargs = (
            {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        )
        s3.create_bucket(Bucket=bucket, **kwargs)


def _zip_dir(path: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(path.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(path).as_posix())
    return buffer.getvalue()
