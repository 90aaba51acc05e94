"""Networks: architecture metadata and building by name, the uniform stage interface, timm's
classifier interface for torchvision networks, weight files, and parameter and MAC counts."""
