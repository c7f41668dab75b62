"""Assets of the DCLM graph, one module per artefact."""
