"""One module per DVC stage (read its files, call the science, write its outputs all at once) and the command
line that dispatches to them, importing only the module of the command it runs."""
