"""imagegen core: the logic shared by the HTTP and the SQS functions (deployed as a Lambda layer).

Dependencies point one way: handlers import this package; it never imports a handler.
"""
