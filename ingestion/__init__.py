"""Sources layer: the loaders that land files in the warehouse, the PostgreSQL tools and the
price-API client. The exchange simulator is the top-level `simulator` package."""
