"""The ``zoo`` command line: argument parsing, and the text it prints for people."""
