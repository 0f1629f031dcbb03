"""Pure parsers: one module per input file kind, each returning an `OntologyTables`.

No Neo4j here. Parsers that need to know the graph (salaries, ownership: which drivers exist)
take that knowledge as plain tables, so they stay pure and testable. Every problem raises
`nascar_pipeline.errors.UserInputError` naming the file, the row (1-based line) or field,
and the problem; a file is validated completely before anything is written.
"""
