"""SPF on a real BIND through the sandbox: after `apply`, a burst (launched, on mx3,
retired), a drain, a replace, a pool that grows and one that shrinks, the policy `dig` reads
holds one ip4: per pool address and a mechanism written by hand (with nsupdate) stays. Each
policy is judged by pyspf, not parsed here."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import spf as pyspf

from eipkeeper.sandbox.bind import LocalBind
from tests.conftest import Cloud
from tests.controller.test_burst import put_load
from tests.support.cli import eipkeeper

ZONE = "example.test"
HAND = "ip4:192.0.2.10"


def dig_policy(bind: LocalBind) -> str:
    out = subprocess.run(
        ["dig", f"@{bind.host}", "-p", str(bind.port), "+short", "TXT", ZONE],
        capture_output=True, text=True, check=True, timeout=10,
    ).stdout  # fmt: skip
    policies = [
        "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', line))
        for line in out.splitlines()
        if "v=spf1" in line
    ]
    assert len(policies) == 1, out
    return policies[0]


def passes(bind: LocalBind, ip: str) -> bool:
    query = pyspf.query(i=ip, s=f"postmaster@{ZONE}", h=f"mx1.{ZONE}")
    return str(query.check(spf=dig_policy(bind))[0]) == "pass"


def hand_write(bind: LocalBind, policy: str) -> None:
    """What an operator does with nsupdate: the policy's TXT replaced, the marker untouched."""
    script = (
        f"server {bind.host} {bind.port}\nzone {ZONE}\nupdate delete {ZONE} TXT\n"
        f'update add {ZONE} 2 TXT "{policy}"\nsend\n'
    )
    subprocess.run(
        ["nsupdate", "-k", str(bind.key_file)], input=script, text=True, check=True, timeout=20
    )


def pool(cloud: Cloud) -> dict[str, str]:
    found = {}
    for item in cloud.client("ec2").describe_addresses()["Addresses"]:
        tags = {t["Key"]: t["Value"] for t in item.get("Tags", [])}
        if tags.get("eipkeeper:service") == "mx":
            found[tags.get("eipkeeper:hostname", "")] = item["PublicIp"]
    return found


def write_config(cloud: Cloud, bind: LocalBind, path: Path, *, mx4: bool) -> None:
    text = re.sub(r"\[dns\]\n(?:[^\[\n].*\n)*", bind.config_toml() + "\n", cloud.config.read_text())
    text = re.sub(r"^ttl = \d+$", "ttl = 2", text, flags=re.MULTILINE)
    text = text.replace("failover = true\n", f'failover = true\nspf = "{ZONE}"\n', 1)
    # A burst at once: no cooldown, and the load averaged over 10 s (see test_burst).
    text = text.replace('cooldown = "1m"', 'cooldown = "0s"')
    text = text.replace('{ Service = "mx" } }', '{ Service = "mx" }, period = "10s" }')
    if mx4:
        text = text.replace(
            '"mx3.example.test"]\nttl', '"mx3.example.test", "mx4.example.test"]\nttl', 1
        )
    path.write_text(text + '\n[safety]\ndrain_margin = "1s"\nrelease_quarantine = "1s"\n')


def test_spf_follows_the_pool_and_keeps_a_hand_written_mechanism(
    cloud: Cloud, tmp_path: Path
) -> None:
    path = tmp_path / "bind.toml"
    env = {**cloud.env, "EIPKEEPER_CONFIG": str(path)}
    with LocalBind(ZONE) as bind:
        write_config(cloud, bind, path, mx4=False)
        first = eipkeeper("apply", "--yes", env=env)
        assert first.code == 0, first.stderr
        assert eipkeeper("apply", "--yes", env=env).code == 0
        addresses = pool(cloud)
        assert all(passes(bind, ip) for ip in addresses.values()), dig_policy(bind)
        assert not passes(bind, "127.9.9.9")

        hand_write(bind, dig_policy(bind).replace(" ~all", f" {HAND} ~all"))
        put_load(cloud, 2000)
        kinds = []
        for _ in range(2):  # the launch, then the claim of mx3 once the burst answers
            burst = eipkeeper("-o", "json", "apply", "--yes", env=env)
            assert burst.code == 0, burst.stderr
            kinds += [a["kind"] for a in burst.json()["actions"]]
        assert kinds == ["launch", "claim"], kinds
        assert passes(bind, addresses["mx3.example.test"]), "the burst sends from a policy address"
        assert passes(bind, "192.0.2.10"), "kept through a burst"
        put_load(cloud, 10, ahead=25)
        retired = eipkeeper("-o", "json", "apply", "--yes", env=env)
        assert [a["kind"] for a in retired.json()["actions"]] == ["retire"], retired.stdout
        assert all(passes(bind, ip) for ip in addresses.values()), "the pool, after a burst"
        assert passes(bind, "192.0.2.10")
        drained = eipkeeper("drain", "mx-a", "--then", "nothing", "--yes", env=env)
        assert drained.code == 0, drained.stderr
        assert passes(bind, "192.0.2.10"), "kept through a drain"
        replaced = eipkeeper("replace", "mx-b", "--yes", env=env)
        assert replaced.code == 0, replaced.stderr
        assert all(passes(bind, ip) for ip in addresses.values()), "the pool, after replace"
        assert passes(bind, "192.0.2.10"), "kept through a replace"

        write_config(cloud, bind, path, mx4=True)
        grown = eipkeeper("allocate", "--service", "mx", "--hostname", f"mx4.{ZONE}", env=env)
        assert grown.code == 0, grown.stderr
        assert eipkeeper("apply", "--yes", env=env).code == 0
        mx4 = pool(cloud)[f"mx4.{ZONE}"]
        assert passes(bind, mx4), "a new pool address enters SPF"
        assert passes(bind, "192.0.2.10")

        write_config(cloud, bind, path, mx4=False)
        shrunk = eipkeeper("apply", "--yes", env=env)
        assert shrunk.code == 0, shrunk.stderr
        assert not passes(bind, mx4), "a retired address leaves SPF"
        assert passes(bind, "192.0.2.10"), "the hand-written mechanism stays"
        assert all(passes(bind, ip) for h, ip in addresses.items() if h != f"mx4.{ZONE}")
