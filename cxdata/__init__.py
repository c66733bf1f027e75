"""cxdata."""
