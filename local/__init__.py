"""The offline stack: a Bedrock stand-in and the pieces that run the service on one machine.

``local`` may import the shared core (``imagegen_core``, installed editable into .venv by ``make venv``),
never the other way round.
"""
