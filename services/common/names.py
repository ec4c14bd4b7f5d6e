"""Resource names shared by every service."""

from services.common.validation import Resource

CLINIC = Resource("clinics/{clinic}")
SLOT = Resource("clinics/{clinic}/slots/{slot}")
HOLD = Resource("clinics/{clinic}/holds/{hold}")
APPOINTMENT = Resource("appointments/{appointment}")
CITIZEN = Resource("citizens/{citizen}")
DEPENDANT = Resource("citizens/{citizen}/dependants/{dependant}")
STAFF_ACCOUNT = Resource("staffAccounts/{staff_account}")
SIGN_IN_CHALLENGE = Resource("signInChallenges/{sign_in_challenge}")
SIGNING_KEY = Resource("signingKeys/{signing_key}")
