"""Case 4: (to be written)."""
__all__ = []

CAUSE_DIGESTS = {}
THRESHOLDS = {}
