"""tierwise: send each Claude request to the cheapest model tier that does it well."""

from tierwise.decision import Action, Decision, RouteRequest, Verdict
from tierwise.errors import TierwiseError
from tierwise.tiers import Tier

__all__ = ["Action", "Decision", "RouteRequest", "Tier", "TierwiseError", "Verdict"]
__version__ = "0.1.0"
