"""The Batch hosts' reference cache: a volume of every compute host that all its task containers share.

seqpipe.storage.reference_cache fetches the reference bundle into ``$SEQPIPE_REFERENCE_CACHE`` once per
host. On the host that is a dedicated encrypted volume, formatted and mounted at boot by the launch
template's user data. The aws-batch executor registers its job definitions itself, without volumes or
mount points, so the volume reaches the containers another way: the user data makes Docker start every
container through a small OCI runtime wrapper (RUNTIME_WRAPPER) that adds the cache as a bind mount,
and its path as SEQPIPE_REFERENCE_CACHE, to the container's spec before handing it to runc.
"""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2

from seqpipe.storage.reference_cache import CACHE_VARIABLE, HOST_CACHE

DEVICE = "/dev/xvdb"
# GRCh38 with a bwa index is about 9 GB, with bwa-mem2's about 20 GB: room for several references.
SIZE_GIB = 100
LABEL = "seqpipe-cache"

# Runs as Docker's default runtime: `runc [global options] create --bundle DIR ... ID`; every other
# command goes to runc unchanged. @RUNC@ is runc's path on the host, filled in by the user data.
RUNTIME_WRAPPER = f'''#!/usr/bin/env python3
import json, os, sys
args = sys.argv[1:]
flag = next((f for f in ("--bundle", "-b") if f in args), None)
if "create" in args and flag:
    spec_path = os.path.join(args[args.index(flag) + 1], "config.json")
    with open(spec_path) as fh:
        spec = json.load(fh)
    mount = {{"destination": "{HOST_CACHE}", "source": "{HOST_CACHE}", "type": "bind"}}
    spec.setdefault("mounts", []).append({{**mount, "options": ["rbind", "rw"]}})
    spec["process"].setdefault("env", []).append("{CACHE_VARIABLE}={HOST_CACHE}")
    with open(spec_path, "w") as fh:
        json.dump(spec, fh)
os.execv("@RUNC@", ["runc", *args])
'''

SCRIPT = f"""set -euo pipefail
# the reference cache volume, formatted on first boot and mounted for every container
blkid {DEVICE} || mkfs.xfs -L {LABEL} {DEVICE}
mkdir -p {HOST_CACHE}
mount {DEVICE} {HOST_CACHE}
chmod 1777 {HOST_CACHE}
cat > /usr/local/bin/seqpipe-runc <<'WRAPPER'
{RUNTIME_WRAPPER}WRAPPER
sed -i "s#@RUNC@#$(command -v runc)#" /usr/local/bin/seqpipe-runc
chmod 755 /usr/local/bin/seqpipe-runc
python3 - <<'DOCKER'
import json, os
path = "/etc/docker/daemon.json"
config = json.load(open(path)) if os.path.exists(path) else {{}}
config.setdefault("runtimes", {{}})["seqpipe"] = {{"path": "/usr/local/bin/seqpipe-runc"}}
config["default-runtime"] = "seqpipe"
json.dump(config, open(path, "w"), indent=2)
DOCKER
systemctl restart docker
"""


def cache_volume() -> ec2.BlockDevice:
    return ec2.BlockDevice(
        device_name=DEVICE,
        volume=ec2.BlockDeviceVolume.ebs(
            SIZE_GIB, encrypted=True, volume_type=ec2.EbsDeviceVolumeType.GP3, delete_on_termination=True
        ),
    )


def cache_user_data() -> ec2.MultipartUserData:
    """AWS Batch takes a launch template's user data only in MIME multi-part form."""
    script = ec2.UserData.for_linux()
    script.add_commands(SCRIPT)
    user_data = ec2.MultipartUserData()
    user_data.add_user_data_part(script, ec2.MultipartBody.SHELL_SCRIPT, True)
    return user_data
