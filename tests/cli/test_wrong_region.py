"""S10 through the CLI on the sandbox: a wrong `--region` never deletes the zone's records.

The issue's reproduction: `eipkeeper --region us-west-2 plan` (the config and the fleet are in
us-east-1) planned 5 deletes, the MX set among them, and `apply --yes` made them.
"""

from __future__ import annotations

from typing import Any

from tests.cli.test_engine_refusals import applied, records
from tests.conftest import Cloud
from tests.support.cli import eipkeeper


def _strip_places(cloud: Cloud) -> None:
    """Rewrite every ownership record as a version before S10 wrote it (no account, region)."""
    route53 = cloud.client("route53")
    zone_id = route53.list_hosted_zones()["HostedZones"][0]["Id"]
    changes: list[dict[str, Any]] = []
    for rrset in route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]:
        if not rrset["Name"].startswith("_eipkeeper."):
            continue
        values = [
            '" "'.join(
                s for s in r["Value"].split('" "') if not s.startswith(("account=", "region="))
            )
            for r in rrset["ResourceRecords"]
        ]
        bare = {**rrset, "ResourceRecords": [{"Value": v} for v in values]}
        changes.append({"Action": "UPSERT", "ResourceRecordSet": bare})
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})


def test_a_wrong_region_finds_the_records_foreign_and_deletes_nothing(cloud: Cloud) -> None:
    applied(cloud)
    zone = records(cloud)
    assert all(r == "sandbox" for r in _owners(cloud).values())
    ran = eipkeeper("--region", "us-west-2", "plan", env=cloud.env)
    assert ran.code == 0, ran.stderr
    assert "--region us-west-2 differs from the config's region us-east-1" in ran.stderr
    assert "delete" not in ran.stdout
    assert "foreign-place" in ran.stdout
    done = eipkeeper("--region", "us-west-2", "apply", "--yes", "--force", env=cloud.env)
    assert done.code == 0, done.stderr
    assert records(cloud) == zone


def test_old_markers_and_an_empty_cloud_are_refused_by_s10_even_forced(cloud: Cloud) -> None:
    applied(cloud)
    _strip_places(cloud)
    zone = records(cloud)
    ran = eipkeeper("--region", "us-west-2", "apply", "--yes", "--force", env=cloud.env)
    assert ran.code == 4, ran.stderr
    last = ran.stderr.strip().splitlines()[-1]
    assert "refused by S10" in last
    assert "cloud shows nothing of owner sandbox in us-west-2/" in last
    assert records(cloud) == zone
    # From the right region the old markers are still this owner's: nothing to do.
    again = eipkeeper("plan", "--detailed-exitcode", env=cloud.env)
    assert again.code == 0, again.stdout + again.stderr


def _owners(cloud: Cloud) -> dict[str, str]:
    listed = eipkeeper("-o", "json", "records", env=cloud.env)
    return {r["name"] + " " + r["type"]: r["owner"] for r in listed.json()}
