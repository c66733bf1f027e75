"""Identity resolution: normalise identifiers, build the identity graph, keep customer keys stable."""

from cxdata.identity.normalise import customer_ref, email, phone
from cxdata.identity.resolve import IdentityResult, resolve

__all__ = ["IdentityResult", "customer_ref", "email", "phone", "resolve"]
