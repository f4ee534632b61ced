"""Programme rules of the Förderprogramm Digitalisierung Hessen.

Pure Python (standard library only): no Flask, no SQLAlchemy, no engine. Everything here is
callable from services, BPMN script functions and tests alike.
"""
