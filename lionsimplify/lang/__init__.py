"""The program language: the operator table, the IR, the parser, the printer and located errors.

Everything downstream reads programs through this package: `parse_text`/`parse_file` turn text
into a `Program` (one operation per statement), `print_program` turns it back, and `OPS` is the
single home of every function's arity, kinds, numeric forms and facts.
"""
