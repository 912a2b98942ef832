"""Loading policies: the shipped default, user files that extend it, and one clear error each."""

from __future__ import annotations

from pathlib import Path

import pytest

from tierwise.core.catalog import default_catalog
from tierwise.core.errors import ConfigError, PolicyError
from tierwise.core.policy import Policy, default_policy, load_policy
from tierwise.core.policy_schema import DEFAULT_STRATEGIES
from tierwise.core.tiers import Tier

# The routing table from the product description: task type → (tier, max_tokens).
PRODUCT_ROUTES = {
    "format": (Tier.HAIKU, 4096),
    "convert": (Tier.HAIKU, 4096),
    "extract": (Tier.HAIKU, 2048),
    "classify": (Tier.HAIKU, 1024),
    "boilerplate": (Tier.HAIKU, 8192),
    "implement": (Tier.SONNET, 16384),
    "test": (Tier.SONNET, 16384),
    "review": (Tier.SONNET, 8192),
    "document": (Tier.SONNET, 8192),
    "refactor-simple": (Tier.SONNET, 16384),
    "debug-complex": (Tier.OPUS, 32768),
    "architect": (Tier.OPUS, 32768),
    "security-review": (Tier.OPUS, 16384),
    "refactor-complex": (Tier.OPUS, 32768),
}
PRODUCT_DOMAINS = {
    "frontend": Tier.SONNET,
    "backend-api": Tier.SONNET,
    "database": Tier.OPUS,
    "security": Tier.OPUS,
    "devops": Tier.SONNET,
    "docs": Tier.HAIKU,
}


def write(tmp_path: Path, text: str, name: str = "policy.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path) -> str:
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    return str(caught.value)


# ---------------------------------------------------------------- the shipped default


def test_default_policy_has_the_product_descriptions_fourteen_task_types() -> None:
    routes = default_policy().config.routes
    assert len(PRODUCT_ROUTES) == 14
    for task_type, (tier, max_tokens) in PRODUCT_ROUTES.items():
        assert task_type in routes, task_type
        assert (routes[task_type].tier, routes[task_type].max_tokens) == (tier, max_tokens)


def test_default_policy_has_the_product_descriptions_domains_and_user_tiers() -> None:
    config = default_policy().config
    assert dict(config.domains) == PRODUCT_DOMAINS
    assert config.user_tiers["free"].ceiling is Tier.HAIKU
    assert config.user_tiers["enterprise"].floor is not None


def test_default_policy_resolves_every_enabled_tier_in_the_catalog() -> None:
    policy = default_policy()
    catalog = default_catalog()
    assert policy.ladder == [Tier.HAIKU, Tier.SONNET, Tier.OPUS]
    assert policy.top_tier is Tier.OPUS
    assert policy.config.tiers.default is Tier.SONNET
    for tier in policy.ladder:
        spec = policy.model_for(tier)
        assert spec == catalog.get(policy.config.tiers.model_for(tier))
        assert spec.line is tier
    assert policy.warnings == ()


def test_default_policy_is_loaded_once() -> None:
    assert default_policy() is default_policy()
    assert load_policy().config == default_policy().config


def test_default_policy_runs_every_strategy() -> None:
    assert tuple(default_policy().config.strategies) == DEFAULT_STRATEGIES


# ---------------------------------------------------------------- user files


def test_extending_the_default_changes_only_what_the_file_names(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'extends = "default"\nname = "mine"\n[routes]\nformat = { tier = "sonnet" }\n',
    )
    policy = load_policy(path)
    default = default_policy().config
    routes = policy.config.routes
    assert policy.source == str(path)
    assert policy.config.name == "mine"
    assert routes["format"].tier is Tier.SONNET
    assert (
        routes["format"].max_tokens == default.routes["format"].max_tokens
    )  # merged, not replaced
    assert {k: v for k, v in routes.items() if k != "format"} == {
        k: v for k, v in default.routes.items() if k != "format"
    }
    assert policy.config.keywords == default.keywords
    assert policy.config.tiers == default.tiers


def test_extending_the_default_replaces_lists(tmp_path: Path) -> None:
    path = write(tmp_path, 'extends = "default"\nstrategies = ["task_type", "default"]\n')
    policy = load_policy(path)
    assert policy.config.strategies == ["task_type", "default"]
    assert policy.config.routes == default_policy().config.routes


def test_a_standalone_file_does_not_inherit_the_defaults_routes(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'name = "tiny"\n'
        "[tiers]\n"
        'enabled = ["haiku", "sonnet"]\n'
        'default = "haiku"\n'
        "[routes]\n"
        'chat = { tier = "haiku", max_tokens = 512 }\n',
    )
    policy = load_policy(path)
    assert set(policy.config.routes) == {"chat"}
    assert policy.config.keywords.rules == []
    assert policy.ladder == [Tier.HAIKU, Tier.SONNET]
    assert policy.top_tier is Tier.SONNET
    assert set(policy.models) == {Tier.HAIKU, Tier.SONNET}


def test_enabled_tiers_are_sorted_up_the_ladder(tmp_path: Path) -> None:
    path = write(tmp_path, '[tiers]\nenabled = ["opus", "haiku", "opus"]\ndefault = "haiku"\n')
    assert load_policy(path).ladder == [Tier.HAIKU, Tier.OPUS]


def test_a_model_id_may_be_a_catalog_alias(tmp_path: Path) -> None:
    path = write(tmp_path, 'extends = "default"\n[tiers]\nhaiku = "claude-haiku-4-5-20251001"\n')
    assert load_policy(path).model_for(Tier.HAIKU).id == "claude-haiku-4-5"


# ---------------------------------------------------------------- warnings


def test_a_retired_model_loads_with_a_warning_naming_it(tmp_path: Path) -> None:
    path = write(tmp_path, 'extends = "default"\n[tiers]\nhaiku = "claude-3-5-haiku-20241022"\n')
    policy = load_policy(path)
    assert policy.model_for(Tier.HAIKU).id == "claude-3-5-haiku-20241022"
    assert len(policy.warnings) == 1
    warning = policy.warnings[0]
    assert "claude-3-5-haiku-20241022" in warning
    assert "retired" in warning
    assert str(path) in warning
    assert "tiers.haiku" in warning


def test_a_model_from_another_line_loads_with_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path, 'extends = "default"\n[tiers]\nhaiku = "claude-sonnet-5-5"\n')
    warnings = load_policy(path).warnings
    assert any("claude-sonnet-5-5" in w and "sonnet line" in w for w in warnings)


# ---------------------------------------------------------------- errors


def test_invalid_toml(tmp_path: Path) -> None:
    path = write(tmp_path, "[tiers\nhaiku = 1\n")
    message = load_error(path)
    assert str(path) in message
    assert "TOML" in message
    assert "line 1" in message


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('name = "caf\xe9"\n'.encode("latin-1"))
    assert str(path) in load_error(path)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    message = load_error(path)
    assert str(path) in message
    assert "not found" in message


def test_unknown_tier_name(tmp_path: Path) -> None:
    path = write(tmp_path, 'extends = "default"\n[routes]\nformat = { tier = "gpt-4" }\n')
    message = load_error(path)
    assert str(path) in message
    assert "routes.format.tier" in message
    assert "'haiku'" in message  # the reason lists what is allowed


def test_unknown_tier_in_enabled(tmp_path: Path) -> None:
    path = write(tmp_path, '[tiers]\nenabled = ["haiku", "platinum"]\ndefault = "haiku"\n')
    message = load_error(path)
    assert str(path) in message
    assert "tiers.enabled.1" in message


def test_unknown_top_level_key(tmp_path: Path) -> None:
    path = write(tmp_path, 'extends = "default"\nstrategy = ["default"]\n')
    message = load_error(path)
    assert str(path) in message
    assert "strategy:" in message
    assert "not permitted" in message


def test_unknown_nested_key(tmp_path: Path) -> None:
    path = write(tmp_path, 'extends = "default"\n[tiers]\nhaiku_model = "claude-haiku-4-5"\n')
    message = load_error(path)
    assert "tiers.haiku_model" in message


def test_keyword_rule_naming_a_missing_route(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'extends = "default"\n'
        "[[keywords.rules]]\n"
        'name = "poetry"\n'
        'task_type = "write-poem"\n'
        'phrases = ["sonnet about"]\n',
    )
    message = load_error(path)
    assert str(path) in message
    assert "keywords" in message
    assert "'poetry'" in message
    assert "'write-poem'" in message
    assert "no route" in message


def test_model_not_in_catalog(tmp_path: Path) -> None:
    path = write(tmp_path, 'extends = "default"\n[tiers]\nopus = "claude-opus-9"\n')
    message = load_error(path)
    assert str(path) in message
    assert "tiers.opus" in message
    assert "claude-opus-9" in message
    assert "unknown model" in message


def test_a_disabled_tiers_model_is_not_looked_up(tmp_path: Path) -> None:
    path = write(tmp_path, 'extends = "default"\n[tiers]\nmythos = "claude-mythos-99"\n')
    assert Tier.MYTHOS not in load_policy(path).models


@pytest.mark.parametrize(
    ("toml", "field"),
    [
        ('[routes]\nformat = { tier = "haiku", max_tokens = -5 }\n', "routes.format.max_tokens"),
        ("[tiers]\nmax_tokens = { haiku = 0 }\n", "tiers.max_tokens.haiku"),
        ("[limits]\nmax_prompt_chars = -1\n", "limits.max_prompt_chars"),
    ],
)
def test_non_positive_sizes(tmp_path: Path, toml: str, field: str) -> None:
    path = write(tmp_path, 'extends = "default"\n' + toml)
    message = load_error(path)
    assert str(path) in message
    assert field in message
    assert "greater than 0" in message


def test_default_tier_must_be_enabled(tmp_path: Path) -> None:
    path = write(tmp_path, '[tiers]\nenabled = ["haiku"]\ndefault = "opus"\n')
    message = load_error(path)
    assert "tiers" in message
    assert "'opus' is not enabled" in message


def test_repeated_strategies(tmp_path: Path) -> None:
    path = write(tmp_path, 'strategies = ["keywords", "default", "keywords"]\n')
    assert "must not repeat" in load_error(path)


def test_a_policy_error_is_a_config_error() -> None:
    assert issubclass(PolicyError, ConfigError)


def test_an_empty_file_is_a_valid_standalone_policy(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, ""))
    assert isinstance(policy, Policy)
    assert policy.config.routes == {}
    assert policy.ladder == [Tier.HAIKU, Tier.SONNET, Tier.OPUS]


def test_a_policy_can_extend_another_policy_file(tmp_path: Path) -> None:
    """``extends`` takes a file relative to the extending one; chains merge in order."""
    (tmp_path / "team").mkdir()
    write(tmp_path, 'extends = "default"\nname = "base"\n[routes]\nformat = { tier = "sonnet" }\n',
          "base.toml")  # fmt: skip
    child = write(
        tmp_path / "team",
        'extends = "../base.toml"\nname = "team"\n[routes]\nextract = { tier = "opus" }\n',
    )
    policy = load_policy(child)
    routes = policy.config.routes
    assert routes["format"].tier is Tier.SONNET  # from base.toml
    assert routes["extract"].tier is Tier.OPUS  # from the child
    assert routes["architect"].tier is Tier.OPUS  # from the default, through base.toml
    assert policy.config.name == "team"


def test_a_policy_extending_itself_is_one_clear_error(tmp_path: Path) -> None:
    write(tmp_path, 'extends = "b.toml"\n', "a.toml")
    write(tmp_path, 'extends = "a.toml"\n', "b.toml")
    with pytest.raises(PolicyError, match="cannot extend itself"):
        load_policy(tmp_path / "a.toml")
    with pytest.raises(PolicyError, match="policy file not found"):
        load_policy(write(tmp_path, 'extends = "missing.toml"\n'))
