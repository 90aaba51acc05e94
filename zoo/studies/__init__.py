"""Studies of zoo's own method, outside the path ``zoo recommend`` ships: the held-out folders
that check its placement and advice, and how well LogME and the other transferability
estimators rank backbones against fine-tuned accuracy. Tests and ``make heldout`` /
``make ranking`` run them."""
