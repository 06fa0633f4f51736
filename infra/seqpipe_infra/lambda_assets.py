"""The Lambda code: the seqpipe package as the function asset, its dependencies as a layer.

The layer is bundled locally with pip (manylinux wheels for the runtime's Python), so synthesis
needs neither Docker nor the CDK CLI.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

REPO = Path(__file__).resolve().parents[2]
PACKAGE_SRC = REPO / "src"
LAYER_DIR = REPO / "infra" / "lambda-layer"
RUNTIME = lambda_.Runtime.PYTHON_3_14
RUNTIME_PYTHON_VERSION = "3.14"


def package_code() -> lambda_.Code:
    """src/ holds only the seqpipe package (plus build metadata, left out)."""
    return lambda_.Code.from_asset(
        str(PACKAGE_SRC), exclude=["*.egg-info", "**/__pycache__", "**/*.pyc", "**/.pytest_cache"]
    )


@jsii.implements(cdk.ILocalBundling)
class PipLayerBundling:
    def try_bundle(self, output_dir: str, *, image=None, **_: object) -> bool:
        target = Path(output_dir) / "python"
        command = [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--requirement", str(LAYER_DIR / "requirements.txt"),
            "--target", str(target),
            "--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_28_x86_64",
            "--implementation", "cp", "--python-version", RUNTIME_PYTHON_VERSION,
            "--only-binary=:all:", "--upgrade",
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"pip could not bundle the Lambda layer from {LAYER_DIR}:\n{result.stderr}")
        # boto3 is part of the runtime; a second copy would only grow the layer.
        for name in ("boto3", "botocore", "s3transfer"):
            shutil.rmtree(target / name, ignore_errors=True)
        return True


def dependency_layer(scope: Construct, id: str) -> lambda_.LayerVersion:
    return lambda_.LayerVersion(
        scope,
        id,
        code=lambda_.Code.from_asset(
            str(LAYER_DIR),
            bundling=cdk.BundlingOptions(
                image=RUNTIME.bundling_image, local=PipLayerBundling(), command=["false"]
            ),
        ),
        compatible_runtimes=[RUNTIME],
        description="seqpipe Lambda dependencies (lambda-layer/requirements.txt)",
    )
