"""params.yaml read once into strict, validated settings; every path the pipeline reads or writes; the
classifier registry; how names are shown in messages. The ground floor: imports nothing else of the package."""
