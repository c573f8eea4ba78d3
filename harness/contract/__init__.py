"""What both sides agree on: naming eras, timestamp rules and the gRPC wire format.

Imported by the client side and by the reference system under test alike; imports neither.
"""
