"""The Batch hosts' reference cache (seqpipe_infra.host_cache): every environment's launch template gives
its hosts an encrypted cache volume, mounts it at boot and starts containers through the runtime
wrapper, and the wrapper adds the cache to a container's spec, then hands every command to runc."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from seqpipe_infra.config import ENVIRONMENTS
from seqpipe_infra.host_cache import DEVICE, RUNTIME_WRAPPER, SIZE_GIB

from seqpipe.storage.reference_cache import CACHE_VARIABLE, HOST_CACHE


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_hosts_get_an_encrypted_cache_volume_mounted_for_every_container(synthesis, environment) -> None:
    (data,) = [
        resource["Properties"]["LaunchTemplateData"]
        for template in synthesis.templates(environment).values()
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::EC2::LaunchTemplate"
    ]
    (cache,) = [b for b in data["BlockDeviceMappings"] if b["DeviceName"] == DEVICE]
    assert cache["Ebs"] == {
        "DeleteOnTermination": True,
        "Encrypted": True,
        "VolumeSize": SIZE_GIB,
        "VolumeType": "gp3",
    }
    user_data = json.dumps(data["UserData"])
    assert "multipart/mixed" in user_data, "AWS Batch takes only MIME multi-part user data"
    assert f"mount {DEVICE} {HOST_CACHE}" in user_data
    assert "/usr/local/bin/seqpipe-runc" in user_data and "systemctl restart docker" in user_data


def _wrapper(tmp_path: Path) -> tuple[Path, Path]:
    """The wrapper with a stand-in runc that records how it was called."""
    calls = tmp_path / "runc-calls.json"
    runc = tmp_path / "runc"
    runc.write_text(f"#!{sys.executable}\nimport json, sys\njson.dump(sys.argv, open({str(calls)!r}, 'w'))\n")
    runc.chmod(0o755)
    wrapper = tmp_path / "seqpipe-runc"
    source = RUNTIME_WRAPPER.replace("@RUNC@", str(runc)).replace("/usr/bin/env python3", sys.executable)
    wrapper.write_text(source)
    wrapper.chmod(0o755)
    return wrapper, calls


def test_the_runtime_wrapper_adds_the_cache_to_each_container_it_creates(tmp_path: Path) -> None:
    wrapper, calls = _wrapper(tmp_path)
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    spec = {"process": {"env": ["PATH=/usr/bin"], "args": ["bash"]}, "mounts": [{"destination": "/proc"}]}
    (bundle / "config.json").write_text(json.dumps(spec))
    argv = ["--root", "/run/runc", "create", "--bundle", str(bundle), "--pid-file", "p", "task-1"]

    subprocess.run([str(wrapper), *argv], check=True)

    created = json.loads((bundle / "config.json").read_text())
    assert created["mounts"][-1] == {
        "destination": HOST_CACHE,
        "source": HOST_CACHE,
        "type": "bind",
        "options": ["rbind", "rw"],
    }
    assert created["process"]["env"] == ["PATH=/usr/bin", f"{CACHE_VARIABLE}={HOST_CACHE}"]
    assert json.loads(calls.read_text())[1:] == argv


def test_other_runtime_commands_pass_through_unchanged(tmp_path: Path) -> None:
    wrapper, calls = _wrapper(tmp_path)

    subprocess.run([str(wrapper), "--root", "/run/runc", "state", "task-1"], check=True)

    assert json.loads(calls.read_text())[1:] == ["--root", "/run/runc", "state", "task-1"]
