"""Recommending: placing a team's folder by size and similarity, LogME and the other
transferability estimators, the advice ``zoo recommend`` gives, and the held-out folders and
measurements that check it."""
