"""Default endpoints per cloud and region."""

import pytest

from bot.ecs import Endpoints, default_endpoints


def test_otc_regions() -> None:
    assert default_endpoints("otc", "eu-de") == Endpoints(
        ecs="https://ecs.eu-de.otc.t-systems.com", iam="https://iam.eu-de.otc.t-systems.com"
    )
    assert default_endpoints("otc", "eu-nl").ecs == "https://ecs.eu-nl.otc.t-systems.com"


def test_otc_swiss_is_special() -> None:
    assert default_endpoints("otc", "eu-ch2") == Endpoints(
        ecs="https://ecs.eu-ch2.sc.otc.t-systems.com", iam="https://iam-pub.eu-ch2.sc.otc.t-systems.com"
    )


def test_huaweicloud() -> None:
    assert default_endpoints("huaweicloud", "ap-southeast-1") == Endpoints(
        ecs="https://ecs.ap-southeast-1.myhuaweicloud.com", iam="https://iam.ap-southeast-1.myhuaweicloud.com"
    )


def test_trailing_slash_dropped_and_unknown_cloud_refused() -> None:
    assert Endpoints(ecs="http://x/", iam="http://y/") == Endpoints(ecs="http://x", iam="http://y")
    with pytest.raises(ValueError, match="unknown cloud"):
        default_endpoints("aws", "eu")


def test_an_otc_region_without_known_endpoints_is_refused() -> None:
    """OTC's installations do not share one host pattern: an unknown region must be written out, not
    guessed (the configuration then asks for the target's endpoints)."""
    with pytest.raises(ValueError, match="no default endpoints for OTC region 'eu-xx'"):
        default_endpoints("otc", "eu-xx")
