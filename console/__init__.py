"""The web pages people read: a status page now, the supervisors' console later."""
