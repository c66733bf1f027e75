"""Privacy: erase people from every table, keep them out as salted hashes (see docs/design.md §10)."""

from cxdata.privacy.erase import ERASURE_LOG, SUPPRESSED, erase
from cxdata.privacy.hashing import salted_hashes
from cxdata.privacy.people import REQUEST_SCHEMA, REQUEST_TYPES, find_people

__all__ = ["ERASURE_LOG", "REQUEST_SCHEMA", "REQUEST_TYPES", "SUPPRESSED", "erase", "find_people", "salted_hashes"]
