"""Where the ECS and IAM APIs of each cloud and region live, so callers only name a cloud and a region."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Cloud = Literal["otc", "huaweicloud"]

# OTC Swiss (eu-ch2) is a separate installation with its own domain and a differently named IAM host.
_SPECIAL: dict[tuple[str, str], tuple[str, str]] = {
    ("otc", "eu-ch2"): (
        "https://ecs.eu-ch2.sc.otc.t-systems.com",
        "https://iam-pub.eu-ch2.sc.otc.t-systems.com",
    ),
}

_DOMAIN: dict[str, str] = {
    "otc": "otc.t-systems.com",
    "huaweicloud": "myhuaweicloud.com",
}


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Base URLs (scheme and host, no trailing slash) of the ECS and IAM APIs for one target."""

    ecs: str
    iam: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "ecs", self.ecs.rstrip("/"))
        object.__setattr__(self, "iam", self.iam.rstrip("/"))


_OTC_DEFAULT_REGIONS = ("eu-de", "eu-nl", "eu-ch2")


def default_endpoints(cloud: str, region: str) -> Endpoints:
    """The public endpoints of `cloud` in `region` (reference/ecs-api.md); the one table of them, used by
    the configuration to fill a target's endpoints. Pass your own `Endpoints` to override them.

    Raises ValueError for an unknown cloud, or an OTC region whose public endpoints are not known (OTC's
    installations do not all follow one pattern: write the endpoints in the target instead).
    """
    special = _SPECIAL.get((cloud, region))
    if special is not None:
        return Endpoints(ecs=special[0], iam=special[1])
    try:
        domain = _DOMAIN[cloud]
    except KeyError:
        raise ValueError(f"unknown cloud {cloud!r}; expected otc or huaweicloud") from None
    if cloud == "otc" and region not in _OTC_DEFAULT_REGIONS:
        known = ", ".join(_OTC_DEFAULT_REGIONS)
        raise ValueError(f"no default endpoints for OTC region {region!r} (known: {known})")
    return Endpoints(ecs=f"https://ecs.{region}.{domain}", iam=f"https://iam.{region}.{domain}")
