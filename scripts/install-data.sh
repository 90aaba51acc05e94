#!/usr/bin/env bash
# Install the real images zoo's tests and default benchmark need, from Debian's packages:
#   Fashion-MNIST  - package dataset-fashion-mnist (IDX files, gzip as shipped)
#   OpenCV digits  - digits.png alone, taken out of package opencv-doc without installing
#                    its 270 MB (apt-get download + dpkg-deb, one file extracted)
# Idempotent: does nothing when all are present. Needs root and apt-get; otherwise it says
# what to install and exits 0, so the rest of the set-up still runs.
set -euo pipefail

FASHION_MNIST=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
DIGITS=/usr/share/doc/opencv-doc/examples/data/digits.png

[[ -f $FASHION_MNIST && -f $DIGITS ]] && exit 0

if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
    echo "zoo set-up: data sets missing; as root on Debian or Ubuntu run:" >&2
    [[ -f $FASHION_MNIST ]] || echo "  apt-get install dataset-fashion-mnist" >&2
    [[ -f $DIGITS ]] || echo "  apt-get download opencv-doc && dpkg-deb --fsys-tarfile opencv-doc_*.deb | tar -x -C / .$DIGITS" >&2
    exit 0
fi

apt-get update -qq
if [[ ! -f $FASHION_MNIST ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null
fi
if [[ ! -f $DIGITS ]]; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    (cd "$work" && apt-get download -qq opencv-doc 2>/dev/null)
    dpkg-deb --fsys-tarfile "$work"/opencv-doc_*.deb | tar -x -C / ".$DIGITS"
fi
echo "zoo set-up: Fashion-MNIST and OpenCV digits installed"
