"""`manage.py dataset_member DATASET_ID USER ROLE` (add or change a role), or `--remove`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from labeling import services
from labeling.management.commands._cli import (
    INPUT_ERRORS,
    dataset_get,
    user_get,
    validation_message,
)
from labeling.models import Membership, Role


class Command(BaseCommand):
    help = "Add a member to a dataset or change their role; --remove takes them out."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("dataset_id", type=int)
        parser.add_argument("username")
        parser.add_argument("role", nargs="?", choices=Role.values)
        parser.add_argument(
            "--remove",
            action="store_true",
            help="Remove the member (their annotations stay, under their labeller name).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dataset = dataset_get(options["dataset_id"])
        user = user_get(options["username"])
        username, role = user.get_username(), options["role"]
        membership = Membership.objects.filter(dataset=dataset, user=user).first()
        where = f"'{dataset.name}' (id {dataset.pk})"
        try:
            if options["remove"]:
                if role is not None:
                    raise CommandError("Give either a role or --remove, not both.")
                if membership is None:
                    raise CommandError(f"{username} is not a member of {where}.")
                services.membership_remove(membership=membership)
                self.stdout.write(f"Removed {username} from {where}; their annotations stay.")
                return
            if role is None:
                raise CommandError(f"Give a role ({', '.join(Role.values)}) or --remove.")
            old = membership.role if membership else None
            services.membership_set(dataset=dataset, username=username, role=role)
        except INPUT_ERRORS as exc:
            raise CommandError(validation_message(exc)) from exc
        if old is None:
            self.stdout.write(f"Added {username} to {where} as {role}.")
        elif old == role:
            self.stdout.write(f"{username} already is {role} in {where}.")
        else:
            self.stdout.write(f"{username} is now {role} in {where} (was {old}).")
