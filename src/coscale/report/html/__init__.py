"""`coscale report`: a scenario run through the library, rendered as one self-contained HTML page."""
