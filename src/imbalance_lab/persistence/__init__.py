"""A fitted model as JSON and back: byte-stable files, and a loader that builds only the classes it names
exactly and checks every array before a model is made."""
