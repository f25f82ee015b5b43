"""The planned read path: query documents compiled once into batched statements and response builders."""
