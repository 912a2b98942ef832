"""Task recognition by the action asked: risk questions, cheap verbs on hard objects, shapes."""

from __future__ import annotations

import pytest

from tierwise.core.request import RouteRequest
from tierwise.core.tiers import Tier
from tierwise.learned.pipeline import Router


def tier(text: str) -> Tier:
    return Router().decide(RouteRequest(text=text)).tier


@pytest.mark.parametrize(
    "text",
    [
        "we let users upload SVG avatars and serve them from our main domain. what can go wrong?",
        "to check webhook signatures we compare them with ==. fine?",
        "用户可以填一个图片地址，服务器去下载。这样做有什么需要注意的吗？",
        "los usuarios suben archivos ZIP que descomprimimos en el servidor. ¿algún problema?",
    ],
)
def test_risk_questions_without_security_words_go_to_opus(text: str) -> None:
    assert tier(text) is Tier.OPUS


@pytest.mark.parametrize(
    "text",
    [
        "add an export as CSV button; big tenants have ~2M rows and the export must be a "
        "consistent snapshot",
        "just rename the column; the table has 900M rows, rolling deploys and writes can't stop",
    ],
)
def test_cheap_verbs_on_hard_objects_do_not_go_cheap(text: str) -> None:
    assert tier(text) is Tier.OPUS


@pytest.mark.parametrize(
    "text",
    [
        "turn these into keyword arguments: f(a, b, c)",
        "把这些参数转成关键字参数",
        "export these rows as CSV",
    ],
)
def test_mechanical_transformations_go_to_haiku(text: str) -> None:
    assert tier(text) is Tier.HAIKU


def test_a_long_routine_spec_is_not_opus() -> None:
    spec = (
        "Write a Terraform module for an S3 bucket. Inputs: bucket name, tags, a KMS key id, "
        "whether to enable versioning, lifecycle rules for noncurrent versions, an optional "
        "replica bucket in another region with its own key, and a list of principals allowed "
        "to read. Outputs: the bucket ARN, the replica ARN when created, and the policy JSON. "
        "Block all public access, enforce TLS in the bucket policy, and add an example."
    )
    assert tier(spec) is Tier.SONNET
