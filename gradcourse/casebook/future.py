"""Case 6: (to be written)."""
__all__ = []

CAUSE_DIGESTS = {}
THRESHOLDS = {}
