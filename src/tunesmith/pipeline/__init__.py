"""The main job: every stage of the product, one after another, on a bundled example."""
