"""Images: labelled image sets in memory, seeded stratified sampling, and bringing images to
a network (channels, size, normalisation, augmentation)."""
