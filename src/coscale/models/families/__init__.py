"""One parser per model family; each exposes ARCHITECTURES and `parse(reader, name, architecture)`."""
