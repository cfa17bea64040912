"""Cases 7 and 8: (to be written)."""
__all__ = []

CAUSE_DIGESTS = {}
THRESHOLDS = {}
