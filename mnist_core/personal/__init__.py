"""Personal models: the serving classifier plus a small delta taught by one visitor's own drawings.

A population model misreads some consistent styles (open one-stroke 4s, crossed 7s); a few drawings
of the person's own fix them without changing what anyone else sees. NumPy only: this runs in the
server on every teach and every reading. `delta` is the model, `adapt` teaches it, `replay` keeps
other digits from being forgotten, `profiles` keeps each visitor's delta and drawings in SQLite,
`teach` ties them together for the API.
"""
