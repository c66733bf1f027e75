"""Identity resolution: normalise identifiers, build the identity graph, keep customer keys stable."""

from cxdata.identity.normalise import customer_ref, email, phone

__all__ = ["customer_ref", "email", "phone"]
