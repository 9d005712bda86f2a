"""Sources layer: the exchange simulator and the loaders that land files in the warehouse."""
