"""The table of bad inputs: what a user may type or write, and the one line eipkeeper answers.

Each case names the command line, the config (BASE with a change, or a text of its own), the
environment, the exit code of SPEC.md section 4 and a regex the first line of stderr matches.
Placeholders filled in by the test: {tmp} (a scratch folder), {key} (the local BIND's TSIG key
file), {bind_port}, {closed} (a port nobody listens on), {html} (a web server that is not
AWS), {eip} (an EIP of the sandbox), {sandbox} (its endpoint).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]
    code: int
    first: str
    """A regex searched in the first error line of stderr (`run` logs its start line first)."""
    config: str | None = None
    """The config's text (None: the sandbox's sample config, valid)."""
    env: dict[str, str | None] = field(default_factory=dict)
    """Variables to set (None: unset)."""
    files: dict[str, str | bytes] = field(default_factory=dict)
    """Files to write under {tmp} first."""
    subprocess: bool = False
    """Run as a real process (what a user runs), not in this one."""


BASE = """\
owner = "mail-prod"
region = "us-east-1"

[dns]
provider = "route53"
zone = "example.test"

[safety]
max_change_percent = 30
release_quarantine = "24h"
drain_margin = "30s"

[cost]
ipv4_hourly = 0.005

[[service]]
name = "mx"
select = { tags = { Role = "mx" } }
addresses = "elastic"
hostnames = ["mx1.example.test", "mx2.example.test", "mx3.example.test"]
ttl = 300
mx = { domain = "example.test", preference = 10, when_unbacked = "keep" }
check = { kind = "smtp", port = 2525, interval = "1s", timeout = "1s", fail_after = 3 }
failover = true
replace_failed = true
burst = { launch_template = "mx-burst", hostnames = ["mx3.example.test"], max = 1 }

[[service]]
name = "scan"
select = { tags = { Role = "scan" } }
addresses = "dynamic"
hostnames = ["scan.example.test"]
ttl = 60
"""

BIND_DNS = """\
[dns]
provider = "rfc2136"
zone = "example.test"
server = "127.0.0.1"
port = {bind_port}
tsig_key_file = "{keyfile}"
verify_servers = ["127.0.0.1:{bind_port}"]
"""


def edit(old: str, new: str) -> str:
    """BASE with OLD (which must be in it) replaced by NEW."""
    assert old in BASE, old
    return BASE.replace(old, new, 1)


def with_bind(keyfile: str = "{key}", port: str = "{bind_port}") -> str:
    dns = BIND_DNS.replace("{keyfile}", keyfile).replace("{bind_port}", port)
    return BASE.replace('[dns]\nprovider = "route53"\nzone = "example.test"\n', dns)


CHECK = ("check-config", "--offline")
_SECRET = 'algorithm hmac-sha256; secret "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0";'
OTHER_SECRET = 'key "eipkeeper-key" { ' + _SECRET + " };\n"
"""The local BIND's key name with a secret that is not its."""
STRANGER_KEY = 'key "stranger" { ' + _SECRET + " };\n"
"""A key the server does not know."""
CONFIG_LINE = r"c\.toml:\d+: "


def config_cases() -> list[Case]:
    """Config files: syntax, unknown keys, types, durations, owner, cross-checks."""
    cases: list[Case] = []

    def bad(id_: str, text: str, first: str) -> None:
        cases.append(Case(f"config-{id_}", CHECK, 2, first, config=text))

    toml = CONFIG_LINE + "not valid TOML"
    bad("toml-unterminated-string", edit('owner = "mail-prod"', 'owner = "mail-prod'), toml)
    bad("toml-no-value", edit('owner = "mail-prod"', "owner ="), toml)
    bad("toml-no-equals", edit('owner = "mail-prod"', 'owner "mail-prod"'), toml)
    bad("toml-duplicate-key", edit('region = "us-east-1"', 'region = "a"\nregion = "b"'), toml)
    bad("toml-open-header", edit("[safety]", "[safety"), toml)
    bad("toml-open-array-header", edit("[[service]]", "[[service]"), toml)
    bad("toml-bare-word", edit('owner = "mail-prod"', "owner = mail-prod"), toml)
    bad("toml-space-in-key", edit('owner = "mail-prod"', 'own er = "mail-prod"'), toml)
    bad("toml-two-values", edit('owner = "mail-prod"', 'owner = "a" "b"'), toml)
    bad("toml-table-twice", BASE + "\n[safety]\ndrain_margin = '1s'\n", toml)
    bad("toml-no-key", BASE + '\n= "x"\n', toml)
    bad("toml-open-inline-table", edit('select = { tags = { Role = "mx" } }', "select = {"), toml)
    bad("toml-open-array", edit('hostnames = ["scan.example.test"]', 'hostnames = ["x"'), toml)
    bad("toml-bad-escape", edit('owner = "mail-prod"', 'owner = "mail\\qprod"'), toml)
    bad("toml-bad-date", edit('owner = "mail-prod"', "owner = 1979-13-45"), toml)
    bad("toml-control-char", edit('owner = "mail-prod"', 'owner = "mail\x01prod"'), toml)
    cases.append(
        Case(
            "config-not-utf8",
            CHECK,
            2,
            r"c\.toml: .*(UTF-8|utf-8|decode)",
            files={"c.toml": b'owner = "\xff\xfe"\n'},
        )
    )

    unknown = CONFIG_LINE + r"[\w.\[\]-]+: unknown key"
    bad("unknown-top", BASE + 'colour = "red"\n', unknown)
    bad(
        "unknown-top-early",
        edit('region = "us-east-1"', 'region = "us-east-1"\nzone = "x"'),
        unknown,
    )
    bad(
        "unknown-dns",
        edit('zone = "example.test"\n', 'zone = "example.test"\nservers = []\n'),
        unknown,
    )
    bad(
        "unknown-safety",
        edit('drain_margin = "30s"', 'drain_margin = "30s"\nmax_changes = 3'),
        unknown,
    )
    bad("unknown-cost", edit("ipv4_hourly = 0.005", "ipv6_hourly = 0.005"), unknown)
    bad("unknown-audit", BASE + '[audit]\nranges = "x.json"\n', unknown)
    bad("unknown-service", edit("ttl = 60", "ttl = 60\nhostname = 'x'"), unknown)
    bad(
        "unknown-select",
        edit(
            'select = { tags = { Role = "scan" } }',
            'select = { tags = { Role = "scan" }, tag = 1 }',
        ),
        unknown,
    )
    bad("unknown-mx", edit("preference = 10,", "priority = 10,"), unknown)
    bad("unknown-check", edit("fail_after = 3 }", "fail_after = 3, retries = 2 }"), unknown)
    bad("unknown-burst", edit("max = 1 }", "max = 1, min = 0 }"), unknown)
    bad("unknown-table", BASE + "[services]\nname = 'x'\n", unknown)
    bad(
        "unknown-dns-tsig",
        edit('zone = "example.test"\n', 'zone = "example.test"\ntsig = ""\n'),
        unknown,
    )
    bad(
        "unknown-metric",
        edit("max = 1 }", 'max = 1, metric = { namespace = "M", name = "Q", unit = "x" } }'),
        unknown,
    )
    bad("unknown-dashed", BASE + "max-ttl = 5\n", unknown)

    def typed(id_: str, old: str, new: str, key: str, why: str = "") -> None:
        bad(f"type-{id_}", edit(old, new), CONFIG_LINE + re.escape(key) + ": " + why)

    typed("owner-number", 'owner = "mail-prod"', "owner = 5", "owner")
    typed("owner-bool", 'owner = "mail-prod"', "owner = true", "owner")
    typed("region-number", 'region = "us-east-1"', "region = 5", "region")
    typed("region-list", 'region = "us-east-1"', "region = []", "region")
    typed("dns-provider", 'provider = "route53"', 'provider = "bind"', "dns.provider")
    typed("dns-zone-number", 'zone = "example.test"', "zone = 5", "dns.zone")
    typed(
        "dns-zone-bad",
        'zone = "example.test"',
        'zone = "exa mple!"',
        "dns.zone",
        ".*not a valid host name",
    )
    typed("dns-port-word", 'zone = "example.test"', 'zone = "example.test"\nport = "x"', "dns.port")
    typed("dns-port-zero", 'zone = "example.test"', 'zone = "example.test"\nport = 0', "dns.port")
    typed(
        "dns-port-big", 'zone = "example.test"', 'zone = "example.test"\nport = 70000', "dns.port"
    )
    typed(
        "dns-max-ttl-zero",
        'zone = "example.test"',
        'zone = "example.test"\nmax_ttl = 0',
        "dns.max_ttl",
    )
    typed(
        "dns-verify-string",
        'zone = "example.test"',
        'zone = "example.test"\nverify_servers = "a"',
        "dns.verify_servers",
    )
    typed(
        "percent-zero",
        "max_change_percent = 30",
        "max_change_percent = 0",
        "safety.max_change_percent",
    )
    typed(
        "percent-over",
        "max_change_percent = 30",
        "max_change_percent = 101",
        "safety.max_change_percent",
    )
    typed(
        "percent-word",
        "max_change_percent = 30",
        'max_change_percent = "lots"',
        "safety.max_change_percent",
    )
    typed("cost-negative", "ipv4_hourly = 0.005", "ipv4_hourly = -1", "cost.ipv4_hourly")
    typed("service-name-upper", 'name = "scan"', 'name = "Scan"', "service[1].name")
    typed("service-name-empty", 'name = "scan"', 'name = ""', "service[1].name")
    typed("addresses-kind", 'addresses = "dynamic"', 'addresses = "static"', "service[1].addresses")
    typed(
        "hostnames-empty",
        'hostnames = ["scan.example.test"]',
        "hostnames = []",
        "service[1].hostnames",
    )
    typed(
        "hostnames-string",
        'hostnames = ["scan.example.test"]',
        'hostnames = "scan.example.test"',
        "service[1].hostnames",
    )
    typed(
        "hostname-bad",
        'hostnames = ["scan.example.test"]',
        'hostnames = ["scan_!.example.test"]',
        "service[1].hostnames[0]",
    )
    typed("ttl-zero", "ttl = 60", "ttl = 0", "service[1].ttl")
    typed("ttl-duration", "ttl = 60", 'ttl = "5m"', "service[1].ttl")
    typed("mx-preference", "preference = 10,", "preference = -1,", "service[0].mx.preference")
    typed(
        "mx-when-unbacked",
        'when_unbacked = "keep"',
        'when_unbacked = "drop"',
        "service[0].mx.when_unbacked",
    )
    typed("check-kind", 'kind = "smtp"', 'kind = "ping"', "service[0].check.kind")
    typed("check-port", "port = 2525", "port = 0", "service[0].check.port")
    typed("check-fail-after", "fail_after = 3", "fail_after = 0", "service[0].check.fail_after")
    typed(
        "check-pass-after",
        "fail_after = 3",
        'fail_after = 3, pass_after = "two"',
        "service[0].check.pass_after",
    )
    typed(
        "select-empty",
        'select = { tags = { Role = "scan" } }',
        "select = { tags = {} }",
        "service[1].select.tags",
    )
    typed("failover-word", "failover = true", 'failover = "maybe"', "service[0].failover")
    typed("burst-max", "max = 1 }", "max = -1 }", "service[0].burst.max")
    cases.append(
        Case(
            "config-type-service-not-table",
            CHECK,
            2,
            CONFIG_LINE + r"service: expected an array, got \"x\"",
            config='owner = "o"\nservice = "x"\n',
        )
    )
    bad(
        "burst-thresholds",
        edit(
            "max = 1 }",
            'max = 1, metric = { namespace = "M", name = "Q" }, '
            "scale_out_above = 5, scale_in_below = 9 }",
        ),
        CONFIG_LINE + r"service\[0\]\.burst: scale_in_below must be lower",
    )
    bad(
        "burst-no-metric",
        edit("max = 1 }", "max = 1, scale_out_above = 5 }"),
        CONFIG_LINE + r"service\[0\]\.burst: scale_out_above needs a `metric`",
    )
    bad(
        "replace-without-burst",
        edit("ttl = 60", "ttl = 60\nreplace_failed = true"),
        CONFIG_LINE + r"service\[1\]: replace_failed needs",
    )
    bad(
        "metric-statistic",
        edit(
            "max = 1 }", 'max = 1, metric = { namespace = "M", name = "Q", statistic = "Median" } }'
        ),
        CONFIG_LINE + r"service\[0\]\.burst\.metric\.statistic",
    )
    bad(
        "hostname-twice",
        edit(
            'hostnames = ["scan.example.test"]',
            'hostnames = ["scan.example.test", "scan.example.test"]',
        ),
        CONFIG_LINE + r"service\[1\]: hostnames are listed twice",
    )
    bad(
        "hostname-outside-zone",
        edit('hostnames = ["scan.example.test"]', 'hostnames = ["scan.example.org"]'),
        CONFIG_LINE + r"service\[1\]\.hostnames: scan\.example\.org is outside zone",
    )
    bad(
        "mx-outside-zone",
        edit('mx = { domain = "example.test"', 'mx = { domain = "example.org"'),
        CONFIG_LINE + r"service\[0\]\.mx\.domain: example\.org is outside zone",
    )
    bad(
        "service-twice",
        edit('name = "scan"', 'name = "mx"'),
        CONFIG_LINE + r"service\[1\]\.name: service name 'mx' is used twice",
    )
    bad(
        "hostname-in-two-services",
        edit('hostnames = ["scan.example.test"]', 'hostnames = ["mx1.example.test"]'),
        CONFIG_LINE + r"service\[1\]\.hostnames: mx1\.example\.test belongs to both",
    )
    bad(
        "burst-hostname-stray",
        edit('hostnames = ["mx3.example.test"], max', 'hostnames = ["mx9.example.test"], max'),
        CONFIG_LINE + r"service\[0\]: burst\.hostnames not among",
    )
    bad(
        "rfc2136-no-server",
        edit('provider = "route53"', 'provider = "rfc2136"\ntsig_key_file = "k.key"'),
        CONFIG_LINE + r"dns: provider rfc2136 needs `server`",
    )
    bad(
        "rfc2136-no-key",
        edit('provider = "route53"', 'provider = "rfc2136"\nserver = "127.0.0.1"'),
        CONFIG_LINE + r"dns: provider rfc2136 needs `tsig_key_file`",
    )

    duration = CONFIG_LINE + r"{key}: .*(not a duration|empty duration|greater than or equal)"
    for id_, old, new, key in [
        (
            "quarantine-word",
            'release_quarantine = "24h"',
            'release_quarantine = "abc"',
            "safety.release_quarantine",
        ),
        (
            "quarantine-unit",
            'release_quarantine = "24h"',
            'release_quarantine = "5x"',
            "safety.release_quarantine",
        ),
        (
            "quarantine-negative",
            'release_quarantine = "24h"',
            'release_quarantine = "-5m"',
            "safety.release_quarantine",
        ),
        (
            "quarantine-empty",
            'release_quarantine = "24h"',
            'release_quarantine = ""',
            "safety.release_quarantine",
        ),
        (
            "quarantine-words",
            'release_quarantine = "24h"',
            'release_quarantine = "5 minutes"',
            "safety.release_quarantine",
        ),
        (
            "quarantine-negative-number",
            'release_quarantine = "24h"',
            "release_quarantine = -1",
            "safety.release_quarantine",
        ),
        ("margin-word", 'drain_margin = "30s"', 'drain_margin = "soon"', "safety.drain_margin"),
        (
            "interval-fortnight",
            'interval = "1s"',
            'interval = "1 fortnight"',
            "service[0].check.interval",
        ),
        ("timeout-negative", 'timeout = "1s"', 'timeout = "-1s"', "service[0].check.timeout"),
        ("cooldown-word", "max = 1 }", 'max = 1, cooldown = "five" }', "service[0].burst.cooldown"),
        (
            "period-year",
            "max = 1 }",
            'max = 1, metric = { namespace = "M", name = "Q", period = "1y" } }',
            "service[0].burst.metric.period",
        ),
    ]:
        bad(f"duration-{id_}", edit(old, new), duration.replace("{key}", re.escape(key)))

    owner = CONFIG_LINE + r"owner: "
    for id_, value in [
        ("upper", '"Mail-Prod"'),
        ("empty", '""'),
        ("underscore", '"mail_prod"'),
        ("space", '"mail prod"'),
        ("too-long", '"' + "a" * 33 + '"'),
        ("dot", '"mail.prod"'),
        ("unicode", '"mäil"'),
    ]:
        bad(f"owner-{id_}", edit('owner = "mail-prod"', f"owner = {value}"), owner)
    bad(
        "owner-missing",
        edit('owner = "mail-prod"\n', ""),
        r"c\.toml(:\d+)?: owner: required key is missing",
    )
    cases.append(Case("config-empty-file", CHECK, 2, r"owner: required key is missing", config=""))
    return cases


def file_cases() -> list[Case]:
    """Files the config or the command line names: missing, unreadable, malformed."""
    key_error = r"(?i)tsig key"
    return [
        Case(
            "file-config-missing",
            ("--config", "{tmp}/nope.toml", *CHECK),
            2,
            r"nope\.toml: no such config file",
        ),
        Case(
            "file-config-env-missing",
            CHECK,
            2,
            r"gone\.toml: no such config file",
            env={"EIPKEEPER_CONFIG": "{tmp}/gone.toml"},
        ),
        Case(
            "file-config-is-dir",
            ("--config", "{tmp}", *CHECK),
            2,
            r"(is a directory|Is a directory|cannot read)",
        ),
        Case(
            "file-config-dev-null",
            ("--config", "/dev/null", *CHECK),
            2,
            r"owner: required key is missing",
        ),
        Case(
            "file-config-dev-zero",
            ("--config", "/dev/zero", *CHECK),
            2,
            r"^eipkeeper: /dev/zero: larger than 1024 KiB: not a config file",
        ),
        Case(
            "file-key-missing",
            CHECK,
            2,
            r"c\.toml:\d+: dns\.tsig_key_file: TSIG key file .* does not exist",
            config=with_bind("{tmp}/none.key"),
        ),
        Case(
            "file-key-empty",
            ("check-config", "--offline"),
            2,
            key_error,
            config=with_bind("{tmp}/empty.key"),
            files={"empty.key": ""},
        ),
        Case(
            "file-key-garbage",
            ("check-config", "--offline"),
            2,
            key_error,
            config=with_bind("{tmp}/junk.key"),
            files={"junk.key": "this is not a key\n"},
        ),
        Case(
            "file-key-bad-base64",
            ("check-config", "--offline"),
            2,
            key_error,
            config=with_bind("{tmp}/b64.key"),
            files={"b64.key": 'key "k" { algorithm hmac-sha256; secret "!!!notbase64"; };\n'},
        ),
        Case(
            "file-key-md5",
            ("check-config", "--offline"),
            2,
            r"hmac-md5",
            config=with_bind("{tmp}/md5.key"),
            files={"md5.key": 'key "k" { algorithm hmac-md5; secret "c2VjcmV0"; };\n'},
        ),
        Case(
            "file-key-is-dir",
            ("check-config", "--offline"),
            2,
            # It was said not to exist.
            r"c\.toml:\d+: dns\.tsig_key_file: TSIG key file .* is a directory$",
            config=with_bind("{tmp}"),
        ),
        Case(
            "file-key-records",
            ("records",),
            2,
            key_error,
            config=with_bind("{tmp}/junk2.key"),
            files={"junk2.key": "garbage\n"},
        ),
        Case(
            "file-cloud-ranges-missing",
            ("audit",),
            2,
            r"cloud_ranges|ranges",
            config=BASE + '[audit]\ncloud_ranges = "{tmp}/nope.json"\n',
        ),
        Case(
            "file-cloud-ranges-garbage",
            ("audit",),
            2,
            r"cloud_ranges|ranges",
            config=BASE + '[audit]\ncloud_ranges = "{tmp}/r.json"\n',
            files={"r.json": "{not json"},
        ),
    ]


ADDRESSES = ("addresses",)


NO_CREDENTIALS: dict[str, str | None] = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None}
EVERY_AWS_COMMAND = [
    ("instances",),
    ("audit",),
    ("run", "--once"),
    ("apply", "--yes"),
    ("allocate",),
    ("move", "{eip}", "--to", "mx-a", "--yes"),
    ("associate", "{eip}", "mx-a", "--yes"),
    ("disassociate", "{eip}", "--yes"),
    ("release", "{eip}", "--yes"),
    ("drain", "mx-a", "--yes"),
]


def environment_cases() -> list[Case]:
    """Credentials, regions and endpoints."""
    no_credentials = [
        Case(f"cred-none-{args[0]}", args, 2, r"no AWS credentials found", env=NO_CREDENTIALS)
        for args in EVERY_AWS_COMMAND
    ]
    return [
        *no_credentials,
        Case(
            "cred-none",
            ADDRESSES,
            2,
            r"no AWS credentials found",
            env={"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None},
        ),
        Case(
            "cred-empty",
            ADDRESSES,
            2,
            r"no AWS credentials found",
            env={"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""},
        ),
        Case(
            "cred-partial",
            ADDRESSES,
            2,
            r"(Partial credentials|partial)",
            env={"AWS_SECRET_ACCESS_KEY": None},
        ),
        Case(
            "cred-profile-unknown",
            ADDRESSES,
            2,
            r"profile .*nope.* could not be found",
            env={"AWS_PROFILE": "nope", "AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None},
        ),
        Case(
            "cred-config-garbage",
            ADDRESSES,
            2,
            r"AWS configuration|Unable to parse config",
            env={
                "AWS_CONFIG_FILE": "{tmp}/awsconfig",
                "AWS_PROFILE": "x",
                "AWS_ACCESS_KEY_ID": None,
                "AWS_SECRET_ACCESS_KEY": None,
            },
            files={"awsconfig": "[profile x\nregion = \n"},
        ),
        Case(
            "cred-none-records",
            ("records",),
            2,
            r"no AWS credentials found",
            env={"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None},
        ),
        Case(
            "cred-none-plan",
            ("plan",),
            2,
            r"no AWS credentials found",
            env={"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None},
        ),
        Case(
            "cred-none-check-config",
            ("check-config",),
            2,
            r"no AWS credentials found",
            env={"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None},
        ),
        Case(
            "region-nowhere",
            ("--region", "nowhere-9", *ADDRESSES),
            2,
            r"'nowhere-9' is not an AWS region",
        ),
        Case(
            "region-upper",
            ("--region", "US-EAST-1", *ADDRESSES),
            2,
            r"'US-EAST-1' is not an AWS region",
        ),
        Case("region-spaces", ("--region", "us east 1", *ADDRESSES), 2, r"is not an AWS region"),
        Case(
            "region-in-config",
            ADDRESSES,
            2,
            r"'mars-1' is not an AWS region",
            config=edit('region = "us-east-1"', 'region = "mars-1"'),
        ),
        Case(
            "region-from-env",
            ADDRESSES,
            2,
            r"'atlantis' is not an AWS region",
            config=edit('region = "us-east-1"\n', ""),
            env={"AWS_DEFAULT_REGION": "atlantis"},
        ),
        Case(
            "region-none",
            ADDRESSES,
            2,
            r"no AWS region",
            config=edit('region = "us-east-1"\n', ""),
            env={"AWS_DEFAULT_REGION": None, "AWS_REGION": None},
        ),
        Case(
            "region-none-records",
            ("records",),
            2,
            r"no AWS region",
            config=edit('region = "us-east-1"\n', ""),
            env={"AWS_DEFAULT_REGION": None, "AWS_REGION": None},
        ),
        Case(
            "region-none-run",
            ("run", "--once"),
            2,
            r"no AWS region",
            config=edit('region = "us-east-1"\n', ""),
            env={"AWS_DEFAULT_REGION": None, "AWS_REGION": None},
        ),
        Case(
            "endpoint-html",
            ADDRESSES,
            2,
            r"did not answer as AWS does",
            env={"AWS_ENDPOINT_URL": "{html}"},
        ),
        Case(
            "endpoint-html-records",
            ("records",),
            2,
            r"did not answer as AWS does",
            env={"AWS_ENDPOINT_URL": "{html}"},
        ),
        Case(
            "endpoint-html-subprocess",
            ADDRESSES,
            2,
            r"did not answer as AWS does",
            env={"AWS_ENDPOINT_URL": "{html}"},
            subprocess=True,
        ),
        Case(
            "endpoint-closed",
            ADDRESSES,
            1,
            r"did not answer \(EndpointConnectionError\)",
            env={"AWS_ENDPOINT_URL": "http://127.0.0.1:{closed}"},
            subprocess=True,
        ),
        Case(
            "endpoint-not-a-url",
            ADDRESSES,
            2,
            r"AWS_ENDPOINT_URL|endpoint",
            env={"AWS_ENDPOINT_URL": "not a url"},
        ),
        Case(
            "endpoint-ftp",
            ADDRESSES,
            2,
            r"AWS_ENDPOINT_URL|endpoint",
            env={"AWS_ENDPOINT_URL": "ftp://127.0.0.1:{closed}"},
        ),
        Case(
            "endpoint-tls-to-http",
            ADDRESSES,
            1,
            r"TLS|SSL|did not answer",
            env={"AWS_ENDPOINT_URL": "https://{sandbox_host}"},
        ),
    ]


def dns_cases() -> list[Case]:
    """DNS servers and zones that cannot be used."""
    return [
        Case(
            "dns-server-closed",
            ("records",),
            1,
            r"refused the connection|did not answer",
            config=with_bind(port="{closed}"),
        ),
        Case(
            "dns-bad-secret",
            ("records",),
            1,
            r"BADSIG",
            config=with_bind("{tmp}/other.key"),
            files={"other.key": OTHER_SECRET},
        ),
        Case(
            "dns-bad-key-name",
            ("records",),
            1,
            r"BADKEY|does not know TSIG key",
            config=with_bind("{tmp}/name.key"),
            files={"name.key": STRANGER_KEY},
        ),
        Case(
            "dns-check-bad-secret",
            ("check-config",),
            2,
            r"BADSIG",
            config=with_bind("{tmp}/other2.key"),
            files={"other2.key": OTHER_SECRET},
        ),
        Case(
            "dns-check-closed",
            ("check-config",),
            2,
            r"refused the connection|did not answer",
            config=with_bind(port="{closed}"),
        ),
        Case(
            "dns-zone-missing-route53",
            ("records",),
            2,
            r"no Route 53 hosted zone named nowhere\.test",
            config=BASE.replace("example.test", "nowhere.test"),
        ),
        Case(
            "dns-zone-id-missing-route53",
            ("records",),
            2,
            r"hosted_zone_id|NoSuchHostedZone",
            config=edit(
                'zone = "example.test"', 'zone = "example.test"\nhosted_zone_id = "ZNOPE123"'
            ),
        ),
        Case(
            "dns-check-zone-id-missing",
            ("check-config",),
            2,
            r"hosted_zone_id|NoSuchHostedZone",
            config=edit(
                'zone = "example.test"', 'zone = "example.test"\nhosted_zone_id = "ZNOPE123"'
            ),
        ),
        Case(
            "dns-check-zone-missing",
            ("check-config",),
            2,
            r"no Route 53 hosted zone named nowhere\.test",
            config=BASE.replace("example.test", "nowhere.test"),
        ),
        Case(
            "dns-zone-not-served-bind",
            ("records",),
            1,
            r"AXFR|refused|NOTAUTH|not authoritative|zone",
            config=with_bind()
            .replace('zone = "example.test"', 'zone = "other.test"')
            .replace("example.test", "other.test"),
        ),
    ]


DURATION_OPTIONS = [
    ("run-interval", ("run", "--once", "--interval"), True),
    ("run-lease-ttl", ("run", "--once", "--lease-ttl"), True),
    ("run-switch-grace", ("run", "--once", "--switch-grace"), False),
    ("move-timeout", ("move", "{eip}", "--to", "mx-a", "--timeout"), True),
    ("associate-timeout", ("associate", "{eip}", "mx-a", "--timeout"), True),
    ("drain-timeout", ("drain", "mx-a", "--timeout"), True),
]
BAD_DURATIONS = [
    ("word", "abc", r"not a duration"),
    ("unit", "5x", r"not a duration"),
    ("negative", "-5", r"must be"),
    ("negative-unit", "-5m", r"must be"),
    ("nan", "nan", r"not a finite duration"),
    ("inf", "inf", r"not a finite duration"),
    ("empty", "", r"empty duration|not a duration"),
]


def cli_cases() -> list[Case]:
    """Command-line arguments: commands, options, values, durations, objects that do not exist."""
    cases = [
        Case("cli-no-such-command", ("adresses",), 2, r"No such command 'adresses'"),
        Case(
            "cli-no-such-global-option", ("--nosuch", "addresses"), 2, r"No such option '--nosuch'"
        ),
        Case("cli-no-such-option", ("addresses", "--nosuch"), 2, r"No such option '--nosuch'"),
        Case(
            "cli-output-xml", ("-o", "xml", "addresses"), 2, r"Invalid value for '--output' / '-o'"
        ),
        Case(
            "cli-log-format",
            ("--log-format", "yaml", "addresses"),
            2,
            r"Invalid value for '--log-format'",
        ),
        Case(
            "cli-config-no-value",
            ("addresses", "--config"),
            2,
            r"No such option|requires an argument",
        ),
        Case("cli-global-no-value", ("--config",), 2, r"requires an argument"),
        Case("cli-extra-argument", ("instances", "extra"), 2, r"unexpected extra argument"),
        Case("cli-check-config-extra", ("check-config", "extra"), 2, r"unexpected extra argument"),
        Case("cli-move-no-to", ("move", "{eip}"), 2, r"Missing option '--to'"),
        Case("cli-associate-no-args", ("associate",), 2, r"Missing argument 'ADDRESS'"),
        Case("cli-associate-one-arg", ("associate", "{eip}"), 2, r"Missing argument 'INSTANCE'"),
        Case("cli-release-no-args", ("release",), 2, r"Missing argument 'ADDRESS'"),
        Case("cli-drain-no-args", ("drain",), 2, r"Missing argument 'INSTANCE'"),
        # Blank is never a name (S10): an unset variable in a script must not match anything.
        Case("cli-release-empty", ("release", "", "--yes"), 2, r"'ADDRESS': ADDRESS is empty"),
        Case("cli-release-blank", ("release", "  ", "--yes"), 2, r"ADDRESS is empty"),
        Case("cli-disassociate-empty", ("disassociate", "", "--yes"), 2, r"ADDRESS is empty"),
        Case("cli-associate-empty-address", ("associate", "", "mx-a"), 2, r"ADDRESS is empty"),
        Case("cli-associate-empty-instance", ("associate", "{eip}", ""), 2, r"INSTANCE is empty"),
        Case("cli-move-empty", ("move", "", "--to", "mx-a"), 2, r"ADDRESS is empty"),
        Case("cli-move-to-empty", ("move", "{eip}", "--to", ""), 2, r"'--to': INSTANCE is empty"),
        Case("cli-drain-empty", ("drain", "", "--yes"), 2, r"INSTANCE is empty"),
        Case("cli-replace-empty", ("replace", " ", "--yes"), 2, r"INSTANCE is empty"),
        Case(
            "cli-replace-template-empty",
            ("replace", "mx-a", "--launch-template", ""),
            2,
            r"'--launch-template': the value is empty",
        ),
        Case(
            "cli-apply-checksum-empty",
            ("apply", "--checksum", "", "--yes"),
            2,
            r"'--checksum': the checksum is empty",
        ),
        Case(
            "cli-run-queue-empty",
            ("run", "--once", "--events-queue", ""),
            2,
            r"'--events-queue': the value is empty",
        ),
        Case(
            "cli-drain-then",
            ("drain", "mx-a", "--then", "explode"),
            2,
            r"Invalid value for '--then'",
        ),
        Case(
            "cli-audit-fail-on", ("audit", "--fail-on", "info"), 2, r"Invalid value for '--fail-on'"
        ),
        Case(
            "cli-metrics-port-big",
            ("run", "--once", "--metrics-port", "70000"),
            2,
            r"Invalid value for '--metrics-port'",
        ),
        Case(
            "cli-metrics-port-negative",
            ("run", "--once", "--metrics-port", "-1"),
            2,
            r"Invalid value for '--metrics-port'",
        ),
        Case(
            "cli-metrics-port-word",
            ("run", "--once", "--metrics-port", "http"),
            2,
            r"Invalid value for '--metrics-port'",
        ),
        Case(
            "cli-metrics-port-in-use",
            ("run", "--once", "--metrics-port", "{busy}"),
            2,
            r"--metrics-port \d+: cannot listen on 127\.0\.0\.1:\d+",
        ),
        Case(
            "cli-metrics-address-bad",
            ("run", "--once", "--metrics-port", "{closed}", "--metrics-address", "10.255.255.1"),
            2,
            r"--metrics-port \d+: cannot listen",
        ),
        Case(
            # --once reads no event: the missing queue went unnoticed and it exited 0.
            "cli-events-queue-missing-once",
            ("run", "--once", "--events-queue", "{sandbox}/123456789012/nope"),
            2,
            r"--events-queue \S+/nope: no such SQS queue",
        ),
        Case(
            "cli-events-queue-missing",
            ("run", "--interval", "60", "--events-queue", "{sandbox}/123456789012/nope"),
            2,
            r"--events-queue \S+/nope: no such SQS queue",
        ),
        Case(
            "cli-lease-table-missing",
            ("run", "--once", "--lease-table", "nope"),
            2,
            r"--lease-table nope: no such DynamoDB table",
        ),
        Case("cli-sandbox-port", ("sandbox", "--port", "70000"), 2, r"Invalid value for '--port'"),
        Case(
            "cli-sandbox-smtp-port",
            ("sandbox", "--smtp-port", "0"),
            2,
            r"Invalid value for '--smtp-port'",
        ),
        Case(
            "cli-sandbox-delay",
            ("sandbox", "--association-delay", "-1"),
            2,
            r"Invalid value for '--association-delay'",
        ),
        Case(
            "cli-demo-delay",
            ("demo", "--association-delay", "soon"),
            2,
            r"Invalid value for '--association-delay'",
        ),
        Case("cli-release-unknown", ("release", "192.0.2.77", "--yes"), 1, r"192\.0\.2\.77"),
        Case(
            "cli-release-not-an-address",
            ("release", "not-an-address", "--yes"),
            1,
            r"not-an-address",
        ),
        Case("cli-release-no-yes", ("release", "{eip}"), 2, r"pass --yes"),
        Case("cli-associate-unknown-instance", ("associate", "{eip}", "nope", "--yes"), 1, r"nope"),
        Case(
            "cli-associate-unknown-address",
            ("associate", "eipalloc-nope", "mx-a", "--yes"),
            1,
            r"eipalloc-nope",
        ),
        Case("cli-move-unknown-instance", ("move", "{eip}", "--to", "nope", "--yes"), 1, r"nope"),
        Case(
            "cli-move-unknown-address",
            ("move", "198.51.100.1", "--to", "mx-a", "--yes"),
            1,
            r"198\.51\.100\.1",
        ),
        Case("cli-drain-unknown", ("drain", "i-00000000nope", "--yes"), 1, r"i-00000000nope"),
        Case(
            "cli-disassociate-unknown",
            ("disassociate", "203.0.113.5", "--yes"),
            1,
            r"203\.0\.113\.5",
        ),
        Case(
            "cli-allocate-unknown-service",
            ("allocate", "--service", "nope"),
            2,
            r"no service 'nope'",
        ),
        Case("cli-allocate-bad-tag", ("allocate", "--tag", "noequals"), 2, r"noequals|K=V"),
        Case(
            "cli-allocate-hostname-no-service",
            ("allocate", "--hostname", "mx9.example.test"),
            2,
            r"hostname|service",
        ),
        Case(
            "cli-allocate-hostname-not-in-service",
            ("allocate", "--service", "mx", "--hostname", "www.example.test"),
            2,
            r"www\.example\.test",
        ),
        Case(
            "cli-apply-checksum-wrong",
            ("apply", "--yes", "--checksum", "deadbeef"),
            1,
            r"plan changed|checksum",
        ),
        Case(
            "cli-subprocess-bad-duration",
            ("run", "--interval", "soon"),
            2,
            r"Invalid value for '--interval'",
            subprocess=True,
        ),
    ]
    for option_id, args, positive in DURATION_OPTIONS:
        values = BAD_DURATIONS + ([("zero", "0", r"must be more than zero")] if positive else [])
        for value_id, value, why in values:
            cases.append(
                Case(
                    f"duration-{option_id}-{value_id}",
                    (*args, value),
                    2,
                    r"Invalid value for '--[\w-]+': .*" + why,
                )
            )
    return cases


def all_cases() -> list[Case]:
    return [*config_cases(), *file_cases(), *environment_cases(), *dns_cases(), *cli_cases()]
