"""Personal models: the served classifier reading with a memory of one visitor's own drawings.

A population model misreads some consistent styles (open one-stroke 4s, crossed 7s, thin 6s); a few drawings
of the person's own fix them without changing what anyone else sees. NumPy only: this runs in the server on
every teach and every reading. `replay` gives the space drawings are compared in and other writers' digits,
`memory` remembers a person's drawings and reads with them, `profiles` keeps each visitor's drawings in SQLite
and their memory in RAM, `teach` ties them together for the API.
"""
