"""Stand-ins for the outside companies the platform talks to (today: the card provider).

They are not Mercato services: no chassis, no broker, no registry, no import of any
service. They keep state of their own, as the company would, so that what the platform
believes can be checked against what the outside world did (docs/chaos.md, F8).
"""
