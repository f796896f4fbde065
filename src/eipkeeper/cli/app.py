"""What every command shares: the global options, the config and the AWS clients, made lazily."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from eipkeeper.errors import UsageError

if TYPE_CHECKING:
    # Imported where used: `eipkeeper --help` must not pay for boto3, msgspec or rich.
    from eipkeeper.cli.render import OutputFormat
    from eipkeeper.cloud.aws import AwsSession
    from eipkeeper.cloud.ec2 import Ec2
    from eipkeeper.config import Config
    from eipkeeper.dns.markers import Place
    from eipkeeper.dns.ownership import Registry

F = TypeVar("F", bound=Callable[..., Any])


def global_options(func: F) -> F:
    options = [
        click.option(
            "--config",
            "config_path",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="Config file (default ./eipkeeper.toml, or $EIPKEEPER_CONFIG).",
        ),
        click.option(
            "--output",
            "-o",
            type=click.Choice(["table", "tsv", "json"]),
            default=None,
            help="table on a terminal, tsv otherwise (one line per object, no header).",
        ),
        click.option("--region", default=None, help="AWS region (else config, else AWS config)."),
        click.option("-v", "--verbose", count=True, help="More logs; -v also shows tracebacks."),
        click.option(
            "--log-format",
            type=click.Choice(["text", "json"]),
            default="text",
            show_default=True,
            help="Logs on stderr as key=value text or JSON lines.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@dataclass
class App:
    config_path: Path
    config_explicit: bool
    output: OutputFormat
    region: str | None
    verbose: int
    log_format: str
    _config: Config | None = field(default=None, repr=False)
    _session: AwsSession | None = field(default=None, repr=False)
    _ec2: Ec2 | None = field(default=None, repr=False)
    _registry: Registry | None = field(default=None, repr=False)

    @classmethod
    def from_options(
        cls,
        *,
        config_path: Path | None,
        output: OutputFormat | None,
        region: str | None,
        verbose: int,
        log_format: str,
    ) -> App:
        from eipkeeper import environment, logs

        logs.setup(verbose=verbose, fmt=log_format)
        explicit = config_path is not None or environment.config_from_environment()
        return cls(
            config_path=config_path or environment.default_config_path(),
            config_explicit=explicit,
            # As render.default_format decides, without importing rich for tsv or json.
            output=output or ("table" if sys.stdout.isatty() else "tsv"),
            region=region,
            verbose=verbose,
            log_format=log_format,
        )

    @property
    def config(self) -> Config:
        if self._config is None:
            from eipkeeper import config as config_module

            self._config = config_module.load(self.config_path)
        return self._config

    def use_config(self, config: Config) -> None:
        """Replace the config loaded from the file (a command-line override of a setting)."""
        self._config = config

    @property
    def session(self) -> AwsSession:
        if self._session is None:
            from eipkeeper.cloud.aws import AwsSession

            # --region, then the config's `region`, then the AWS chain (None).
            wanted = self.config.region
            session = AwsSession(region=self.region or wanted or None)
            if self.region and wanted and self.region != wanted:
                # The zone describes the config's region: records read from another are
                # foreign there (S10), and a plan may find nothing of the owner.
                session.check_region()
                click.echo(
                    f"warning: --region {self.region} differs from the config's region "
                    f"{wanted} ({self.config.source}); the fleet is read in {self.region}",
                    err=True,
                )
            self._session = session
        return self._session

    @property
    def ec2(self) -> Ec2:
        if self._ec2 is None:
            from eipkeeper.cloud.ec2 import Ec2

            self._ec2 = Ec2(self.session)
        return self._ec2

    @property
    def registry(self) -> Registry | None:
        """The zone seen through this owner's ownership records; None without [dns]."""
        if self._registry is None and self.config.dns is not None:
            from eipkeeper.dns.factory import registry_from_config

            route53 = self.config.dns.provider == "route53"
            self._registry = registry_from_config(
                self.config, session=self.session if route53 else None, here=self.place
            )
        return self._registry

    def place(self) -> Place:
        """The account and region this command acts in (S10)."""
        from eipkeeper.dns.markers import Place

        return Place(account=self.session.account(), region=self.session.region)

    @property
    def interactive(self) -> bool:
        return sys.stdin.isatty()

    def confirm(self, question: str, *, yes: bool) -> None:
        """Ask QUESTION unless --yes; off a terminal, a missing --yes is a usage error."""
        if yes:
            return
        if not self.interactive:
            raise UsageError(f"{question} -- not on a terminal, so pass --yes to confirm")
        click.confirm(question, abort=True, err=True)


def pass_app(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(click.get_current_context().find_object(App), *args, **kwargs)

    return wrapper  # type: ignore[return-value]
