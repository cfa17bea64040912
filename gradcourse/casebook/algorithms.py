"""Case 5: (to be written)."""
__all__ = []

CAUSE_DIGESTS = {}
THRESHOLDS = {}
