"""zoo's built-in plugins, one module per family: the architectures (resnet, vgg, inception,
mobilenet, baselines), the transfer strategies, the data sets (datasets, imagefolder,
torchvision_datasets) and the suites.

Each is declared in ``pyproject.toml`` under the ``zoo.plugins`` entry-point group and loads
exactly as a third-party plugin does; they double as reference examples for contributors.
Each module keeps what it registers in one table named after the kind (``ARCHITECTURES``,
``STRATEGIES``, ``DATASETS``, ``SUITES``).
"""
