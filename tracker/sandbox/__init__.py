"""Local courier sandbox: the providers' wire formats, HTML tracking pages, signed pushes, faults."""
