"""Validation of input data: row rules and quarantine (rules.py, quarantine.py), data-quality suites."""
