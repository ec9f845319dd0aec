"""Load the demo people, providers, regulator and a few consents. Safe to run again."""

from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import Application

from consents import services
from consents.models import Consent, Mandate
from mydata_operator.identity.models import Person, Provider, Regulator
from mydata_operator.identity.selectors import subject_pseudonym
from schemas.hetu import make_hetu

#: (username, given, family, birth date, individual number 9xx = test/temporary range)
CITIZENS = [
    ("aino", "Aino", "Virtanen", date(1985, 4, 12), 902),
    ("eero", "Eero", "Korhonen", date(1979, 11, 3), 903),
    ("liisa", "Liisa", "Mäkinen", date(1980, 1, 20), 904),
    (None, "Onni", "Mäkinen", date(2015, 6, 1), 905),
    ("matti", "Matti", "Nieminen", date(1962, 8, 30), 906),
    (None, "Helmi", "Nieminen", date(1936, 2, 14), 907),
]

PROVIDERS = [
    ("1.2.246.10.1234567.10.0", "Terveys Oy", Provider.Kind.CARE_PROVIDER, "terveys-oy"),
    (
        "1.2.246.10.2345678.10.0",
        "Demo hyvinvointialue",
        Provider.Kind.WELLBEING_COUNTY,
        "demo-county",
    ),
    ("1.2.246.10.7654321.10.1", "Demo Biopankki", Provider.Kind.BIOBANK, "demo-biobank"),
    (
        "1.2.246.10.5555555.10.0",
        "Hyvinvointisovellus",
        Provider.Kind.WELLBEING_APP,
        "demo-wellbeing-app",
    ),
]

DEMO_PASSWORD = "tahto-demo-{username}"  # noqa: S105 - demo accounts, listed in the README
# DOT wants a secret on every client; FAPI clients never use one (private_key_jwt only).
DEMO_CLIENT_SECRET = "demo-secret-{client_id}"  # noqa: S105 - never accepted, see above


DEMO_CITIZEN_APP = "demo-citizen-app"
DEMO_CITIZEN_APP_REDIRECT = "http://127.0.0.1:8766/callback"


class Command(BaseCommand):
    help = "Create demo citizens, a guardian with a child, providers, a regulator and consents."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        users = get_user_model().objects
        if not users.filter(username="admin").exists():
            users.create_superuser("admin", password=DEMO_PASSWORD.format(username="admin"))
        people: dict[str, Person] = {}
        for username, given, family, born, individual in CITIZENS:
            code = make_hetu(born, individual)
            user = None
            if username:
                user, created = users.get_or_create(username=username)
                if created:
                    user.set_password(DEMO_PASSWORD.format(username=username))
                    user.save()
            people[given], _ = Person.objects.get_or_create(
                personal_identity_code=code,
                defaults={
                    "id": subject_pseudonym(code),  # the id requests made before joining used
                    "user": user,
                    "given_name": given,
                    "family_name": family,
                    "birth_date": born,
                },
            )
        for oid, name, kind, client_id in PROVIDERS:
            app = Application.objects.filter(client_id=client_id).first()
            if app is None:
                app = Application.objects.create(
                    client_id=client_id,
                    client_secret=DEMO_CLIENT_SECRET.format(client_id=client_id),
                    name=name,
                    client_type=Application.CLIENT_CONFIDENTIAL,
                    authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
                    redirect_uris="http://127.0.0.1:8765/callback",
                    algorithm="",
                )
            Provider.objects.get_or_create(
                organisation_id=oid, defaults={"name": name, "kind": kind, "application": app}
            )
        # Their key pairs for private_key_jwt (private halves under TAHTO_KEY_DIR/clients/).
        call_command("demo_provider_keys", *(client_id for *_, client_id in PROVIDERS))
        # A citizen's own app (public: PKCE and DPoP, no secret), for tools/citizen_app.py.
        call_command(
            "register_citizen_app",
            DEMO_CITIZEN_APP,
            name="Oma terveys (demo)",
            redirect_uri=[DEMO_CITIZEN_APP_REDIRECT],
            demo=True,
            stdout=self.stdout,
        )
        regulator_user, created = users.get_or_create(username="valvoja")
        if created:
            regulator_user.set_password(DEMO_PASSWORD.format(username="valvoja"))
            regulator_user.save()
        Regulator.objects.get_or_create(user=regulator_user, defaults={"organisation": "Valvira"})

        if not Consent.objects.exists():
            self._consents(people)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {Person.objects.count()} people, {Provider.objects.count()} "
                f"providers, {Consent.objects.count()} consents."
            )
        )

    def _consents(self, people: dict[str, Person]) -> None:
        now = timezone.now()
        system = services.Actor.system("population-register")
        onni, liisa = people["Onni"], people["Liisa"]
        services.mandate_create(
            principal_id=onni.id,
            agent_id=liisa.id,
            basis=Mandate.Basis.GUARDIAN,
            valid_from=_at(onni.birth_date),
            valid_until=_at(onni.birth_date.replace(year=onni.birth_date.year + 18)),
            actor=system,
        )
        services.mandate_create(
            principal_id=people["Helmi"].id,
            agent_id=people["Matti"].id,
            basis=Mandate.Basis.MANDATE,
            valid_until=now + timedelta(days=365 * 2),
            actor=services.Actor.person(people["Helmi"].id),
        )
        aino = people["Aino"]
        me = services.Actor.person(aino.id)
        services.consent_grant(
            subject_id=aino.id,
            actor=me,
            kind="provider-sharing",
            language="fi",
            scope={
                "recipient": {"organisation": PROVIDERS[0][0], "name": PROVIDERS[0][1]},
                "dataCategories": ["conditions", "medications", "observations"],
                "purpose": "care",
                "frequencyPerDay": 20,
            },
            valid_until=now + timedelta(days=365),
            notice_text="Annan Terveys Oy:lle luvan nähdä diagnoosini, lääkitykseni ja "
            "mittaustulokseni hoitoani varten vuoden ajan.",
        )
        services.consent_grant(
            subject_id=aino.id,
            actor=me,
            kind="wellbeing-sharing",
            language="fi",
            scope={
                "dataCategories": ["blood-pressure", "steps", "body-weight"],
                "sources": [{"application": PROVIDERS[3][3], "name": PROVIDERS[3][1]}],
                "targets": [
                    {"type": "kanta-phr"},
                    {"type": "provider", "recipient": {"organisation": PROVIDERS[0][0]}},
                ],
            },
            notice_text="Omat mittaukseni Hyvinvointisovelluksesta tallennetaan Omakannan "
            "omatietovarantoon ja jaetaan Terveys Oy:lle.",
        )
        services.consent_grant(
            subject_id=aino.id,
            actor=me,
            kind="needs-assessment",
            language="fi",
            scope={
                "senders": [{"organisation": PROVIDERS[1][0], "name": PROVIDERS[1][1]}],
                "channels": ["dashboard", "sms"],
                "lifeAreas": ["health", "mobility"],
            },
            notice_text="Demo hyvinvointialue saa ehdottaa minulle palveluita terveyteen ja "
            "liikkumiseen liittyen ilman hoitosuhdetta.",
        )
        services.consent_request(
            subject_id=aino.id,
            requester=PROVIDERS[0][0],
            kind="provider-sharing",
            scope={
                "recipient": {"organisation": PROVIDERS[0][0], "name": PROVIDERS[0][1]},
                "dataCategories": ["immunizations"],
                "purpose": "care",
            },
            valid_until=now + timedelta(days=180),
        )
        services.consent_grant(
            subject_id=onni.id,
            actor=services.Actor.person(liisa.id),
            kind="biobank",
            language="fi",
            scope={
                "biobank": {"organisation": PROVIDERS[2][0], "name": PROVIDERS[2][1]},
                "samples": {"collect": True, "types": ["blood"], "existingSamples": False},
                "registerLinking": {"allowed": False, "sources": []},
                "dataCategories": ["samples"],
                "permission": {"code": "HMB"},
                "modifiers": ["NPU"],
                "recontact": True,
            },
            notice_text="Huoltajana annan Demo Biopankille luvan säilyttää Onnin "
            "verinäytteen terveystutkimusta varten.",
        )


def _at(day: date) -> datetime:
    return timezone.make_aware(datetime(day.year, day.month, day.day))
