"""Systems of models: request graphs through several models, each served by its own pool."""
