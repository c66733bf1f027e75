"""Touchpoint investment scoring: the journeys before each order and the attribution models that credit them."""
