"""Load dmasim's pytest plugin: ``--target``, the ``target``/``dma`` fixtures, profiles."""

pytest_plugins = ["dmasim.pytest_plugin"]
