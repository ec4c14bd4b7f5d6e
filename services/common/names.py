"""Resource names shared by every service."""

from services.common.validation import Resource

CLINIC = Resource("clinics/{clinic}")
SLOT = Resource("clinics/{clinic}/slots/{slot}")
HOLD = Resource("clinics/{clinic}/holds/{hold}")
APPOINTMENT = Resource("appointments/{appointment}")
CITIZEN = Resource("citizens/{citizen}")
